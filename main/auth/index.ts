/**
 * Sign-in with the organisation's OpenID Connect provider in the system browser
 * (RFC 8252 loopback redirect, RFC 7636 PKCE), token renewal, sign-out, and the secret
 * store the refresh token rests in. Tokens never leave this area except through
 * getIdToken/getAccessToken to other main-process services.
 */
export { AuthService, REFRESH_TOKEN_KEY, groupName, sameGroup, type AccessTokenSource, type AuthServiceOptions } from './service.js';
export { createSecretStore, FileSecretStore, MemorySecretStore, SECRETS_FILE_NAME, type SecretStore } from './secret-store.js';
export { authError, mapOidcError, providerHint, providerReason, type AuthErrorCode } from './errors.js';
export { lifetimeWarnings, HEALTHIMAGING_MAX_AGE_S } from './lifetimes.js';
export { LOOPBACK_BIND_ADDRESS } from './loopback.js';
