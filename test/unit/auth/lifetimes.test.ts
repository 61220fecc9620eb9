import { test } from 'node:test';
import assert from 'node:assert/strict';
import { HEALTHIMAGING_MAX_AGE_S, MAX_AGE_MARGIN_S, defaultMinValidity, lifetimeWarnings, needsRenewal, renewAt } from '../../../main/auth/lifetimes.js';
import { needsConsentPrompt } from '../../../main/auth/provider-quirks.js';

const T0 = 1_800_000_000;

test('renewal is planned at 80% of the lifetime for ordinary tokens', () => {
  assert.equal(renewAt({ iat: T0, exp: T0 + 300 }), T0 + 240);
  assert.equal(renewAt({ iat: T0, exp: T0 + 3600 }), T0 + 2880);
});

test('renewal of long-lived tokens happens before they are 12 h old (HealthImaging refuses older iat)', () => {
  const day = { iat: T0, exp: T0 + 24 * 3600 };
  assert.equal(renewAt(day), T0 + HEALTHIMAGING_MAX_AGE_S - MAX_AGE_MARGIN_S);
  assert.ok(renewAt(day) - T0 < HEALTHIMAGING_MAX_AGE_S);
});

test('needsRenewal: near expiry, or too old for HealthImaging even when exp is far away', () => {
  const t = { iat: T0, exp: T0 + 24 * 3600 };
  assert.equal(needsRenewal(t, T0 + 10, 60), false);
  assert.equal(needsRenewal(t, T0 + 24 * 3600 - 30, 60), true);
  assert.equal(needsRenewal(t, T0 + HEALTHIMAGING_MAX_AGE_S - 30, 60), true, 'iat about to be 12 h old');
  assert.equal(needsRenewal({ iat: T0, exp: T0 + 300 }, T0 + 100, 60), false);
  assert.equal(needsRenewal({ iat: T0, exp: T0 + 300 }, T0 + 250, 60), true);
});

test('default minimum validity scales down for short test lifetimes', () => {
  assert.equal(defaultMinValidity({ iat: T0, exp: T0 + 3600 }), 60);
  assert.equal(defaultMinValidity({ iat: T0, exp: T0 + 10 }), 2);
  assert.equal(defaultMinValidity({ iat: T0, exp: T0 + 3 }), 1, 'never zero: a token is not handed out at its last instant');
});

test('warnings name lifetimes that break the 12 h rule and missing refresh tokens', () => {
  const ok = lifetimeWarnings({ idToken: { iat: T0, exp: T0 + 3600 }, accessToken: { iat: T0, exp: T0 + 3600 }, hasRefreshToken: true, refreshRequested: true });
  assert.deepEqual(ok, []);

  const longNoRefresh = lifetimeWarnings({ accessToken: { iat: T0, exp: T0 + 13 * 3600 }, hasRefreshToken: false, refreshRequested: true });
  assert.equal(longNoRefresh.length, 2);
  assert.match(longNoRefresh[0] ?? '', /access tokens valid for 13 h without a way to renew/);
  assert.match(longNoRefresh[0] ?? '', /HealthImaging/);
  assert.match(longNoRefresh[1] ?? '', /no refresh token/);

  const longWithRefresh = lifetimeWarnings({ idToken: { iat: T0, exp: T0 + 24 * 3600 }, accessToken: { iat: T0, exp: T0 + 600 }, hasRefreshToken: true, refreshRequested: true });
  assert.equal(longWithRefresh.length, 1);
  assert.match(longWithRefresh[0] ?? '', /ID tokens valid for 24 h.*renews them before they are 12 h old/);

  const shortIdle = lifetimeWarnings({ accessToken: { iat: T0, exp: T0 + 3600 }, hasRefreshToken: true, refreshRequested: true, refreshExpiresIn: 600 });
  assert.equal(shortIdle.length, 1);
  assert.match(shortIdle[0] ?? '', /10 min of inactivity/);

  assert.deepEqual(lifetimeWarnings({ accessToken: { iat: T0, exp: T0 + 600 }, hasRefreshToken: false, refreshRequested: false }), []);
});

test('prompt=consent is sent for offline_access except to providers that issue refresh tokens without it', () => {
  const scopes = ['openid', 'offline_access'];
  assert.equal(needsConsentPrompt('http://127.0.0.1:4000', scopes), true, 'oidc-provider drops offline_access without consent');
  assert.equal(needsConsentPrompt('http://127.0.0.1:4000', ['openid', 'profile']), false);
  assert.equal(needsConsentPrompt('https://login.microsoftonline.com/tenant/v2.0', scopes), false);
  assert.equal(needsConsentPrompt('https://acme.okta.com/oauth2/default', scopes), false);
  assert.equal(needsConsentPrompt('https://sso.example.org/realms/pathology', scopes), false);
  assert.equal(needsConsentPrompt('https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_abc', scopes), false);
});
