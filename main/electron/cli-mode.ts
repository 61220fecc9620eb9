/**
 * Whether the app binary was started as the command-line tool: `--cli` as the first argument
 * the user gave (after the executable, and after the app folder when run as `electron .`).
 * Only the first position counts, so a slide or setting named "--cli" never switches modes.
 */
export function cliArguments(argv: readonly string[]): string[] | undefined {
  for (const at of [1, 2]) {
    if (argv[at] === '--cli') return argv.slice(at + 1);
  }
  return undefined;
}
