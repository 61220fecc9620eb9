/**
 * The sign-in service: OpenID Connect in the system browser (RFC 8252) with the
 * authorization code + PKCE S256 (RFC 7636) + state + nonce, through openid-client v6
 * used as it is. Tokens live in this object only; the refresh token also rests in the
 * secret store. `state()` is what the renderer sees and never holds a token.
 */
import * as oidc from 'openid-client';
import type { AuthState, UserInfo } from '../common/api-types.js';
import { type AppError } from '../common/errors.js';
import { logger, registerSecret } from '../common/log.js';
import type { Settings } from '../config/schema.js';
import type { FetchLike } from '../common/fetch.js';
import { authError, mapOidcError } from './errors.js';
import { defaultMinValidity, HEALTHIMAGING_MAX_AGE_S, lifetimeWarnings, needsRenewal, renewAt, type TokenTimes } from './lifetimes.js';
import { LoopbackListener } from './loopback.js';
import type { PageContent } from './pages.js';
import type { SecretStore } from './secret-store.js';
import { needsConsentPrompt } from './provider-quirks.js';
import { acquireLock } from '../common/process-lock.js';
import { join } from 'node:path';
import { authErrors } from './errors.js';

const log = logger('auth');

/** Key of the refresh token in the secret store. */
export const REFRESH_TOKEN_KEY = 'auth.refresh-token';
/** openid-client's per-request timeout (seconds) for discovery, token, revocation calls. */
const HTTP_TIMEOUT_S = 30;
/** Another host's refresh holds the lock at most this long (HTTP timeout plus the saving). */
const REFRESH_LOCK_WAIT_MS = 2 * HTTP_TIMEOUT_S * 1000 + 15_000;
/** After a failed background renewal (network), try again this soon. */
const RETRY_RENEW_MS = 30_000;

export interface AuthServiceOptions {
  auth: Settings['auth'];
  organisation: string;
  /** Where the refresh token rests. */
  secretStore: SecretStore;
  /** Electron: shell.openExternal; headless/CLI: a callback, or print the URL. */
  openBrowser: (url: string) => Promise<void>;
  /** Injectable network (the Electron app passes Chromium's). */
  fetch?: FetchLike;
  /** Milliseconds since epoch; tests move it to check expiry handling. */
  now?: () => number;
  /**
   * RFC 8707 resource indicators (e.g. DICOMweb archives) the sign-in asks access for, so
   * that `resourceTokenSource(r)` can later get a token for each with the refresh token.
   */
  resources?: string[];
  /**
   * The data folder whose refresh lock this service takes around every use of the refresh
   * token, shared by every host on it (the app, the headless host, CLI commands). Inside the
   * lock the service first reads the saved token: another host may have rotated it, and the
   * old one is spent (providers with rotation revoke the sign-in when it comes back).
   * Without it, only this process's uses are serialised (tests with an in-memory store).
   */
  refreshLockDir?: string;
}

/** What main's DICOMweb client asks tokens from (structurally main/sources/dicomweb TokenSource). */
export interface AccessTokenSource {
  getAccessToken(opts?: { minValiditySeconds?: number; forceRefresh?: boolean }): Promise<string>;
}

interface ResourceToken {
  token: string;
  times: TokenTimes;
}

interface Session {
  idToken: string | undefined;
  idTimes: TokenTimes | undefined;
  accessToken: string;
  accessTimes: TokenTimes;
  refreshToken: string | undefined;
  refreshExpiresIn: number | undefined;
  user: UserInfo;
}

interface StoredRefresh {
  v: 1;
  issuer: string;
  clientId: string;
  refreshToken: string;
  /**
   * Who signed in (from the validated ID token), so a restart without network can say who
   * is working offline. Not a credential: it opens nothing in storage.
   */
  user?: UserInfo;
}

interface SignInRun {
  promise: Promise<AuthState>;
  cancel: () => void;
}

type TokenResponse = Awaited<ReturnType<typeof oidc.refreshTokenGrant>>;

function constantTimeEqual(a: string, b: string): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a.charCodeAt(i) ^ b.charCodeAt(i);
  return diff === 0;
}

/** exp/iat of a JWT access token (unverified: used only to time renewal), else undefined. */
function jwtTimes(token: string): TokenTimes | undefined {
  const parts = token.split('.');
  if (parts.length !== 3 || !parts[1]) return undefined;
  try {
    const payload = JSON.parse(Buffer.from(parts[1], 'base64url').toString('utf8')) as { iat?: unknown; exp?: unknown };
    if (typeof payload.iat === 'number' && typeof payload.exp === 'number') return { iat: payload.iat, exp: payload.exp };
  } catch {
    // Opaque token that happens to contain two dots.
  }
  return undefined;
}

function describeCauses(err: unknown): string {
  const out: string[] = [];
  let cur: unknown = err;
  for (let i = 0; i < 5 && cur instanceof Error; i++) {
    out.push(cur.message);
    cur = cur.cause;
  }
  return out.join(' <- ');
}

/**
 * A group as people name it: Keycloak's group mapper sends full paths (`/pathology`,
 * `/hospital/pathology`) unless "Full group path" is off; shown without the leading `/`.
 */
export function groupName(g: string): string {
  return g.replace(/^\/+/, '');
}

/** Whether two group names are the same group, in either form (`/pathology` and `pathology`). */
export function sameGroup(a: string, b: string): boolean {
  return groupName(a) === groupName(b);
}

function userFromClaims(claims: Record<string, unknown>): UserInfo {
  const str = (k: string): string | undefined => (typeof claims[k] === 'string' && claims[k] !== '' ? (claims[k] as string) : undefined);
  const sub = str('sub') ?? '';
  const list = (k: string): string[] | undefined => (Array.isArray(claims[k]) ? (claims[k] as unknown[]).filter((g): g is string => typeof g === 'string') : undefined);
  const email = str('email');
  return {
    sub,
    name: str('name') ?? str('preferred_username') ?? email ?? sub,
    ...(email ? { email } : {}),
    groups: (list('groups') ?? list('cognito:groups') ?? list('roles') ?? []).map(groupName),
  };
}

export class AuthService {
  readonly #o: AuthServiceOptions;
  readonly #now: () => number;
  readonly #listeners = new Set<(s: AuthState) => void>();
  #state: AuthState;
  #serverMetadata: oidc.ServerMetadata | undefined;
  #jwksCache: oidc.ExportedJWKSCache | undefined;
  #session: Session | undefined;
  #signIn: SignInRun | undefined;
  #refreshing: Promise<Session> | undefined;
  #timer: NodeJS.Timeout | undefined;
  /** Bumped by sign-in and sign-out, so a renewal that finishes afterwards is discarded. */
  #generation = 0;
  /**
   * Every use of the refresh token runs through this queue: the provider rotates it on each
   * use and revokes the whole grant when a used one comes back, so two concurrent refreshes
   * (the session's and a resource's) would end the session.
   */
  #grantQueue: Promise<unknown> = Promise.resolve();
  readonly #resourceTokens = new Map<string, ResourceToken>();
  readonly #resourceRuns = new Map<string, Promise<ResourceToken>>();
  /** Lifetime warnings of the session, and per resource, merged into state.warnings. */
  #sessionWarnings: string[] = [];
  readonly #resourceWarnings = new Map<string, string>();
  /**
   * Restored while the provider was unreachable: the saved refresh token, kept to go
   * online as soon as it answers (retried in the background and on every token request).
   */
  #offline: { refreshToken: string; timer: NodeJS.Timeout | undefined } | undefined;

  constructor(options: AuthServiceOptions) {
    this.#o = options;
    this.#now = options.now ?? Date.now;
    this.#state = {
      status: 'signed-out',
      secretStore: { kind: options.secretStore.kind, description: options.secretStore.description },
      warnings: [],
    };
  }

  /**
   * Origins of the discovered authorization and end-session endpoints: the pages the shell
   * may open in the system browser (Cognito serves them from another host than the issuer).
   * Empty until the provider was discovered.
   */
  browserOrigins(): string[] {
    const m = this.#serverMetadata;
    const origins: string[] = [];
    for (const u of [m?.authorization_endpoint, m?.end_session_endpoint]) {
      if (!u) continue;
      try {
        origins.push(new URL(u).origin);
      } catch {
        // a malformed endpoint is refused where it is used
      }
    }
    return origins;
  }

  state(): AuthState {
    return structuredClone(this.#state);
  }

  onChange(listener: (s: AuthState) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  user(): UserInfo | undefined {
    return this.#session ? structuredClone(this.#session.user) : undefined;
  }

  #setState(patch: Partial<AuthState>, clear: Array<keyof AuthState> = []): void {
    const next: AuthState = { ...this.#state, ...patch };
    for (const k of clear) delete next[k];
    this.#state = next;
    const snapshot = this.state();
    for (const l of this.#listeners) {
      try {
        l(snapshot);
      } catch (err) {
        log.error('auth state listener failed', { err });
      }
    }
  }

  #nowS(): number {
    return this.#now() / 1000;
  }

  // ---- provider configuration -------------------------------------------------------

  #issuerUrl(): URL {
    let url: URL;
    try {
      url = new URL(this.#o.auth.issuer);
    } catch (err) {
      throw authErrors.make('AUTH_NOT_CONFIGURED', 'Sign-in is not set up on this workstation.', {
        hint: 'IT: set auth.issuer to the OpenID Connect issuer URL of the organisation.',
        cause: err,
      });
    }
    if (url.protocol === 'http:' && !this.#o.auth.allowInsecureIssuer) throw authError('AUTH_INSECURE_ISSUER', { details: { issuer: url.origin } });
    if (url.protocol !== 'https:' && url.protocol !== 'http:') throw authError('AUTH_INSECURE_ISSUER', { details: { issuer: this.#o.auth.issuer } });
    return url;
  }

  #clientMetadata(): Partial<oidc.ClientMetadata> {
    return {
      // The app's clock may be moved (tests) or known wrong: openid-client adds this to Date.now().
      [oidc.clockSkew]: Math.round((this.#now() - Date.now()) / 1000),
      [oidc.clockTolerance]: this.#o.auth.clockSkewSeconds,
    };
  }

  #configure(cfg: oidc.Configuration, insecure: boolean): oidc.Configuration {
    if (insecure) oidc.allowInsecureRequests(cfg);
    const f = this.#o.fetch;
    if (f) cfg[oidc.customFetch] = (url, options) => f(url, options as RequestInit);
    cfg.timeout = HTTP_TIMEOUT_S;
    if (this.#jwksCache) oidc.setJwksCache(cfg, this.#jwksCache);
    return cfg;
  }

  /**
   * A Configuration for one operation. Discovery runs once per service (again after a
   * failure); each operation gets a fresh Configuration so the clock offset is current.
   */
  async #config(): Promise<oidc.Configuration> {
    const issuer = this.#issuerUrl();
    const insecure = issuer.protocol === 'http:';
    if (!this.#serverMetadata) {
      try {
        const f = this.#o.fetch;
        const discovered = await oidc.discovery(issuer, this.#o.auth.clientId, this.#clientMetadata(), oidc.None(), {
          execute: insecure ? [oidc.allowInsecureRequests] : [],
          timeout: HTTP_TIMEOUT_S,
          ...(f ? { [oidc.customFetch]: (url: string, options: oidc.CustomFetchOptions) => f(url, options as RequestInit) } : {}),
        });
        // serverMetadata() adds helper methods; a Configuration wants plain data.
        this.#serverMetadata = JSON.parse(JSON.stringify(discovered.serverMetadata())) as oidc.ServerMetadata;
      } catch (err) {
        throw mapOidcError(err, 'discovery');
      }
    }
    return this.#configure(new oidc.Configuration(this.#serverMetadata, this.#o.auth.clientId, this.#clientMetadata(), oidc.None()), insecure);
  }

  #keepJwks(cfg: oidc.Configuration): void {
    this.#jwksCache = oidc.getJwksCache(cfg) ?? this.#jwksCache;
  }

  // ---- sign-in ----------------------------------------------------------------------

  signIn(): Promise<AuthState> {
    if (this.#signIn) return this.#signIn.promise;
    if (this.#state.status === 'signed-in') return Promise.resolve(this.state());
    const ctl = { cancelled: false };
    let cancel!: () => void;
    const cancelled = new Promise<never>((_, reject) => {
      cancel = () => {
        ctl.cancelled = true;
        reject(authError('AUTH_CANCELLED'));
      };
    });
    cancelled.catch(() => undefined);
    const generation = ++this.#generation;
    this.#forgetResourceTokens();
    const promise = this.#runSignIn(cancelled, ctl, generation).then(
      () => this.state(),
      (err: unknown) => {
        const e = mapOidcError(err, 'code');
        // Messages only: the causes can carry ID token claims (names, e-mail addresses).
        log.warn('sign-in failed', { code: e.code, reason: describeCauses(err) });
        if (this.#generation === generation) {
          this.#setState({ status: 'signed-out', error: e.toJSON() }, ['authorizationUrl', 'user', 'expiresAt']);
        }
        return this.state();
      },
    );
    const run: SignInRun = { promise, cancel };
    this.#signIn = run;
    void promise.finally(() => {
      if (this.#signIn === run) this.#signIn = undefined;
    });
    return promise;
  }

  cancelSignIn(): void {
    this.#signIn?.cancel();
  }

  async #runSignIn(cancelled: Promise<never>, ctl: { cancelled: boolean }, generation: number): Promise<void> {
    const a = this.#o.auth;
    this.#setState({ status: 'signing-in', warnings: [] }, ['error', 'authorizationUrl', 'user', 'expiresAt']);
    const cfg = await Promise.race([this.#config(), cancelled]);
    const listener = await LoopbackListener.start({ host: a.redirect.host, port: a.redirect.port, path: a.redirect.path, organisation: this.#o.organisation });
    let timer: NodeJS.Timeout | undefined;
    try {
      const verifier = oidc.randomPKCECodeVerifier();
      const state = oidc.randomState();
      const nonce = oidc.randomNonce();
      const scope = a.scopes.join(' ');
      const params: Record<string, string> = {
        redirect_uri: listener.redirectUri,
        scope,
        code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
        code_challenge_method: 'S256',
        state,
        nonce,
      };
      if (needsConsentPrompt(this.#o.auth.issuer, a.scopes)) params.prompt = 'consent';
      if (a.audience) params.audience = a.audience;
      const query = new URLSearchParams(params);
      // RFC 8707: the grant covers every archive, so a token for each can come from the refresh token.
      for (const r of this.#o.resources ?? []) query.append('resource', r);
      const url = oidc.buildAuthorizationUrl(cfg, query).href;
      this.#setState({ authorizationUrl: url });
      log.info('sign-in started', { issuer: this.#o.auth.issuer, redirectUri: listener.redirectUri });
      this.#o.openBrowser(url).catch((err: unknown) => {
        // The URL stays in state.authorizationUrl: the UI offers "copy the link".
        log.warn('could not open the system browser; the sign-in link can be copied instead', { err });
      });

      const timedOut = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(authError('AUTH_TIMEOUT', { details: { timeoutSeconds: a.timeoutSeconds } })), a.timeoutSeconds * 1000);
      });
      const callback = await Promise.race([listener.next(), timedOut, cancelled]);
      clearTimeout(timer);

      const got = callback.url.searchParams.get('state');
      if (got === null || !constantTimeEqual(got, state)) {
        const e = authError('AUTH_STATE_MISMATCH', { details: { statePresent: got !== null } });
        await callback.respond(this.#failurePage(e));
        throw e;
      }
      let tokens: TokenResponse;
      try {
        tokens = await oidc.authorizationCodeGrant(cfg, callback.url, { pkceCodeVerifier: verifier, expectedState: state, expectedNonce: nonce, idTokenExpected: true });
      } catch (err) {
        const e = mapOidcError(err, 'code');
        await callback.respond(this.#failurePage(e));
        throw e;
      } finally {
        this.#keepJwks(cfg);
      }
      this.#registerTokens(tokens);
      if (ctl.cancelled || this.#generation !== generation) {
        await callback.respond(this.#failurePage(authError('AUTH_CANCELLED')));
        await this.#revokeQuietly(cfg, tokens.refresh_token, tokens.access_token);
        throw authError('AUTH_CANCELLED');
      }
      let session: Session;
      try {
        session = this.#sessionFrom(tokens, undefined);
      } catch (err) {
        const e = mapOidcError(err, 'code');
        await callback.respond(this.#failurePage(e));
        throw e;
      }
      await callback.respond({ ok: true, title: 'You are signed in', message: `Signed in to the slide workstation as ${session.user.name}.` });
      await this.#adopt(session, generation);
      log.info('signed in', { sub: session.user.sub });
    } finally {
      clearTimeout(timer);
      await listener.close();
    }
  }

  #failurePage(e: AppError): PageContent {
    return { ok: false, title: 'Sign-in did not complete', message: e.message, detail: `${e.hint ?? ''} (${e.code})`.trim() };
  }

  #registerTokens(t: TokenResponse): void {
    registerSecret(t.access_token);
    registerSecret(t.id_token);
    registerSecret(t.refresh_token);
  }

  #sessionFrom(t: TokenResponse, prev: Session | undefined): Session {
    const now = Math.floor(this.#nowS());
    const claims = t.claims() as Record<string, unknown> | undefined;
    let idTimes: TokenTimes | undefined;
    if (claims && typeof claims.iat === 'number' && typeof claims.exp === 'number') idTimes = { iat: claims.iat, exp: claims.exp };
    const expiresIn = t.expiresIn();
    const accessTimes = jwtTimes(t.access_token) ?? { iat: now, exp: now + (expiresIn ?? 300) };
    if (prev && claims && claims.sub !== prev.user.sub) {
      throw authError('AUTH_SESSION_EXPIRED', { message: 'The sign-in service renewed the session for a different person. Please sign in again.' });
    }
    const user = claims ? userFromClaims(claims) : prev?.user;
    if (!user) throw authError('AUTH_FAILED', { message: 'The sign-in service did not say who signed in (no ID token).' });
    const refreshExpires = (t as { refresh_expires_in?: unknown }).refresh_expires_in;
    return {
      idToken: t.id_token ?? prev?.idToken,
      idTimes: t.id_token ? idTimes : prev?.idTimes,
      accessToken: t.access_token,
      accessTimes,
      refreshToken: t.refresh_token ?? prev?.refreshToken,
      refreshExpiresIn: typeof refreshExpires === 'number' ? refreshExpires : prev?.refreshExpiresIn,
      user,
    };
  }

  /** Make a session current: persist a new refresh token, publish the state, plan renewal. */
  async #adopt(s: Session, generation: number): Promise<void> {
    if (this.#generation !== generation) throw authError('AUTH_NOT_SIGNED_IN');
    const prevRefresh = this.#session?.refreshToken;
    this.#session = s;
    const warnings = lifetimeWarnings({
      ...(s.idTimes ? { idToken: s.idTimes } : {}),
      accessToken: s.accessTimes,
      hasRefreshToken: s.refreshToken !== undefined,
      refreshRequested: this.#o.auth.scopes.includes('offline_access'),
      ...(s.refreshExpiresIn !== undefined ? { refreshExpiresIn: s.refreshExpiresIn } : {}),
    });
    if (s.refreshToken && s.refreshToken !== prevRefresh) {
      const stored: StoredRefresh = { v: 1, issuer: this.#o.auth.issuer, clientId: this.#o.auth.clientId, refreshToken: s.refreshToken, user: s.user };
      try {
        await this.#o.secretStore.set(REFRESH_TOKEN_KEY, JSON.stringify(stored));
      } catch (err) {
        log.warn('could not save the refresh token', { err });
        warnings.push(`The sign-in could not be saved in ${this.#o.secretStore.description}; you will have to sign in again after restarting.`);
      }
    }
    if (!s.refreshToken && (this.#o.resources?.length ?? 0) > 0) {
      warnings.push('The sign-in service gave no refresh token, so image archives that need their own access token cannot be opened. IT: allow the offline_access scope for this client.');
    }
    for (const w of warnings) log.warn('token lifetime warning', { warning: w });
    this.#sessionWarnings = warnings;
    this.#setState({ status: 'signed-in', user: s.user, expiresAt: this.#expiresAtMs(s), warnings: this.#allWarnings() }, ['error', 'authorizationUrl']);
    this.#schedule(s);
  }

  #expiresAtMs(s: Session): number {
    return Math.min(s.accessTimes.exp, s.idTimes?.exp ?? Infinity) * 1000;
  }

  // ---- renewal ----------------------------------------------------------------------

  #schedule(s: Session): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    if (!s.refreshToken) return;
    const at = Math.min(renewAt(s.accessTimes), s.idTimes ? renewAt(s.idTimes) : Infinity);
    this.#armTimer(Math.max(1000, at * 1000 - this.#now()));
  }

  #armTimer(delayMs: number): void {
    clearTimeout(this.#timer);
    // setTimeout cannot wait longer than ~24.8 days; re-plan after that.
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#renew().catch((err: unknown) => {
        const e = mapOidcError(err, 'refresh');
        const s = this.#session;
        if (e.code === 'AUTH_PROVIDER_UNREACHABLE' && s && this.#expiresAtMs(s) > this.#now()) {
          log.warn('background renewal failed; will retry', { code: e.code });
          this.#armTimer(RETRY_RENEW_MS);
        }
      });
    }, Math.min(delayMs, 2 ** 31 - 1));
    this.#timer.unref();
  }

  /** One shared renewal; a refused refresh token ends the session. */
  #renew(): Promise<Session> {
    if (this.#refreshing) return this.#refreshing;
    const s = this.#session;
    if (!s) return Promise.reject(authError('AUTH_NOT_SIGNED_IN'));
    if (!s.refreshToken) return Promise.reject(authError('AUTH_SESSION_EXPIRED', { message: 'Your sign-in has expired and this sign-in service does not allow renewing it. Please sign in again.' }));
    const generation = this.#generation;
    const run = this.#serial(() => {
      // Read inside the queue: a resource token request may have rotated it meanwhile.
      const cur = this.#session;
      if (!cur?.refreshToken || this.#generation !== generation) throw authError('AUTH_NOT_SIGNED_IN');
      return this.#refreshWith(cur.refreshToken, cur, generation);
    }).catch(async (err: unknown) => {
      const e = mapOidcError(err, 'refresh');
      if (e.code === 'AUTH_SESSION_EXPIRED' && this.#generation === generation) await this.#endSession(e);
      throw e;
    });
    return this.#shareRefresh(run);
  }

  /** The renewal every token request waits for while it runs (renew, or going online). */
  #shareRefresh(run: Promise<Session>): Promise<Session> {
    this.#refreshing = run;
    void run.then(
      () => undefined,
      () => undefined,
    ).finally(() => {
      if (this.#refreshing === run) this.#refreshing = undefined;
    });
    return run;
  }

  async #refreshWith(refreshToken: string, prev: Session | undefined, generation: number): Promise<Session> {
    const cfg = await this.#config();
    let tokens: TokenResponse;
    try {
      tokens = await oidc.refreshTokenGrant(cfg, refreshToken);
    } catch (err) {
      throw mapOidcError(err, 'refresh');
    } finally {
      this.#keepJwks(cfg);
    }
    this.#registerTokens(tokens);
    if (this.#generation !== generation) {
      // Signed out (or in again) while this was in flight: the new tokens belong to nobody.
      await this.#revokeQuietly(cfg, tokens.refresh_token, tokens.access_token);
      throw authError('AUTH_NOT_SIGNED_IN');
    }
    let session = this.#sessionFrom(tokens, prev);
    if (!prev && !tokens.id_token) {
      // Restored without an ID token in the refresh answer: ask the provider who this is.
      try {
        const info = await oidc.fetchUserInfo(cfg, tokens.access_token, oidc.skipSubjectCheck);
        session = { ...session, user: userFromClaims(info as unknown as Record<string, unknown>) };
      } catch (err) {
        throw mapOidcError(err, 'refresh');
      }
    }
    await this.#adopt(session, generation);
    log.info('tokens renewed', { sub: session.user.sub });
    return session;
  }

  async #fresh(opts: { minValiditySeconds?: number; forceRefresh?: boolean } | undefined, which: 'id' | 'access'): Promise<Session> {
    // A renewal in flight answers every caller, forced or not: it is as fresh as it gets.
    if (this.#refreshing) return this.#refreshing;
    const s = this.#session;
    if (!s) {
      if (this.#offline) return this.#goOnline();
      throw authError('AUTH_NOT_SIGNED_IN');
    }
    const times = which === 'id' ? s.idTimes : s.accessTimes;
    if (!times) return s;
    const min = opts?.minValiditySeconds ?? defaultMinValidity(times);
    if (opts?.forceRefresh || needsRenewal(times, this.#nowS(), min)) return this.#renew();
    return s;
  }

  async getIdToken(opts?: { minValiditySeconds?: number; forceRefresh?: boolean }): Promise<string> {
    const s = await this.#fresh(opts, 'id');
    if (!s.idToken || !s.idTimes) throw authError('AUTH_SESSION_EXPIRED', { message: 'The sign-in service did not provide an identity token. Please sign in again.' });
    if (s.idTimes.exp <= this.#nowS()) throw authError('AUTH_TOKEN_EXPIRED');
    return s.idToken;
  }

  async getAccessToken(opts?: { minValiditySeconds?: number; forceRefresh?: boolean }): Promise<string> {
    const s = await this.#fresh(opts, 'access');
    if (s.accessTimes.exp <= this.#nowS()) throw authError('AUTH_TOKEN_EXPIRED');
    return s.accessToken;
  }

  // ---- resource tokens (RFC 8707) ----------------------------------------------------

  /** Run one refresh-token grant after the previous one has finished (see #grantQueue). */
  #serial<T>(fn: () => Promise<T>): Promise<T> {
    const locked = async (): Promise<T> => {
      const dir = this.#o.refreshLockDir;
      if (!dir) return fn();
      const release = await acquireLock(join(dir, 'auth-refresh.lock'), {
        timeoutMs: REFRESH_LOCK_WAIT_MS,
        onTimeout: (owner) => authError('AUTH_REFRESH_BUSY', { details: owner ? { pid: owner.pid } : {} }),
      });
      try {
        await this.#adoptRotatedElsewhere();
        return await fn();
      } finally {
        await release();
      }
    };
    const run = this.#grantQueue.then(locked, locked);
    this.#grantQueue = run.then(
      () => undefined,
      () => undefined,
    );
    return run;
  }

  #allWarnings(): string[] {
    return [...this.#sessionWarnings, ...this.#resourceWarnings.values()];
  }

  #setResourceWarning(resource: string, warning: string | undefined): void {
    if ((this.#resourceWarnings.get(resource) ?? undefined) === warning) return;
    if (warning === undefined) this.#resourceWarnings.delete(resource);
    else {
      this.#resourceWarnings.set(resource, warning);
      log.warn('resource token warning', { resource, warning });
    }
    if (this.#state.status === 'signed-in') this.#setState({ warnings: this.#allWarnings() });
  }

  #forgetResourceTokens(): void {
    this.#resourceTokens.clear();
    this.#resourceRuns.clear();
    this.#resourceWarnings.clear();
  }

  /**
   * Where a consumer of one resource gets its tokens: with `resource`, access tokens the
   * provider issues for that resource (RFC 8707, obtained with the refresh token); without,
   * the sign-in's own access token. The tokens stay in main (the renderer never sees them).
   */
  tokenSource(resource?: string): AccessTokenSource {
    if (!resource) return { getAccessToken: (opts) => this.getAccessToken(opts) };
    return { getAccessToken: (opts) => this.getResourceToken(resource, opts) };
  }

  /**
   * An access token for `resource`, renewed when less than `minValiditySeconds` remain or
   * when it is about to be 12 hours old (HealthImaging's limit); `forceRefresh` after the
   * resource refused one (401). Concurrent callers share one request per resource.
   */
  async getResourceToken(resource: string, opts?: { minValiditySeconds?: number; forceRefresh?: boolean }): Promise<string> {
    if (!this.#session && this.#offline) await this.#goOnline();
    if (!this.#session) throw authError('AUTH_NOT_SIGNED_IN');
    const running = this.#resourceRuns.get(resource);
    // A request in flight answers every caller, forced or not: it is as fresh as it gets.
    if (running) return (await running).token;
    const have = this.#resourceTokens.get(resource);
    if (have && !opts?.forceRefresh) {
      const min = opts?.minValiditySeconds ?? defaultMinValidity(have.times);
      if (!needsRenewal(have.times, this.#nowS(), min)) return have.token;
    }
    const generation = this.#generation;
    const run = this.#serial(() => this.#requestResourceToken(resource, generation)).catch(async (err: unknown) => {
      const e = mapOidcError(err, 'refresh');
      // The refresh token itself was refused: the whole session is over, as in #renew.
      if (e.code === 'AUTH_SESSION_EXPIRED' && this.#generation === generation) await this.#endSession(e);
      throw e;
    });
    this.#resourceRuns.set(resource, run);
    try {
      const got = await run;
      const min = opts?.minValiditySeconds ?? defaultMinValidity(got.times);
      if (this.#nowS() - got.times.iat > HEALTHIMAGING_MAX_AGE_S - min) {
        // Renewing did not help: the provider re-issues the old iat (or the clock is far off).
        this.#setResourceWarning(
          resource,
          `The sign-in service hands out access tokens for ${resource} that were issued more than 12 hours ago; image archives with AWS HealthImaging's rules refuse them. IT: let the provider issue a fresh token (new iat) on every refresh.`,
        );
      }
      return got.token;
    } finally {
      if (this.#resourceRuns.get(resource) === run) this.#resourceRuns.delete(resource);
    }
  }

  async #requestResourceToken(resource: string, generation: number): Promise<ResourceToken> {
    const s = this.#session;
    if (!s || this.#generation !== generation) throw authError('AUTH_NOT_SIGNED_IN');
    if (!s.refreshToken) throw authError('AUTH_RESOURCE_UNAVAILABLE', { details: { resource } });
    const cfg = await this.#config();
    let tokens: TokenResponse;
    try {
      tokens = await oidc.refreshTokenGrant(cfg, s.refreshToken, { resource });
    } catch (err) {
      const e = mapOidcError(err, 'refresh');
      log.warn('resource token request failed', { resource, code: e.code });
      throw e;
    } finally {
      this.#keepJwks(cfg);
    }
    this.#registerTokens(tokens);
    if (this.#generation !== generation || this.#session !== s) {
      await this.#revokeQuietly(cfg, tokens.refresh_token, tokens.access_token);
      throw authError('AUTH_NOT_SIGNED_IN');
    }
    if (tokens.refresh_token && tokens.refresh_token !== s.refreshToken) {
      // Rotated: the old one is spent, so the new one must replace it here and at rest.
      this.#session = { ...s, refreshToken: tokens.refresh_token };
      const stored: StoredRefresh = { v: 1, issuer: this.#o.auth.issuer, clientId: this.#o.auth.clientId, refreshToken: tokens.refresh_token, user: s.user };
      await this.#o.secretStore.set(REFRESH_TOKEN_KEY, JSON.stringify(stored)).catch((err: unknown) => log.warn('could not save the refresh token', { err }));
    }
    const now = Math.floor(this.#nowS());
    const times = jwtTimes(tokens.access_token) ?? { iat: now, exp: now + (tokens.expiresIn() ?? 300) };
    const lifetime = times.exp - times.iat;
    this.#setResourceWarning(
      resource,
      lifetime > HEALTHIMAGING_MAX_AGE_S
        ? `The sign-in service issues access tokens for ${resource} valid for ${Math.round(lifetime / 360) / 10} h. AWS HealthImaging refuses tokens issued more than 12 h ago, so the workstation renews them before they are 12 h old. IT: a lifetime of 12 h or less avoids surprises with other tools.`
        : undefined,
    );
    const got: ResourceToken = { token: tokens.access_token, times };
    this.#resourceTokens.set(resource, got);
    log.info('resource token issued', { resource, expiresInSeconds: times.exp - now });
    return got;
  }

  /**
   * Inside the refresh lock: when another host on this data folder rotated the refresh
   * token since this one read it, the saved one is the only live one; use it.
   */
  async #adoptRotatedElsewhere(): Promise<void> {
    const mine = this.#session?.refreshToken ?? this.#offline?.refreshToken;
    if (!mine) return;
    const stored = await this.#readStored();
    if (!stored || stored.refreshToken === mine || stored.issuer !== this.#o.auth.issuer || stored.clientId !== this.#o.auth.clientId) return;
    const who = this.#session?.user.sub ?? this.#state.user?.sub;
    // Someone else signed in on this OS account meanwhile: not this session's token.
    if (stored.user && who && stored.user.sub !== who) return;
    if (this.#session) this.#session = { ...this.#session, refreshToken: stored.refreshToken };
    else if (this.#offline) this.#offline.refreshToken = stored.refreshToken;
    log.info('using the refresh token renewed by another program on this data folder');
  }

  // ---- restore ----------------------------------------------------------------------

  async #readStored(): Promise<StoredRefresh | undefined> {
    let raw: string | undefined;
    try {
      raw = await this.#o.secretStore.get(REFRESH_TOKEN_KEY);
    } catch (err) {
      log.warn('could not read the saved sign-in', { err });
      return undefined;
    }
    if (!raw) return undefined;
    try {
      const v = JSON.parse(raw) as Partial<StoredRefresh>;
      if (v.v === 1 && typeof v.refreshToken === 'string' && typeof v.issuer === 'string' && typeof v.clientId === 'string') {
        registerSecret(v.refreshToken);
        return v as StoredRefresh;
      }
    } catch {
      // fall through: unusable, removed below
    }
    await this.#o.secretStore.delete(REFRESH_TOKEN_KEY).catch(() => undefined);
    return undefined;
  }

  async restore(): Promise<AuthState> {
    if (this.#state.status !== 'signed-out') return this.state();
    const stored = await this.#readStored();
    if (!stored) return this.state();
    if (stored.issuer !== this.#o.auth.issuer || stored.clientId !== this.#o.auth.clientId) {
      // Settings moved to another provider: that sign-in is useless here.
      await this.#o.secretStore.delete(REFRESH_TOKEN_KEY).catch(() => undefined);
      return this.state();
    }
    const generation = this.#generation;
    // Read again inside the refresh lock: another host may have rotated it since.
    const run = this.#serial(async () => this.#refreshWith((await this.#readStored())?.refreshToken ?? stored.refreshToken, undefined, generation));
    this.#refreshing = run;
    try {
      await run;
    } catch (err) {
      const e = mapOidcError(err, 'refresh');
      log.warn('could not restore the previous sign-in', { code: e.code });
      if (e.code === 'AUTH_SESSION_EXPIRED') await this.#o.secretStore.delete(REFRESH_TOKEN_KEY).catch(() => undefined);
      if (this.#generation === generation) {
        if (e.code === 'AUTH_PROVIDER_UNREACHABLE' && stored.user) this.#enterOffline(stored.refreshToken, stored.user);
        else this.#setState({ status: 'signed-out', error: e.toJSON() }, ['user', 'expiresAt']);
      }
    } finally {
      if (this.#refreshing === run) this.#refreshing = undefined;
    }
    return this.state();
  }

  // ---- offline session --------------------------------------------------------------

  /**
   * A restart without network: the user who signed in last is signed in *offline*. No
   * token exists, so storage cannot be read, but the app shows who is working and opens
   * what this computer holds (pinned slides, cached tiles), which is the point of pinning.
   * The saved refresh token goes online by itself once the provider answers.
   */
  #enterOffline(refreshToken: string, user: UserInfo): void {
    this.#offline = { refreshToken, timer: undefined };
    this.#setState({ status: 'signed-in', user, offline: true, warnings: [] }, ['error', 'expiresAt', 'authorizationUrl']);
    log.info('signed in offline from the saved sign-in; the sign-in service is unreachable', { sub: user.sub });
    this.#retryOnline();
  }

  #retryOnline(): void {
    const offline = this.#offline;
    if (!offline) return;
    clearTimeout(offline.timer);
    offline.timer = setTimeout(() => {
      this.#goOnline().catch(() => undefined);
    }, RETRY_RENEW_MS);
    offline.timer.unref();
  }

  /** Try the saved refresh token now; shared by concurrent callers. Unreachable: stay offline, retry later. */
  #goOnline(): Promise<Session> {
    if (this.#refreshing) return this.#refreshing;
    const offline = this.#offline;
    if (!offline) return Promise.reject(authError('AUTH_NOT_SIGNED_IN'));
    const generation = this.#generation;
    const run = this.#serial(() => this.#refreshWith(offline.refreshToken, undefined, generation))
      .then((session) => {
        this.#leaveOffline();
        log.info('back online: the saved sign-in was renewed', { sub: session.user.sub });
        return session;
      })
      .catch(async (err: unknown) => {
        const e = mapOidcError(err, 'refresh');
        if (e.code === 'AUTH_PROVIDER_UNREACHABLE') {
          this.#retryOnline();
        } else if (this.#generation === generation) {
          this.#leaveOffline();
          if (e.code === 'AUTH_SESSION_EXPIRED') await this.#endSession(e);
          else this.#setState({ status: 'signed-out', error: e.toJSON() }, ['user', 'expiresAt', 'offline']);
        }
        throw e;
      });
    return this.#shareRefresh(run);
  }

  #leaveOffline(): void {
    if (!this.#offline) return;
    clearTimeout(this.#offline.timer);
    this.#offline = undefined;
    if (this.#state.offline) this.#setState({}, ['offline']);
  }

  // ---- sign-out ---------------------------------------------------------------------

  async #revokeQuietly(cfg: oidc.Configuration, refreshToken: string | undefined, accessToken: string | undefined): Promise<void> {
    if (!cfg.serverMetadata().revocation_endpoint) {
      log.warn('the provider has no revocation endpoint; tokens stay valid until they expire');
      return;
    }
    for (const [token, hint] of [
      [refreshToken, 'refresh_token'],
      [accessToken, 'access_token'],
    ] as const) {
      if (!token) continue;
      try {
        await oidc.tokenRevocation(cfg, token, { token_type_hint: hint });
      } catch (err) {
        log.warn('token revocation failed', { hint, code: mapOidcError(err, 'revoke').code });
      }
    }
  }

  /** Drop the session locally (a refused refresh): wipe the secret, say why. */
  async #endSession(reason: AppError): Promise<void> {
    this.#leaveOffline();
    this.#generation++;
    this.#forgetResourceTokens();
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#session = undefined;
    await this.#o.secretStore.delete(REFRESH_TOKEN_KEY).catch((err: unknown) => log.error('could not delete the saved sign-in', { err }));
    this.#setState({ status: 'signed-out', error: reason.toJSON() }, ['user', 'expiresAt', 'authorizationUrl']);
  }

  async signOut(): Promise<AuthState> {
    const signing = this.#signIn;
    if (signing) {
      signing.cancel();
      await signing.promise;
    }
    if (this.#refreshing) await this.#refreshing.catch(() => undefined);
    const offlineToken = this.#offline?.refreshToken;
    this.#leaveOffline();
    this.#generation++;
    // Resource tokens are JWTs the provider cannot revoke; revoking the refresh token below
    // ends their grant, and their short lifetime bounds the rest.
    this.#forgetResourceTokens();
    clearTimeout(this.#timer);
    this.#timer = undefined;
    const s = this.#session;
    this.#session = undefined;
    const refreshToken = s?.refreshToken ?? offlineToken ?? (await this.#readStored())?.refreshToken;
    let deleteError: unknown;
    try {
      await this.#o.secretStore.delete(REFRESH_TOKEN_KEY);
    } catch (err) {
      deleteError = err;
      log.error('could not delete the saved sign-in', { err });
    }
    if (refreshToken || s) {
      let cfg: oidc.Configuration | undefined;
      try {
        cfg = await this.#config();
      } catch (err) {
        log.warn('sign-in service unreachable at sign-out; tokens could not be revoked', { code: mapOidcError(err, 'revoke').code });
      }
      if (cfg) {
        await this.#revokeQuietly(cfg, refreshToken, s?.accessToken);
        if (cfg.serverMetadata().end_session_endpoint && s?.idToken) {
          // No id_token_hint: the URL goes through the browser's command line and history, and
          // an ID token there still buys storage credentials (AssumeRoleWithWebIdentity).
          const url = oidc.buildEndSessionUrl(cfg, { client_id: this.#o.auth.clientId }).href;
          await this.#o.openBrowser(url).catch((err: unknown) => log.warn('could not open the sign-out page of the provider', { err }));
        }
      }
    }
    const patch: Partial<AuthState> = { status: 'signed-out', warnings: [] };
    if (deleteError !== undefined) {
      patch.error = authErrors.make('AUTH_SECRET_NOT_WIPED', `You are signed out, but the saved sign-in could not be removed from ${this.#o.secretStore.description}.`, {
        hint: 'It has been revoked at the sign-in service and cannot be used. Remove it by hand or ask IT.',
      }).toJSON();
    }
    this.#setState(patch, ['user', 'expiresAt', 'authorizationUrl', 'offline', ...(deleteError === undefined ? (['error'] as const) : [])]);
    log.info('signed out');
    return this.state();
  }

  /** Stop timers; for hosts shutting down (tokens stay in the secret store). */
  dispose(): void {
    this.cancelSignIn();
    clearTimeout(this.#timer);
    this.#timer = undefined;
    clearTimeout(this.#offline?.timer);
  }
}
