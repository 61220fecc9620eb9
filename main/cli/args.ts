/**
 * Command-line parsing, pure: `slide-workstation <command> [positionals] [--flags]`.
 * Each command declares its flags, so a typo (`--conifg`) is refused, not ignored.
 */
import { type AppError } from '../common/errors.js';
import { cliErrors } from './errors.js';

export interface FlagSpec {
  /** Takes a value (`--config FILE` / `--config=FILE`); else a switch (`--json`, `--no-browser`). */
  value?: boolean;
  /** One-letter alias, e.g. 'o' for --output. */
  short?: string;
  description: string;
}

export interface ParsedArgs {
  command: string | undefined;
  positionals: string[];
  flags: Record<string, string | boolean>;
}

export function usageError(message: string, hint?: string): AppError {
  return cliErrors.make('CLI_USAGE', message, { hint: hint ?? 'Run `slide-workstation help` for the commands and their options.' });
}

/** Flags every command accepts. */
export const GLOBAL_FLAGS: Record<string, FlagSpec> = {
  config: { value: true, description: 'settings file to use (e.g. the one `npm run stack` writes)' },
  verbose: { short: 'v', description: 'write diagnostic log lines to stderr' },
  help: { short: 'h', description: 'show help for the command' },
};

export function parseArgs(argv: readonly string[], flagsFor: (command: string | undefined) => Record<string, FlagSpec> | undefined): ParsedArgs {
  const out: ParsedArgs = { command: undefined, positionals: [], flags: {} };
  let i = 0;
  // The command is the first non-flag word; global flags may come before it.
  const pending: string[] = [];
  for (; i < argv.length; i++) {
    const a = argv[i]!;
    if (a.startsWith('-') && a !== '-') {
      pending.push(a);
      const name = a.replace(/^--?/, '').split('=')[0]!;
      const spec = GLOBAL_FLAGS[name] ?? Object.values(GLOBAL_FLAGS).find((f) => f.short === name);
      if (spec?.value && !a.includes('=')) pending.push(argv[++i] ?? '');
      continue;
    }
    out.command = a;
    i++;
    break;
  }
  const rest = [...pending, ...argv.slice(i)];
  const specs = { ...GLOBAL_FLAGS, ...(flagsFor(out.command) ?? {}) };
  const byShort = new Map(Object.entries(specs).flatMap(([name, s]) => (s.short ? [[s.short, name] as const] : [])));
  let onlyPositionals = false;
  for (let j = 0; j < rest.length; j++) {
    const a = rest[j]!;
    if (onlyPositionals || !a.startsWith('-') || a === '-') {
      out.positionals.push(a);
      continue;
    }
    if (a === '--') {
      onlyPositionals = true;
      continue;
    }
    let name: string;
    let inline: string | undefined;
    if (a.startsWith('--')) {
      const eq = a.indexOf('=');
      name = eq >= 0 ? a.slice(2, eq) : a.slice(2);
      inline = eq >= 0 ? a.slice(eq + 1) : undefined;
    } else {
      const short = a.slice(1);
      const long = byShort.get(short);
      if (!long) throw usageError(`Unknown option ${a}.`);
      name = long;
    }
    let spec = specs[name];
    let negated = false;
    if (!spec && name.startsWith('no-') && specs[name.slice(3)] && !specs[name.slice(3)]!.value) {
      spec = specs[name.slice(3)];
      negated = true;
      name = name.slice(3);
    }
    if (!spec) throw usageError(`Unknown option --${name}${out.command ? ` for "${out.command}"` : ''}.`);
    if (spec.value) {
      const v = inline ?? rest[++j];
      if (v === undefined || v === '') throw usageError(`Option --${name} needs a value.`);
      out.flags[name] = v;
    } else {
      if (inline !== undefined) throw usageError(`Option --${name} takes no value.`);
      out.flags[name] = !negated;
    }
  }
  return out;
}

export function flagString(args: ParsedArgs, name: string): string | undefined {
  const v = args.flags[name];
  return typeof v === 'string' ? v : undefined;
}

export function flagInt(args: ParsedArgs, name: string, min = 0): number | undefined {
  const v = flagString(args, name);
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < min) throw usageError(`Option --${name} must be a whole number${min > 0 ? ` of at least ${min}` : ''}, not "${v}".`);
  return n;
}
