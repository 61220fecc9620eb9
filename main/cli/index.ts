/**
 * `slide-workstation` — the command-line front end over the same main-process services
 * (sign-in, storage credentials, S3, the slide engine) for researchers' scripts and IT.
 *
 * Exit codes (stable, for scripts):
 *   0 ok · 1 failed · 2 usage or settings error · 3 not signed in / sign-in refused ·
 *   4 access denied · 5 not found · 6 service unreachable or busy · 130 cancelled
 * (chosen by the error's kind, never by its code)
 * Errors go to stderr as `error CODE: message` plus a `hint:` line; data goes to stdout.
 */
import { openInSystemBrowser } from '../app/open-browser.js';
import { assertNever, toAppError, type AppError, type ErrorKind } from '../common/errors.js';
import { configureLogging, redact } from '../common/log.js';
import { flagString, GLOBAL_FLAGS, parseArgs, usageError, type FlagSpec } from './args.js';
import { COMMANDS } from './commands.js';
import { CliContext, type CliIo } from './context.js';
import './slide-commands.js';
import './annotation-commands.js';

/** The exit code of a failure, by its kind (see the table at the top). */
export function exitCodeFor(kind: ErrorKind): number {
  switch (kind) {
    case 'invalid-input':
      return 2;
    case 'signin-needed':
      return 3;
    case 'denied':
      return 4;
    case 'not-found':
      return 5;
    case 'unreachable':
    case 'busy':
      return 6;
    case 'cancelled':
      return 130;
    case 'unsupported':
    case 'conflict':
    case 'internal':
      return 1;
    default:
      return assertNever(kind);
  }
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
          io.err(signingIn ? 'Opened the sign-in page in your browser. Waiting for you to finish there…\n' : 'Opened the end-session page of the sign-in service in your browser: it ends your single sign-on session there as well.\n');
          return;
        }
        io.err(
          signingIn
            ? `Open this address in a browser on this computer to sign in:\n\n${url}\n\nWaiting for the browser to come back…\n`
            : `The workstation's sign-in is revoked. To also end your single sign-on session at the sign-in service (the browser stays signed in there otherwise), open this end-session address:\n${url}\n`,
        );
      },
    });
    return await command.run(ctx, args);
  } catch (err) {
    const e: AppError = toAppError(err);
    io.err(redact(`error ${e.code}: ${e.message}\n${e.hint ? `hint: ${e.hint}\n` : ''}`));
    return exitCodeFor(e.kind);
  } finally {
    await ctx?.dispose();
  }
}
