/**
 * The credentials `credential_process` printed last, kept for the next call. aws-cli and
 * boto3 start `credential_process` again whenever the credentials they hold have less than
 * 10–15 minutes left, and parallel tools start it at once; without this cache every start
 * would restore the sign-in (rotating the refresh token) and call STS. Calls take turns
 * through the CLI session lock, and the second finds the first's set here.
 *
 * The set rests in the secret store (OS keychain or the encrypted secrets file), never in
 * clear text, bound to who it was issued for (issuer, client, subject) and where (STS
 * endpoint, role); sign-out deletes it.
 */
import { REFRESH_TOKEN_KEY, type SecretStore } from '../auth/index.js';
import type { Settings } from '../config/index.js';
import type { CredentialProcessOutput } from '../credentials/credential-process.js';

export const CREDENTIAL_CACHE_KEY = 'cli.credential-process';
/**
 * A cached set is handed out only with more than this left: longer than the SDKs' own
 * refresh windows (botocore: 15 min advisory, 10 min mandatory), so a tool given it does
 * not come back at once.
 */
export const MIN_REMAINING_S = 20 * 60;

interface Cached {
  v: 1;
  bound: string;
  output: CredentialProcessOutput;
  identity?: unknown;
}

function binding(s: Settings, sub: string): string {
  return JSON.stringify([s.auth.issuer, s.auth.clientId, sub, s.storage.sts.provider, s.storage.sts.endpoint, s.storage.sts.roleArn, s.storage.sts.durationSeconds]);
}

/** The subject of the saved sign-in, without using it (no refresh). */
async function savedSubject(store: SecretStore): Promise<string | undefined> {
  const raw = await store.get(REFRESH_TOKEN_KEY).catch(() => undefined);
  if (!raw) return undefined;
  try {
    const v = JSON.parse(raw) as { user?: { sub?: unknown } };
    return typeof v.user?.sub === 'string' ? v.user.sub : undefined;
  } catch {
    return undefined;
  }
}

export async function readCachedCredentials(store: SecretStore, s: Settings, nowMs = Date.now()): Promise<{ output: CredentialProcessOutput; identity?: unknown } | undefined> {
  const sub = await savedSubject(store);
  if (!sub) return undefined;
  const raw = await store.get(CREDENTIAL_CACHE_KEY).catch(() => undefined);
  if (!raw) return undefined;
  try {
    const c = JSON.parse(raw) as Cached;
    if (c.v !== 1 || c.bound !== binding(s, sub)) return undefined;
    if (Date.parse(c.output.Expiration) - nowMs < MIN_REMAINING_S * 1000) return undefined;
    return { output: c.output, ...(c.identity !== undefined ? { identity: c.identity } : {}) };
  } catch {
    return undefined;
  }
}

export async function saveCachedCredentials(store: SecretStore, s: Settings, sub: string, output: CredentialProcessOutput, identity: unknown): Promise<void> {
  const c: Cached = { v: 1, bound: binding(s, sub), output, identity };
  await store.set(CREDENTIAL_CACHE_KEY, JSON.stringify(c));
}

export async function forgetCachedCredentials(store: SecretStore): Promise<void> {
  await store.delete(CREDENTIAL_CACHE_KEY).catch(() => undefined);
}
