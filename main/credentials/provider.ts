/**
 * Storage credentials from the signed-in identity: the ID (or access) token exchanged at
 * STS with AssumeRoleWithWebIdentity, kept in memory, renewed before they expire.
 *
 * Renewal happens in three places, all through one single-flight `#renew()`:
 *  - proactively, at ~80 % of the credentials' lifetime, if they were used since the last
 *    renewal (an idle app does not keep calling STS);
 *  - in get(), when the remaining validity is below what the caller needs;
 *  - when storage refuses the credentials (ExpiredToken: clock skew, revoked session):
 *    get({rejected}) renews once for every request refused with the same credentials.
 *
 * `forJob(policy)` gives a provider for an analysis job whose credentials are narrowed by
 * an inline session policy (intersection with the user's rights, never more).
 */
import { withoutRedirects } from '../common/no-redirect.js';
import type { CredentialsInfo } from '../common/api-types.js';
import { isAppError, throwIfAborted } from '../common/errors.js';
import { logger } from '../common/log.js';
import type { Settings } from '../config/index.js';
import type { FetchLike } from '../common/fetch.js';
import { assumeRoleWithWebIdentity, sanitizeSessionName } from './sts.js';
import type { CredentialProvider, GetCredentialsOptions, TemporaryCredentials, WebIdentitySource } from './types.js';
import { credentialErrors } from './errors.js';

const log = logger('credentials');

export interface StsProviderOptions {
  sts: Settings['storage']['sts'];
  /** Region for the AWS STS endpoint when storage.sts.endpoint is empty. */
  region: string;
  identity: WebIdentitySource;
  fetch?: FetchLike;
  /** Milliseconds since epoch; tests shift it to act out a skewed clock. */
  now?: () => number;
  /** Fraction of the lifetime after which credentials in use are renewed in the background. */
  renewAtFraction?: number;
  /** Inline session policy (JSON text) narrowing the role: job credentials. */
  policy?: string;
  /** Appended to the session name so storage logs tell a job from the user's viewer. */
  sessionSuffix?: string;
  /**
   * Ask STS for no DurationSeconds, so credentials end with the web identity token (MinIO's
   * rule). For renewal tests that must see several credential lifetimes in seconds; the
   * app and the CLI never set it (see requestedDuration).
   */
  tokenBoundLifetime?: boolean;
}

interface Held {
  credentials: TemporaryCredentials;
  info: CredentialsInfo;
  obtainedAt: number;
}

/** exp/iat of a JWT, unverified: used only to decide whether to refresh it first. */
function jwtTimes(token: string): { iat: number; exp: number } | undefined {
  const payload = token.split('.')[1];
  if (!payload) return undefined;
  try {
    const p = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as { iat?: unknown; exp?: unknown };
    return typeof p.iat === 'number' && typeof p.exp === 'number' ? { iat: p.iat, exp: p.exp } : undefined;
  } catch {
    return undefined;
  }
}

export class StsWebIdentityProvider implements CredentialProvider {
  readonly #o: StsProviderOptions;
  readonly #now: () => number;
  readonly #fetch: FetchLike;
  readonly #listeners = new Set<(info: CredentialsInfo | null) => void>();
  #held: Held | undefined;
  #inflight: Promise<Held> | undefined;
  #timer: NodeJS.Timeout | undefined;
  #usedSinceRenewal = false;
  /** Bumped by invalidate(): a renewal that finishes afterwards is thrown away. */
  #generation = 0;
  /** STS calls made; the shared-renewal test and `whoami --verbose` read it. */
  stsCalls = 0;

  constructor(options: StsProviderOptions) {
    this.#o = options;
    this.#now = options.now ?? Date.now;
    // The web-identity token never follows a redirect (main/common/no-redirect.ts).
    this.#fetch = withoutRedirects(options.fetch ?? ((input, init) => fetch(input, init)));
  }

  info(): CredentialsInfo | null {
    return this.#held ? { ...this.#held.info } : null;
  }

  onChange(listener: (info: CredentialsInfo | null) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  async get(opts: GetCredentialsOptions = {}): Promise<TemporaryCredentials> {
    throwIfAborted(opts.signal);
    if (opts.rejected) {
      const current = this.#held?.credentials;
      // Someone already renewed after this rejection: use theirs.
      if (current && current.accessKeyId !== opts.rejected.accessKeyId && this.#remainingS(current) > 0) return current;
      if (!this.#inflight) log.info('storage refused the credentials; renewing', { accessKeyId: opts.rejected.accessKeyId });
      const held = await this.#renew(opts.rejected);
      this.#usedSinceRenewal = true;
      return held.credentials;
    }
    const held = this.#held;
    if (held && this.#remainingS(held.credentials) > this.#minValidity(held, opts.minValiditySeconds)) {
      this.#usedSinceRenewal = true;
      return held.credentials;
    }
    const fresh = await this.#renew(undefined);
    this.#usedSinceRenewal = true;
    return fresh.credentials;
  }

  invalidate(): void {
    this.#generation++;
    this.#held = undefined;
    this.#inflight = undefined;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#emit(null);
  }

  /** Stop the background renewal (host shutting down). */
  dispose(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  /** Credentials for one analysis job: the user's rights intersected with `policy`. */
  forJob(policy: object | string, opts: { durationSeconds?: number; name?: string } = {}): StsWebIdentityProvider {
    return new StsWebIdentityProvider({
      ...this.#o,
      policy: typeof policy === 'string' ? policy : JSON.stringify(policy),
      sts: { ...this.#o.sts, durationSeconds: opts.durationSeconds ?? this.#o.sts.durationSeconds },
      sessionSuffix: opts.name ?? 'job',
    });
  }

  #remainingS(c: TemporaryCredentials): number {
    return (c.expiration.getTime() - this.#now()) / 1000;
  }

  #minValidity(h: Held, wanted: number | undefined): number {
    if (wanted !== undefined) return wanted;
    const lifetimeS = (h.credentials.expiration.getTime() - h.obtainedAt) / 1000;
    return Math.min(300, Math.max(1, lifetimeS * 0.2));
  }

  #renew(rejected: TemporaryCredentials | undefined): Promise<Held> {
    if (this.#inflight) return this.#inflight;
    const generation = this.#generation;
    const run = this.#exchange(rejected !== undefined).then((held) => {
      if (generation !== this.#generation) {
        throw credentialErrors.make('CREDENTIALS_INVALIDATED', 'You signed out while storage access was being renewed.', { hint: 'Sign in again.' });
      }
      this.#held = held;
      this.#usedSinceRenewal = false;
      this.#schedule(held);
      this.#emit(held.info);
      return held;
    });
    this.#inflight = run;
    const clear = (): void => {
      if (this.#inflight === run) this.#inflight = undefined;
    };
    run.then(clear, clear);
    return run;
  }

  async #token(forceRefresh: boolean): Promise<string> {
    const which = this.#o.sts.webIdentityToken;
    const get = (o: { forceRefresh?: boolean }): Promise<string> =>
      which === 'access_token' ? this.#o.identity.getAccessToken(o) : this.#o.identity.getIdToken(o);
    const token = await get(forceRefresh ? { forceRefresh: true } : {});
    // MinIO caps the credentials at the token's remaining life: a half-used token would
    // give half-length credentials, so refresh it first.
    const t = jwtTimes(token);
    if (!forceRefresh && t && t.exp - this.#now() / 1000 < (t.exp - t.iat) / 2) return get({ forceRefresh: true });
    return token;
  }

  async #exchange(afterRejection: boolean): Promise<Held> {
    const user = this.#o.identity.user();
    const base = sanitizeSessionName(user?.email ?? user?.name ?? user?.sub);
    const roleSessionName = this.#o.sessionSuffix ? sanitizeSessionName(`${base.slice(0, 63 - this.#o.sessionSuffix.length)}+${this.#o.sessionSuffix}`) : base;
    const call = async (forceRefresh: boolean, durationSeconds: number): ReturnType<typeof assumeRoleWithWebIdentity> => {
      const webIdentityToken = await this.#token(forceRefresh);
      this.stsCalls++;
      return assumeRoleWithWebIdentity(
        {
          provider: this.#o.sts.provider,
          endpoint: this.#o.sts.endpoint,
          region: this.#o.region,
          roleArn: this.#o.sts.roleArn,
          roleSessionName,
          webIdentityToken,
          durationSeconds,
          ...(this.#o.policy ? { policy: this.#o.policy } : {}),
        },
        this.#fetch,
      );
    };
    let result;
    let duration = this.#o.tokenBoundLifetime ? 0 : requestedDuration(this.#o.sts);
    try {
      try {
        result = await call(afterRejection, duration);
      } catch (err) {
        // AWS refuses more than the role's MaxSessionDuration: then its own default (1 h).
        if (!(duration > 0 && this.#o.sts.durationSeconds === 0 && isDurationRefusal(err))) throw err;
        duration = 0;
        result = await call(afterRejection, duration);
      }
    } catch (err) {
      // STS thought the token expired (our clock is behind, or it expired in transit):
      // one fresh token, one more try.
      if (!isAppError(err, 'STS_EXPIRED_TOKEN')) throw err;
      result = await call(true, duration);
    }
    const obtainedAt = this.#now();
    const identity = result.identity || `${this.#o.sts.provider}:${user?.email ?? user?.sub ?? roleSessionName}`;
    log.info('storage credentials issued', {
      // The key id is not a secret; storage audit logs name it, so support can correlate.
      accessKeyId: result.credentials.accessKeyId,
      sessionName: roleSessionName,
      identity,
      expiresAt: result.credentials.expiration.toISOString(),
      job: this.#o.policy !== undefined,
    });
    return {
      credentials: result.credentials,
      obtainedAt,
      info: { identity, sessionName: roleSessionName, expiresAt: result.credentials.expiration.getTime(), provider: this.#o.sts.provider },
    };
  }

  #schedule(held: Held): void {
    clearTimeout(this.#timer);
    const lifetime = held.credentials.expiration.getTime() - held.obtainedAt;
    const delay = Math.max(1000, lifetime * (this.#o.renewAtFraction ?? 0.8));
    const generation = this.#generation;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      if (generation !== this.#generation || !this.#usedSinceRenewal) return;
      this.#renew(undefined).catch((err: unknown) => {
        log.warn('background renewal of storage credentials failed; will retry on next use', { code: isAppError(err) ? err.code : undefined });
      });
    }, delay);
    this.#timer.unref();
  }

  #emit(info: CredentialsInfo | null): void {
    for (const l of this.#listeners) {
      try {
        l(info ? { ...info } : null);
      } catch (err) {
        log.error('credentials listener failed', { err });
      }
    }
  }
}

/**
 * The lifetime asked of STS, decoupled from the ID token's (5 minutes on Keycloak's
 * defaults): credentials that die with the token make aws-cli and boto3, which refresh
 * anything with less than 10–15 minutes left, start `credential_process` before every call.
 * storage.sts.durationSeconds wins; else MinIO gets 1 h (it honours DurationSeconds whatever
 * the token's remaining life) and AWS the 12 h maximum, lowered to the role's own maximum
 * when AWS refuses it (see isDurationRefusal).
 */
export const MINIO_DEFAULT_DURATION_S = 3600;
export const AWS_MAX_DURATION_S = 43_200;
export function requestedDuration(sts: Settings['storage']['sts']): number {
  if (sts.durationSeconds > 0) return sts.durationSeconds;
  return sts.provider === 'minio' ? MINIO_DEFAULT_DURATION_S : AWS_MAX_DURATION_S;
}

/** AWS: "The requested DurationSeconds exceeds the MaxSessionDuration set for this role." */
function isDurationRefusal(err: unknown): boolean {
  if (!isAppError(err)) return false;
  const d = (err.details ?? {}) as { stsCode?: unknown; stsMessage?: unknown };
  return typeof d.stsMessage === 'string' && /DurationSeconds/i.test(d.stsMessage) && (d.stsCode === 'ValidationError' || d.stsCode === 'InvalidParameterValue');
}
