/**
 * `slide-workstation` — the command-line front end over the same main-process services
 * (sign-in, storage credentials, S3, the slide engine) for researchers' scripts and IT.
 *
 * Exit codes (stable, for scripts):
 *   0 ok · 1 failed · 2 usage or settings error · 3 not signed in / sign-in refused ·
 *   4 access denied · 5 not found · 6 service unreachable · 130 cancelled
 * Errors go to stderr as `error CODE: message` plus a `hint:` line; data goes to stdout.
 */
import { pathToFileURL } from 'node:url';
import { openInSystemBrowser } from '../app/open-browser.js';
import { toAppError, type AppError } from '../common/errors.js';
import { configureLogging, redact } from '../common/log.js';
import { flagString, GLOBAL_FLAGS, parseArgs, usageError, type FlagSpec } from './args.js';
import { COMMANDS } from './commands.js';
import { CliContext, type CliIo } from './context.js';
import './slide-commands.js';
import './annotation-commands.js';

export function exitCodeFor(code: string): number {
  if (code === 'CLI_USAGE' || code.startsWith('CONFIG_') || code.endsWith('_BAD_URI')) return 2;
  if (code === 'ANNOTATIONS_GEOJSON_INVALID' || code === 'ANNOTATIONS_BAD_INPUT') return 2;
  if (/_ACCESS_DENIED$/.test(code) || code === 'STS_POLICY_REJECTED') return 4;
  if (/_NOT_FOUND$/.test(code)) return 5;
  if (/_UNREACHABLE$|_UNAVAILABLE$/.test(code)) return 6;
  if (code === 'ABORTED' || code === 'AUTH_CANCELLED') return 130;
  if (code.startsWith('AUTH_') || code.startsWith('STS_') || code === 'SOURCE_CREDENTIALS_EXPIRED') return 3;
  return 1;
}

function help(io: CliIo, command?: string): void {
  const fmtFlags = (flags: Record<string, FlagSpec>): string =>
    Object.entries(flags)
      .map(([n, f]) => `    --${n}${f.value ? ' VALUE' : ''}${f.short ? `, -${f.short}` : ''}\n        ${f.description}`)
      .join('\n');
  const c = command ? COMMANDS.get(command) : undefined;
  if (c) {
    io.out(`slide-workstation ${c.usage}\n\n${c.summary}\n\nOptions:\n${fmtFlags({ ...c.flags, ...GLOBAL_FLAGS })}\n`);
    return;
  }
  const width = Math.max(...[...COMMANDS.keys()].map((k) => k.length));
  io.out(
    [
      'slide-workstation <command> [options]',
      '',
      'Commands:',
      ...[...COMMANDS.values()].map((x) => `  ${x.name.padEnd(width)}  ${x.summary}`),
      '',
      'Options for every command:',
      fmtFlags(GLOBAL_FLAGS),
      '',
      'Exit codes: 0 ok, 1 failed, 2 usage/settings, 3 not signed in, 4 access denied, 5 not found, 6 unreachable, 130 cancelled.',
      '',
    ].join('\n'),
  );
}

export interface RunOptions {
  io?: CliIo;
  signal?: AbortSignal;
}

export async function runCli(argv: readonly string[], o: RunOptions = {}): Promise<number> {
  const io: CliIo = o.io ?? { out: (t) => void process.stdout.write(t), err: (t) => void process.stderr.write(t) };
  let ctx: CliContext | undefined;
  try {
    const args = parseArgs(argv, (name) => (name ? COMMANDS.get(name)?.flags : undefined));
    configureLogging({ console: args.flags.verbose === true, ...(args.flags.verbose ? { level: 'debug' as const } : {}) });
    if (!args.command || args.command === 'help') {
      help(io, args.command === 'help' ? args.positionals[0] : undefined);
      return args.command ? 0 : 2;
    }
    const command = COMMANDS.get(args.command);
    if (!command) throw usageError(`Unknown command "${args.command}".`);
    if (args.flags.help) {
      help(io, command.name);
      return 0;
    }
    const noBrowser = args.flags['no-browser'] === true;
    ctx = new CliContext({
      configFile: flagString(args, 'config'),
      io,
      openBrowser: async (url) => {
        const signingIn = new URL(url).searchParams.has('code_challenge');
        if (!noBrowser && (await openInSystemBrowser(url))) {
          io.err(signingIn ? 'Opened the sign-in page in your browser. Waiting for you to finish there…\n' : 'Opened the sign-out page of the sign-in service in your browser.\n');
          return;
        }
        io.err(
          signingIn
            ? `Open this address in a browser on this computer to sign in:\n\n${url}\n\nWaiting for the browser to come back…\n`
            : `To also end your session at the sign-in service, open:\n${url}\n`,
        );
      },
    });
    return await command.run(ctx, args);
  } catch (err) {
    const e: AppError = toAppError(err);
    io.err(redact(`error ${e.code}: ${e.message}\n${e.hint ? `hint: ${e.hint}\n` : ''}`));
    return exitCodeFor(e.code);
  } finally {
    await ctx?.dispose();
  }
}

// Run when executed directly (tsx main/cli/index.ts, or the built file via bin/).
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const code = await runCli(process.argv.slice(2));
  process.exitCode = code;
}
