/**
 * Structured logging with secret redaction. Tokens, refresh tokens and storage secrets
 * are registered with `registerSecret` the moment main receives them; every log line
 * (and every error cause serialised into one) is scrubbed of them before it is written.
 * A test scans a full run's logs for the secret values and must find none.
 */
import { appendFileSync, mkdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { dirname } from 'node:path';

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
const ORDER: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

const secrets = new Set<string>();
// Patterns for secrets that reach us before anyone could register them (a raw callback
// URL, an Authorization header in an error message).
const PATTERNS: RegExp[] = [
  /eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}/g, // JWTs
  /(Bearer\s+)[A-Za-z0-9._~+/=-]{8,}/gi,
  /((?:code|refresh_token|access_token|id_token|client_secret|code_verifier)=)[^&\s"']+/gi,
  /((?:X-Amz-Security-Token|X-Amz-Credential|Signature)=)[^&\s"']+/gi,
];

export function registerSecret(value: string | undefined | null): void {
  // Very short values would redact ordinary words; nothing we register is that short.
  if (value && value.length >= 8) secrets.add(value);
}

export function forgetSecret(value: string | undefined | null): void {
  if (value) secrets.delete(value);
}

export function redact(text: string): string {
  let out = text;
  for (const s of secrets) if (out.includes(s)) out = out.split(s).join('[redacted]');
  for (const p of PATTERNS) out = out.replace(p, (_m, prefix?: string) => `${typeof prefix === 'string' ? prefix : ''}[redacted]`);
  return out;
}

interface Sink {
  level: LogLevel;
  file: string | undefined;
  console: boolean;
  /** Size at which the file is rotated (main.log → main.1.log → … → main.<keep>.log, then dropped). */
  maxBytes: number;
  /** Rotated files kept beside the current one. */
  keep: number;
}
const sink: Sink = {
  level: (process.env.WSI_LOG_LEVEL as LogLevel | undefined) ?? 'info',
  file: process.env.WSI_LOG_FILE,
  console: process.env.WSI_LOG_CONSOLE !== '0',
  maxBytes: 5 * 1024 * 1024,
  keep: 4,
};
let fileBytes = 0;

/** Configure where logs go. Called once at start-up by the host (app, headless, CLI). */
export function configureLogging(options: Partial<Sink>): void {
  Object.assign(sink, options);
  fileBytes = 0;
  if (sink.file) {
    mkdirSync(dirname(sink.file), { recursive: true, mode: 0o700 });
    try {
      fileBytes = statSync(sink.file).size;
    } catch {
      // No log yet.
    }
  }
}

/** The folder the logs are written to, for the UI and for IT ("where are the logs?"). */
export function logFolder(): string | undefined {
  return sink.file ? dirname(sink.file) : undefined;
}

function rotated(file: string, n: number): string {
  const dot = file.lastIndexOf('.');
  return dot > file.lastIndexOf('/') ? `${file.slice(0, dot)}.${n}${file.slice(dot)}` : `${file}.${n}`;
}

/** Size-bounded: a long-running workstation never fills the disk with logs (keep+1 files at most). */
function rotate(file: string): void {
  rmSync(rotated(file, sink.keep), { force: true });
  for (let n = sink.keep - 1; n >= 1; n--) {
    try {
      renameSync(rotated(file, n), rotated(file, n + 1));
    } catch {
      // That generation does not exist yet.
    }
  }
  renameSync(file, rotated(file, 1));
  fileBytes = 0;
}

function serialise(value: unknown): unknown {
  if (value instanceof Error) {
    const e = value as Error & { code?: unknown; cause?: unknown };
    return { name: e.name, message: e.message, code: e.code, cause: e.cause === undefined ? undefined : serialise(e.cause) };
  }
  return value;
}

function write(level: LogLevel, scope: string, message: string, fields?: Record<string, unknown>): void {
  if (ORDER[level] < ORDER[sink.level]) return;
  const entry: Record<string, unknown> = { t: new Date().toISOString(), level, scope, msg: message };
  if (fields) for (const [k, v] of Object.entries(fields)) entry[k] = serialise(v);
  const line = redact(JSON.stringify(entry));
  if (sink.file) {
    try {
      if (fileBytes > 0 && fileBytes + line.length + 1 > sink.maxBytes) rotate(sink.file);
      appendFileSync(sink.file, line + '\n', { mode: 0o600 });
      fileBytes += Buffer.byteLength(line) + 1;
    } catch {
      // Logging must never take the app down (full disk, removed folder).
    }
  }
  if (sink.console) process.stderr.write(line + '\n');
}

export interface Logger {
  debug(message: string, fields?: Record<string, unknown>): void;
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
}

export function logger(scope: string): Logger {
  return {
    debug: (m, f) => write('debug', scope, m, f),
    info: (m, f) => write('info', scope, m, f),
    warn: (m, f) => write('warn', scope, m, f),
    error: (m, f) => write('error', scope, m, f),
  };
}
