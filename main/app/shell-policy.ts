/**
 * The security decisions the Electron shell makes, as pure functions under plain Node so
 * they are unit-tested here although Electron cannot run on the build machines.
 */

/** The privileged scheme the renderer bundle and tiles are served from. */
export const APP_SCHEME = 'wsi';
export const APP_ORIGIN = 'wsi://app';
export const APP_ENTRY = `${APP_ORIGIN}/index.html`;

/**
 * shell.openExternal is allowed only for the identity provider's pages: the issuer's
 * origin and the origins of its discovered authorization and end-session endpoints
 * (`providerOrigins`; Cognito serves them from another host than the issuer). https, or
 * plain http when the settings allow an insecure test issuer on a loopback address.
 * Anything else (file:, javascript:, smb:, another host) is refused.
 */
export function isAllowedExternalUrl(url: string, issuer: string, allowInsecureIssuer: boolean, providerOrigins: readonly string[] = []): boolean {
  let target: URL;
  let idp: URL;
  try {
    target = new URL(url);
    idp = new URL(issuer);
  } catch {
    return false;
  }
  if (target.username || target.password) return false;
  if (target.origin !== idp.origin && !providerOrigins.includes(target.origin)) return false;
  if (target.protocol === 'https:') return true;
  return target.protocol === 'http:' && allowInsecureIssuer && (target.hostname === '127.0.0.1' || target.hostname === 'localhost' || target.hostname === '[::1]');
}

/** An IPC message is answered only when it comes from the app's own top-level document. */
export function isTrustedSender(frameUrl: string | undefined, isMainFrame: boolean): boolean {
  if (!isMainFrame || !frameUrl) return false;
  try {
    const u = new URL(frameUrl);
    return u.protocol === `${APP_SCHEME}:` && u.host === 'app';
  } catch {
    return false;
  }
}

/** Navigation inside the window: only the app's own entry document (a reload). */
export function isAllowedNavigation(url: string): boolean {
  try {
    const u = new URL(url);
    return u.protocol === `${APP_SCHEME}:` && u.host === 'app' && (u.pathname === '/' || u.pathname === '/index.html');
  } catch {
    return false;
  }
}

/** Requests the window's session may make: its own scheme and DevTools only; no direct network. */
export function isAllowedRequest(url: string): boolean {
  return url.startsWith(`${APP_ORIGIN}/`) || url.startsWith('devtools://');
}
