/**
 * The sign-in error codes and the one place that maps openid-client / oauth4webapi /
 * network failures onto them. Messages are for a pathologist (what happened, what to
 * do); hints are for whoever has to fix it (usually IT). Codes:
 *
 * AUTH_STATE_MISMATCH      callback's `state` missing or not ours (CSRF / stale tab)
 * AUTH_NONCE_MISMATCH      ID token `nonce` is not the one we sent (code injection)
 * AUTH_CODE_REJECTED       the provider refused the code (replayed, expired, PKCE)
 * AUTH_ISSUER_MISMATCH     discovery or `iss` names a different issuer than configured
 * AUTH_TOKEN_EXPIRED       a token is expired / not yet valid (clock or lifetime)
 * AUTH_PROVIDER_UNREACHABLE network failure, timeout, or a non-OIDC answer
 * AUTH_CANCELLED           `error=access_denied` from the provider, or the user cancelled
 * AUTH_TIMEOUT             nothing came back from the browser in time
 * AUTH_SESSION_EXPIRED     the refresh token was refused: sign in again
 * AUTH_INSECURE_ISSUER     http:// issuer without auth.allowInsecureIssuer
 * AUTH_PROVIDER_ERROR      any other error the provider returned
 * AUTH_PORT_IN_USE         the fixed loopback port is taken
 * AUTH_NOT_SIGNED_IN       a token was asked for while signed out
 * AUTH_RESOURCE_REFUSED    the provider will not issue a token for a resource (RFC 8707 invalid_target)
 * AUTH_RESOURCE_UNAVAILABLE a resource token needs a refresh token and the provider gave none
 * AUTH_REFRESH_BUSY        another program on this data folder holds the refresh lock and does not finish
 * AUTH_FAILED              anything else (a bug, or a provider quirk we do not know)
 */
import * as oidc from 'openid-client';
import { AppError, errorTable, isAbortError, type ErrorEntry } from '../common/errors.js';
import { isNetworkError } from '../common/network.js';

export type AuthErrorCode =
  | 'AUTH_STATE_MISMATCH'
  | 'AUTH_NONCE_MISMATCH'
  | 'AUTH_CODE_REJECTED'
  | 'AUTH_ISSUER_MISMATCH'
  | 'AUTH_TOKEN_EXPIRED'
  | 'AUTH_PROVIDER_UNREACHABLE'
  | 'AUTH_CANCELLED'
  | 'AUTH_TIMEOUT'
  | 'AUTH_SESSION_EXPIRED'
  | 'AUTH_INSECURE_ISSUER'
  | 'AUTH_PROVIDER_ERROR'
  | 'AUTH_PORT_IN_USE'
  | 'AUTH_NOT_SIGNED_IN'
  | 'AUTH_RESOURCE_REFUSED'
  | 'AUTH_RESOURCE_UNAVAILABLE'
  | 'AUTH_REFRESH_BUSY'
  | 'AUTH_FAILED'
  | 'AUTH_NOT_CONFIGURED'
  | 'AUTH_SECRET_NOT_WIPED'
  | 'SECRETS_KEYRING_FAILED';

const TEXT: Record<AuthErrorCode, ErrorEntry> = {
  AUTH_STATE_MISMATCH: {
    kind: 'signin-needed',
    message: 'The sign-in was stopped because the answer in the browser did not belong to the sign-in started here.',
    hint: 'Start the sign-in again from the workstation and finish it in the browser tab it opens. If this keeps happening, tell IT: something may be tampering with sign-in links.',
    retryable: true,
  },
  AUTH_NONCE_MISMATCH: {
    kind: 'signin-needed',
    message: 'The sign-in was stopped because the identity returned by the sign-in service did not match this sign-in.',
    hint: 'Start the sign-in again. If this keeps happening, tell IT: it can mean a sign-in link from another session was used.',
    retryable: true,
  },
  AUTH_CODE_REJECTED: {
    kind: 'signin-needed',
    message: 'The sign-in service refused to complete this sign-in (the one-time sign-in code was already used or has expired).',
    hint: 'Start the sign-in again and finish it within a few minutes.',
    retryable: true,
  },
  AUTH_ISSUER_MISMATCH: {
    kind: 'invalid-input',
    message: 'The sign-in service answered as a different organisation than the one this workstation is set up for.',
    hint: 'IT: check auth.issuer; it must be exactly the issuer URL the provider publishes in its discovery document.',
    retryable: false,
  },
  AUTH_TOKEN_EXPIRED: {
    kind: 'signin-needed',
    message: 'The sign-in service issued a sign-in that is already expired or not yet valid.',
    hint: "Check that this computer's date, time and time zone are correct, then sign in again.",
    retryable: true,
  },
  AUTH_PROVIDER_UNREACHABLE: {
    kind: 'unreachable',
    message: "The organisation's sign-in service cannot be reached.",
    hint: 'Check the network connection (VPN, Wi-Fi) and try again. If other people cannot sign in either, tell IT.',
    retryable: true,
  },
  AUTH_CANCELLED: {
    kind: 'cancelled',
    message: 'The sign-in was cancelled.',
    hint: 'Click "Sign in" to try again. If the sign-in page refused access, ask IT to give you access to the workstation.',
    retryable: true,
  },
  AUTH_TIMEOUT: {
    kind: 'signin-needed',
    message: 'The sign-in took too long and was stopped.',
    hint: 'Click "Sign in" again and complete the sign-in in the browser window that opens.',
    retryable: true,
  },
  AUTH_SESSION_EXPIRED: {
    kind: 'signin-needed',
    message: 'Your session has ended. Please sign in again.',
    hint: 'This happens after a long time away, after signing out elsewhere, or when IT ends sessions.',
    retryable: false,
  },
  AUTH_INSECURE_ISSUER: {
    kind: 'invalid-input',
    message: 'The sign-in service is set up with an unencrypted (http://) address, which is not allowed.',
    hint: 'IT: use the https:// issuer URL. auth.allowInsecureIssuer exists only for local test environments.',
    retryable: false,
  },
  AUTH_PROVIDER_ERROR: {
    kind: 'internal',
    message: 'The sign-in service reported an error.',
    hint: 'Try again. If it keeps failing, tell IT and quote the error code shown in the details.',
    retryable: true,
  },
  AUTH_PORT_IN_USE: {
    kind: 'conflict',
    message: 'The workstation cannot receive the sign-in because another program is using its sign-in port.',
    hint: 'Close other copies of the workstation and try again. IT: auth.redirect.port is fixed; choose a free port or 0.',
    retryable: true,
  },
  AUTH_NOT_SIGNED_IN: {
    kind: 'signin-needed',
    message: 'You are not signed in.',
    hint: 'Click "Sign in".',
    retryable: false,
  },
  AUTH_RESOURCE_REFUSED: {
    kind: 'denied',
    message: 'The sign-in service will not give this workstation access to the image archive.',
    hint: 'Sign out and sign in again (the sign-in asks for every configured archive). If it persists, IT: register the archive\'s resource indicator (storage.dicomweb[].resource) for this client at the identity provider.',
    retryable: false,
  },
  AUTH_RESOURCE_UNAVAILABLE: {
    kind: 'unsupported',
    message: 'The image archive needs its own access token, and the sign-in service did not allow the workstation to stay signed in (no refresh token), so it cannot get one.',
    hint: 'IT: allow the offline_access scope (refresh tokens) for this client, or let the archive accept the sign-in\'s own access token and remove storage.dicomweb[].resource.',
    retryable: false,
  },
  AUTH_REFRESH_BUSY: {
    kind: 'busy',
    message: 'Another program on this computer is renewing your sign-in and has not finished.',
    hint: 'Wait a moment and try again. If it persists, close other copies of the workstation and slide-workstation commands (the process number is in the details).',
    retryable: true,
  },
  AUTH_FAILED: {
    kind: 'internal',
    message: 'The sign-in failed for an unexpected reason.',
    hint: 'Try again. If it keeps failing, send the log file to IT.',
    retryable: true,
  },
  AUTH_NOT_CONFIGURED: {
    kind: 'invalid-input',
    message: 'Sign-in is not set up on this workstation.',
    hint: 'IT: set auth.issuer to the OpenID Connect issuer URL of the organisation.',
  },
  AUTH_SECRET_NOT_WIPED: {
    kind: 'internal',
    message: 'You are signed out, but the saved sign-in could not be removed from this computer.',
    hint: 'It has been revoked at the sign-in service and cannot be used. Remove it by hand or ask IT.',
  },
  SECRETS_KEYRING_FAILED: {
    kind: 'denied',
    message: 'The system keyring could not keep the saved sign-in.',
    hint: 'Unlock the keyring (log out and in again), or ask IT to set secrets.store to "file".',
  },
};

/** The sign-in table: every AUTH_* code with its kind and words. */
export const authErrors = errorTable<AuthErrorCode>('auth', TEXT);

export function authError(code: AuthErrorCode, options: { cause?: unknown; details?: Record<string, unknown>; message?: string } = {}): AppError {
  return authErrors.make(code, options);
}

/**
 * The provider's own reason, quoted (RFC 6749 §5.2 `error` and `error_description`), so the
 * page, the CLI, the UI and the log say what the provider said; with a hint for IT where the
 * error is a known misconfiguration. The description is the provider's text: it is
 * truncated and stripped of control characters, never interpreted.
 */
export function providerReason(error: string, description: string | undefined): string {
  // eslint-disable-next-line no-control-regex -- stripping control characters is the point
  const clean = (s: string): string => s.replace(/[\u0000-\u001f\u007f]+/g, ' ').slice(0, 300).trim();
  const d = description ? clean(description) : '';
  return d ? `${d} (${clean(error)})` : clean(error);
}

/** Hints for provider errors that mean one known setting is wrong, keyed by what the provider said. */
export function providerHint(error: string, description: string | undefined, scopes: readonly string[] = []): string | undefined {
  const d = (description ?? '').toLowerCase();
  if (error === 'not_allowed' && (d.includes('offline') || scopes.includes('offline_access'))) {
    return 'IT: the workstation asks for offline_access (to stay signed in) and the provider does not allow it for this user. Give the users the offline_access role (Keycloak: Realm settings → User registration → Default roles, or Role mapping of the users or their group), or remove offline_access from auth.scopes (the workstation then signs in again when the session ends).';
  }
  if (error === 'invalid_redirect_uri' || (error === 'invalid_request' && d.includes('redirect'))) {
    return 'IT: register the loopback redirect for this client. Keycloak: Valid redirect URIs http://127.0.0.1/* ; oidc-provider and Okta (native app): http://127.0.0.1/callback (any port); Entra ID (mobile and desktop): http://localhost with auth.redirect.host localhost; Cognito: the exact URI with a fixed auth.redirect.port.';
  }
  if (error === 'invalid_scope') {
    return 'IT: every scope in auth.scopes must exist for this client at the provider (Keycloak: Client scopes of the client, default or optional). Remove the unknown one from auth.scopes or add it at the provider.';
  }
  if (d.includes('code_challenge') || d.includes('pkce')) {
    return 'IT: the workstation always uses PKCE with S256. Set the client to accept S256 (Keycloak: Advanced → Proof Key for Code Exchange Code Challenge Method = S256), not plain.';
  }
  if (error === 'unauthorized_client') {
    return 'IT: the client is not allowed this grant. It must be a public client with the authorization code flow (Keycloak: Client authentication off, Standard flow on).';
  }
  return undefined;
}

function providerError(code: 'AUTH_PROVIDER_ERROR' | 'AUTH_CANCELLED', err: unknown, error: string, description: string | undefined, details: Record<string, unknown>): AppError {
  const t = TEXT[code];
  const hint = providerHint(error, description);
  return new AppError(code, `${t.message.replace(/\.$/, '')}: ${providerReason(error, description)}.`, {
    hint: hint ?? t.hint,
    retryable: hint ? false : t.retryable,
    cause: err,
    details,
  });
}

/** Which operation failed decides what `invalid_grant` means. */
export type AuthOperation = 'discovery' | 'code' | 'refresh' | 'revoke';


function causeChain(err: unknown): unknown[] {
  const out: unknown[] = [];
  let cur: unknown = err;
  for (let i = 0; i < 6 && cur !== undefined && cur !== null; i++) {
    out.push(cur);
    cur = (cur as { cause?: unknown }).cause;
  }
  return out;
}

/** The one network test, plus oauth4webapi's own names for a timed-out or aborted request. */
function isNetworkFailure(err: unknown): boolean {
  if (isNetworkError(err)) return true;
  return causeChain(err).some((e) => {
    const code = (e as { code?: unknown } | null)?.code;
    return code === 'OAUTH_TIMEOUT' || code === 'OAUTH_ABORT';
  });
}

/** The oauth4webapi "cause" object of an OperationProcessingError carries the claim / attribute name. */
function failedField(err: unknown): string | undefined {
  for (const e of causeChain(err)) {
    if (typeof e !== 'object' || e === null) continue;
    const { claim, attribute } = e as { claim?: unknown; attribute?: unknown };
    if (typeof claim === 'string') return claim;
    if (typeof attribute === 'string') return attribute;
  }
  return undefined;
}

function oauthCode(err: unknown): string | undefined {
  for (const e of causeChain(err)) {
    const code = (e as { code?: unknown } | null)?.code;
    if (typeof code === 'string' && code.startsWith('OAUTH_')) return code;
  }
  return undefined;
}

/** Map anything thrown by openid-client (or fetch under it) to an AUTH_* AppError. */
export function mapOidcError(err: unknown, op: AuthOperation): AppError {
  if (err instanceof AppError) return err;
  if (err instanceof oidc.ResponseBodyError) {
    const details = { status: err.status, error: err.error, ...(err.error_description ? { error_description: err.error_description } : {}) };
    if (err.error === 'invalid_grant') return authError(op === 'refresh' ? 'AUTH_SESSION_EXPIRED' : 'AUTH_CODE_REJECTED', { cause: err, details });
    // RFC 8707 §2: the provider does not know the resource, or not for this client or grant.
    if (err.error === 'invalid_target') return authError('AUTH_RESOURCE_REFUSED', { cause: err, details });
    if (err.status >= 500) return authError('AUTH_PROVIDER_UNREACHABLE', { cause: err, details });
    return providerError('AUTH_PROVIDER_ERROR', err, err.error, err.error_description, details);
  }
  if (err instanceof oidc.AuthorizationResponseError) {
    const details = { error: err.error, ...(err.error_description ? { error_description: err.error_description } : {}) };
    if (err.error === 'access_denied') return authError('AUTH_CANCELLED', { cause: err, details });
    return providerError('AUTH_PROVIDER_ERROR', err, err.error, err.error_description, details);
  }
  if (isNetworkFailure(err)) return authError('AUTH_PROVIDER_UNREACHABLE', { cause: err });
  if (isAbortError(err)) return authError('AUTH_PROVIDER_UNREACHABLE', { cause: err });
  const code = oauthCode(err);
  const field = failedField(err);
  // openid-client wraps oauth4webapi's error; the specific words are in the inner message.
  const message = causeChain(err)
    .map((e) => (e instanceof Error ? e.message : ''))
    .join(' | ');
  switch (code) {
    case 'OAUTH_HTTP_REQUEST_FORBIDDEN':
      return authError('AUTH_INSECURE_ISSUER', { cause: err });
    case 'OAUTH_JSON_ATTRIBUTE_COMPARISON_FAILED':
      if (field === 'issuer') return authError('AUTH_ISSUER_MISMATCH', { cause: err, details: { where: 'discovery' } });
      break;
    case 'OAUTH_JWT_CLAIM_COMPARISON_FAILED':
      if (field === 'nonce') return authError('AUTH_NONCE_MISMATCH', { cause: err });
      if (field === 'iss') return authError('AUTH_ISSUER_MISMATCH', { cause: err, details: { where: 'id_token' } });
      break;
    case 'OAUTH_JWT_TIMESTAMP_CHECK_FAILED':
      return authError('AUTH_TOKEN_EXPIRED', { cause: err, details: { claim: field } });
    case 'OAUTH_RESPONSE_IS_NOT_CONFORM':
    case 'OAUTH_RESPONSE_IS_NOT_JSON':
      // A proxy error page, a 404 for the discovery URL, a captive portal: no usable provider there.
      return authError('AUTH_PROVIDER_UNREACHABLE', { cause: err, details: { reason: 'the address did not answer like an OpenID Connect provider' } });
    case 'OAUTH_INVALID_RESPONSE':
      if (/"iss"/.test(message)) return authError('AUTH_ISSUER_MISMATCH', { cause: err, details: { where: 'authorization response' } });
      if (/"state"/.test(message)) return authError('AUTH_STATE_MISMATCH', { cause: err });
      break;
    default:
      break;
  }
  return authError('AUTH_FAILED', { cause: err, details: { operation: op, ...(code ? { code } : {}) } });
}
