/**
 * Provider differences the sign-in must know about. Kept to facts we can name, each
 * with the reason; see docs/decisions/0401-auth-sign-in.md.
 */

/**
 * OpenID Connect Core §11: a client asking for `offline_access` MUST send
 * `prompt=consent`, and spec-strict providers (oidc-provider, the test stack's IdP)
 * silently drop `offline_access` without it, so no refresh token is issued. Providers
 * that issue refresh tokens for `offline_access` anyway, and would otherwise show their
 * consent screen at every sign-in, are listed by host/path and get no prompt.
 */
const NO_CONSENT_PROMPT: Array<(u: URL) => boolean> = [
  (u) => u.hostname === 'login.microsoftonline.com' || u.hostname.endsWith('.ciamlogin.com'), // Entra ID
  (u) => /\.(okta|oktapreview|okta-emea)\.com$/.test(u.hostname), // Okta
  (u) => /^cognito-idp\.[a-z0-9-]+\.amazonaws\.com$/.test(u.hostname), // Cognito
  (u) => /\/realms\/[^/]+\/?$/.test(u.pathname), // Keycloak
  (u) => u.hostname === 'accounts.google.com', // Google: uses access_type=offline instead
];

export function needsConsentPrompt(issuer: string, scopes: readonly string[]): boolean {
  if (!scopes.includes('offline_access')) return false;
  let url: URL;
  try {
    url = new URL(issuer);
  } catch {
    return true;
  }
  return !NO_CONSENT_PROMPT.some((match) => match(url));
}
