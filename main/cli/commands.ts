/**
 * The command table. Each command is a few lines over the services in CliContext; the
 * slide-engine commands (info, tile, region, pin) register themselves in the same table
 * from their own module (see slide-commands.ts), so this file stays about sign-in and
 * storage.
 */
import type { StorageEntry, StorageListing } from '../api/contract.js';
import { fromSerialized, isAppError } from '../common/errors.js';
import { authErrors } from '../auth/errors.js';
import { toCredentialProcessJson } from '../credentials/index.js';
import type { CredentialProcessOutput } from '../credentials/credential-process.js';
import { forgetCachedCredentials, readCachedCredentials, saveCachedCredentials } from './credential-cache.js';
import { parseS3Uri } from '../sources/s3.js';
import { flagInt, flagString, usageError, type FlagSpec, type ParsedArgs } from './args.js';
import type { CliContext } from './context.js';

export interface Command {
  name: string;
  summary: string;
  usage: string;
  flags: Record<string, FlagSpec>;
  /** Resolves to the process exit code. */
  run(ctx: CliContext, args: ParsedArgs): Promise<number>;
}

export const COMMANDS = new Map<string, Command>();

export function registerCommand(c: Command): void {
  COMMANDS.set(c.name, c);
}

const json = (ctx: CliContext, value: unknown): void => ctx.io.out(JSON.stringify(value, null, 2) + '\n');

function humanSize(n: number | undefined): string {
  if (n === undefined) return '';
  const units = ['B', 'KB', 'MB', 'GB', 'TB'];
  let v = n;
  let u = 0;
  while (v >= 1000 && u < units.length - 1) {
    v /= 1000;
    u++;
  }
  return u === 0 ? `${v} B` : `${v.toFixed(v < 10 ? 1 : 0)} ${units[u]}`;
}

registerCommand({
  name: 'login',
  summary: "Sign in with the organisation's identity provider in the browser.",
  usage: 'login [--no-browser] [--force]',
  flags: {
    'no-browser': { description: 'print the sign-in address instead of opening a browser, then wait for the browser to come back' },
    force: { description: 'sign in again even when a saved sign-in still works' },
  },
  async run(ctx, args) {
    const auth = await ctx.auth();
    if (auth.state().status === 'signed-in' && !args.flags.force) {
      const u = auth.user();
      ctx.io.err(`Already signed in as ${u?.name ?? u?.sub}${u?.email ? ` <${u.email}>` : ''}. Use --force to sign in again.\n`);
      return 0;
    }
    if (args.flags.force && auth.state().status === 'signed-in') await auth.signOut();
    const st = await auth.signIn();
    if (st.status !== 'signed-in') {
      const e = st.error;
      throw e ? fromSerialized(e) : authErrors.make('AUTH_FAILED', 'The sign-in did not complete.');
    }
    const u = auth.user();
    ctx.io.err(`Signed in as ${u?.name ?? u?.sub}${u?.email ? ` <${u.email}>` : ''}. The sign-in is kept in ${st.secretStore.description}.\n`);
    for (const w of st.warnings) ctx.io.err(`Warning: ${typeof w === 'string' ? w : JSON.stringify(w)}\n`);
    return 0;
  },
});

registerCommand({
  name: 'whoami',
  summary: 'Show the signed-in user and the identity storage sees.',
  usage: 'whoami [--json] [--no-storage]',
  flags: {
    json: { description: 'print JSON' },
    'no-storage': { description: 'do not ask storage for credentials (no STS call)' },
  },
  async run(ctx, args) {
    const auth = await ctx.signedIn();
    const user = auth.user();
    const state = auth.state();
    let storage: Record<string, unknown> | undefined;
    if (!args.flags['no-storage']) {
      try {
        const provider = await ctx.credentials();
        await provider.get();
        const info = provider.info();
        storage = info ? { ...info, expiresAt: new Date(info.expiresAt).toISOString() } : undefined;
      } catch (err) {
        if (!isAppError(err)) throw err;
        storage = { error: err.toJSON() };
      }
    }
    const out = { user, issuer: ctx.settings.auth.issuer, secretStore: state.secretStore, ...(storage ? { storage } : {}) };
    if (args.flags.json) {
      json(ctx, out);
      return 0;
    }
    const lines = [
      `User:        ${user?.name ?? ''}${user?.email ? ` <${user.email}>` : ''}`,
      `Subject:     ${user?.sub ?? ''}`,
      `Groups:      ${user?.groups?.join(', ') || '(none)'}`,
      `Signed in at ${ctx.settings.auth.issuer}`,
      `Sign-in kept in ${state.secretStore.description}`,
    ];
    if (storage?.error) {
      const e = storage.error as { code: string; message: string };
      lines.push(`Storage:     no access (${e.code}: ${e.message})`);
    } else if (storage) {
      lines.push(`Storage as:  ${String(storage.identity)} (session ${String(storage.sessionName)}, until ${String(storage.expiresAt)})`);
    }
    ctx.io.out(lines.join('\n') + '\n');
    return 0;
  },
});

function roots(ctx: CliContext): StorageEntry[] {
  return ctx.settings.storage.s3.buckets.map((b) => {
    const prefix = b.prefix ? b.prefix.replace(/^\/+/, '').replace(/\/?$/, '/') : '';
    return { kind: 'bucket', name: b.label ?? `${b.name}/${prefix}`, uri: `s3://${b.name}/${prefix}` };
  });
}

registerCommand({
  name: 'ls',
  summary: 'List a storage folder (folders, files with size and date; slides marked).',
  usage: 'ls [s3://bucket/prefix/] [--json] [--max N]',
  flags: {
    json: { description: 'print the listing as JSON' },
    max: { value: true, description: 'stop after N entries (default: all)' },
  },
  async run(ctx, args) {
    const uri = args.positionals[0];
    if (args.positionals.length > 1) throw usageError('ls takes one address.');
    if (!uri) {
      const list = roots(ctx);
      if (args.flags.json) json(ctx, { uri: '', entries: list } satisfies StorageListing);
      else ctx.io.out(list.map((r) => `BUCKET  ${r.uri}  ${r.name}`).join('\n') + (list.length ? '\n' : ''));
      return 0;
    }
    parseS3Uri(uri);
    const s3 = await ctx.s3();
    const max = flagInt(args, 'max', 1);
    const listing: StorageListing = { uri, entries: [] };
    let continuation: string | undefined;
    do {
      const page = await s3.list(uri, continuation);
      listing.uri = page.uri;
      listing.entries.push(...page.entries);
      continuation = page.continuation;
    } while (continuation && (max === undefined || listing.entries.length < max));
    if (max !== undefined && listing.entries.length > max) listing.entries.length = max;
    if (continuation) listing.continuation = continuation;
    if (args.flags.json) {
      json(ctx, listing);
      return 0;
    }
    const lines = listing.entries.map((e) =>
      e.kind === 'file'
        ? `${(e.lastModified ?? '').slice(0, 19).replace('T', ' ').padEnd(19)}  ${humanSize(e.size).padStart(8)}  ${e.name}${e.slide ? '' : '  (not a slide)'}`
        : `${''.padEnd(19)}  ${'DIR'.padStart(8)}  ${e.name}/`,
    );
    ctx.io.out(lines.join('\n') + (lines.length ? '\n' : ''));
    if (continuation) ctx.io.err(`(more entries; raise --max to see them)\n`);
    return 0;
  },
});

registerCommand({
  name: 'logout',
  summary: 'Sign out: revoke the tokens at the provider and delete the saved sign-in.',
  usage: 'logout [--no-browser]',
  flags: {
    'no-browser': { description: "print the provider's end-session address instead of opening a browser" },
  },
  async run(ctx) {
    // Not restored: the saved refresh token is revoked as it is, without a refresh first.
    const auth = await ctx.auth({ restore: false });
    const st = await auth.signOut();
    await forgetCachedCredentials(await ctx.secretStore());
    if (st.error) throw fromSerialized(st.error);
    ctx.io.err('Signed out. The saved sign-in was deleted and revoked at the sign-in service.\n');
    return 0;
  },
});

registerCommand({
  name: 'credentials',
  summary: 'Print temporary storage credentials for other tools (aws-cli credential_process, rclone, scripts).',
  usage: 'credentials [--format credential_process|env|json]',
  flags: {
    format: { value: true, description: 'credential_process (default: AWS CLI JSON), env (shell exports) or json' },
  },
  async run(ctx, args) {
    const format = flagString(args, 'format') ?? 'credential_process';
    if (!['credential_process', 'env', 'json'].includes(format)) throw usageError(`Unknown format "${format}".`, 'Use credential_process, env or json.');
    // Take turns with parallel calls first: the one before may have left a set that still lasts.
    await ctx.lockSession();
    const store = await ctx.secretStore();
    const cached = await readCachedCredentials(store, ctx.configured());
    let cp: CredentialProcessOutput;
    let identity: unknown;
    if (cached) {
      cp = cached.output;
      identity = cached.identity;
    } else {
      const provider = await ctx.credentials();
      cp = toCredentialProcessJson(await provider.get());
      identity = provider.info();
      const sub = (await ctx.auth()).user()?.sub;
      if (sub) await saveCachedCredentials(store, ctx.configured(), sub, cp, identity).catch(() => undefined);
    }
    if (format === 'credential_process') ctx.io.out(JSON.stringify(cp) + '\n');
    else if (format === 'json') json(ctx, { ...cp, Identity: identity });
    else {
      const s = ctx.settings.storage.s3;
      const q = (v: string): string => `'${v.replace(/'/g, `'\\''`)}'`;
      ctx.io.out(
        [
          `export AWS_ACCESS_KEY_ID=${q(cp.AccessKeyId)}`,
          `export AWS_SECRET_ACCESS_KEY=${q(cp.SecretAccessKey)}`,
          `export AWS_SESSION_TOKEN=${q(cp.SessionToken)}`,
          `export AWS_CREDENTIAL_EXPIRATION=${q(cp.Expiration)}`,
          `export AWS_REGION=${q(s.region)}`,
          ...(s.endpoint ? [`export AWS_ENDPOINT_URL_S3=${q(s.endpoint)}`] : []),
        ].join('\n') + '\n',
      );
    }
    return 0;
  },
});
