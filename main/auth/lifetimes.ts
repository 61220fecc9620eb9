/**
 * Pure rules about token times: when to renew, and when the provider's lifetimes break
 * rules of services we hand tokens to. AWS HealthImaging refuses a token whose `iat` is
 * more than 12 hours old, even if `exp` is still in the future, so a token is renewed
 * before it is 12 hours old as well as before it expires.
 */

export const HEALTHIMAGING_MAX_AGE_S = 12 * 60 * 60;
/** Renew this long before the 12-hour age limit, so a request in flight never crosses it. */
export const MAX_AGE_MARGIN_S = 30 * 60;
/** Renew at this fraction of a token's lifetime. */
export const RENEW_AT_FRACTION = 0.8;

export interface TokenTimes {
  /** Seconds since epoch, from the token (or the response time when the token is opaque). */
  iat: number;
  exp: number;
}

/** When (seconds since epoch) the proactive renewal should run for a token. */
export function renewAt(t: TokenTimes): number {
  const lifetime = Math.max(0, t.exp - t.iat);
  return t.iat + Math.min(lifetime * RENEW_AT_FRACTION, HEALTHIMAGING_MAX_AGE_S - MAX_AGE_MARGIN_S);
}

/** The default "still valid for at least" margin asked of getIdToken/getAccessToken. */
export function defaultMinValidity(t: TokenTimes): number {
  return Math.min(60, Math.ceil(Math.max(0, t.exp - t.iat) * (1 - RENEW_AT_FRACTION) - 1e-9));
}

/** Whether a token must be renewed before use at `now` (seconds), given a wanted remaining validity. */
export function needsRenewal(t: TokenTimes, now: number, minValiditySeconds: number): boolean {
  if (t.exp - now < minValiditySeconds) return true;
  return now - t.iat > HEALTHIMAGING_MAX_AGE_S - minValiditySeconds;
}

export interface LifetimeFacts {
  idToken?: TokenTimes;
  accessToken?: TokenTimes;
  hasRefreshToken: boolean;
  /** Whether offline_access was asked for (then a missing refresh token is the provider's doing). */
  refreshRequested: boolean;
  /** Seconds, when the provider says (Keycloak's refresh_expires_in). */
  refreshExpiresIn?: number;
}

function hours(s: number): string {
  const h = s / 3600;
  return h >= 1 ? `${Math.round(h * 10) / 10} h` : `${Math.round(s / 60)} min`;
}

/** Warnings for the UI (and for IT) about lifetimes that break known service rules. */
export function lifetimeWarnings(f: LifetimeFacts): string[] {
  const out: string[] = [];
  const max = HEALTHIMAGING_MAX_AGE_S;
  for (const [label, t] of [['ID token', f.idToken], ['access token', f.accessToken]] as const) {
    if (!t) continue;
    const lifetime = t.exp - t.iat;
    if (lifetime > max) {
      out.push(
        f.hasRefreshToken
          ? `The sign-in service issues ${label}s valid for ${hours(lifetime)}. AWS HealthImaging refuses tokens issued more than 12 h ago, so the workstation renews them before they are 12 h old. IT: a lifetime of 12 h or less avoids surprises with other tools.`
          : `The sign-in service issues ${label}s valid for ${hours(lifetime)} without a way to renew them. AWS HealthImaging refuses tokens issued more than 12 h ago, so DICOMweb slides stop opening 12 h after sign-in. IT: allow refresh tokens (offline_access) or shorten the lifetime to 12 h.`,
      );
    }
  }
  if (!f.hasRefreshToken && f.refreshRequested) {
    out.push('The sign-in service did not allow the workstation to stay signed in (no refresh token). You will have to sign in again when the sign-in expires. IT: allow the offline_access scope for this client.');
  }
  if (f.hasRefreshToken && f.refreshExpiresIn !== undefined && f.accessToken && f.refreshExpiresIn > 0) {
    const access = f.accessToken.exp - f.accessToken.iat;
    if (f.refreshExpiresIn < access) {
      out.push(`The sign-in service lets sessions lapse after ${hours(f.refreshExpiresIn)} of inactivity, shorter than one access token (${hours(access)}). Expect to sign in again often.`);
    }
  }
  return out;
}
