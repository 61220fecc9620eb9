/**
 * Short-lived storage credentials, as every storage client in main sees them. They live
 * in main-process memory only: never written to disk, never logged (the secret parts are
 * registered for redaction the moment they arrive), never sent to the renderer (which
 * gets `CredentialsInfo`: who and until when).
 */
import type { CredentialsInfo } from '../common/api-types.js';

export interface TemporaryCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken: string;
  expiration: Date;
}

export interface GetCredentialsOptions {
  /** Credentials must stay valid at least this long; else they are renewed first. */
  minValiditySeconds?: number;
  signal?: AbortSignal;
  /**
   * Storage refused these credentials (ExpiredToken, InvalidToken). Renew unless that
   * already happened: every request refused with the same credentials shares ONE renewal.
   */
  rejected?: TemporaryCredentials;
}

export interface CredentialProvider {
  get(opts?: GetCredentialsOptions): Promise<TemporaryCredentials>;
  /** Identity and expiry for the UI; null before the first successful get(). */
  info(): CredentialsInfo | null;
  /** Forget the credentials (sign-out, another user); the next get() asks STS again. */
  invalidate(): void;
  /** Called after each renewal and after invalidate() (with null). */
  onChange?(listener: (info: CredentialsInfo | null) => void): () => void;
}

/** What the STS provider needs from the sign-in: a token to exchange and who the user is. */
export interface WebIdentitySource {
  getIdToken(opts?: { minValiditySeconds?: number; forceRefresh?: boolean }): Promise<string>;
  getAccessToken(opts?: { minValiditySeconds?: number; forceRefresh?: boolean }): Promise<string>;
  user(): { sub: string; name?: string; email?: string } | undefined;
}
