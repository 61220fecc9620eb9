/**
 * The test IdP on its own, driven by real Chromium and openid-client: the behaviour the
 * sign-in code relies on (loopback any port, PKCE required, refresh rotation, groups in the
 * ID token, cancel, wrong password, revocation, end-session, signJwt, short TTLs).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as client from 'openid-client';
import { createLocalJWKSet, decodeJwt, jwtVerify } from 'jose';
import type { Browser } from 'playwright-core';
import { startIdp, DEMO_USERS, type RunningIdp } from '../../stack/idp.js';
import { completeLogin, launchChromium } from '../../stack/browser-login.js';
import { buildLogin, denyViaBrowser, discover, loginViaBrowser } from '../../stack/test-client.js';

const [alice, bob, carol] = DEMO_USERS as [(typeof DEMO_USERS)[0], (typeof DEMO_USERS)[0], (typeof DEMO_USERS)[0]];

describe('test identity provider', () => {
  let idp: RunningIdp;
  let browser: Browser;

  before(async () => {
    idp = await startIdp({ ttl: { idToken: 45, accessToken: 30 }, extraRedirectUris: ['http://localhost:53682/callback'] });
    browser = await launchChromium();
  });
  after(async () => {
    await browser?.close();
    await idp?.stop();
  });

  async function freshPage() {
    const ctx = await browser.newContext();
    return { page: await ctx.newPage(), close: () => ctx.close() };
  }

  it('signs alice in through the login page and puts groups, name and email in the ID token', async () => {
    const { page, close } = await freshPage();
    try {
      const { tokens } = await loginViaBrowser(page, idp.issuer, idp.clientId, alice);
      const claims = decodeJwt(tokens.id_token!);
      assert.equal(claims.sub, 'alice');
      assert.equal(claims.iss, idp.issuer);
      assert.equal(claims.aud, 'pathology-desktop');
      assert.deepEqual(claims.groups, ['pathology']);
      assert.equal(claims.name, alice.name);
      assert.equal(claims.email, alice.email);
      assert.equal(claims.exp! - claims.iat!, 45, 'ID token lifetime follows ttl.idToken');
      assert.equal(tokens.expires_in, 30, 'access token lifetime follows ttl.accessToken');
      assert.ok(tokens.refresh_token, 'offline_access without an explicit prompt still yields a refresh token');
      // The ID token verifies against the published public key set.
      const verified = await jwtVerify(tokens.id_token!, createLocalJWKSet(idp.jwks as Parameters<typeof createLocalJWKSet>[0]), { issuer: idp.issuer, audience: idp.clientId });
      assert.equal(verified.payload.sub, 'alice');
      assert.equal(JSON.stringify(idp.jwks).includes('"d"'), false, 'the published key set has no private members');
    } finally {
      await close();
    }
  });

  it('a second sign-in in the same browser reuses the IdP session without showing the form', async () => {
    const { page, close } = await freshPage();
    try {
      await loginViaBrowser(page, idp.issuer, idp.clientId, bob);
      let formShown = false;
      // The login form is the only interaction page answered with 200; consent is a redirect.
      page.on('response', (r) => {
        if (r.request().isNavigationRequest() && r.request().method() === 'GET' && /\/interaction\/[^/]+$/.test(new URL(r.url()).pathname) && r.status() === 200) formShown = true;
      });
      const { tokens } = await loginViaBrowser(page, idp.issuer, idp.clientId, bob);
      assert.equal(decodeJwt(tokens.id_token!).sub, 'bob');
      assert.equal(formShown, false, 'no login form the second time');
    } finally {
      await close();
    }
  });

  it('rotates refresh tokens; a replayed one is refused and revokes the grant', async () => {
    const { page, close } = await freshPage();
    try {
      const { tokens, config } = await loginViaBrowser(page, idp.issuer, idp.clientId, bob);
      const refreshed = await client.refreshTokenGrant(config, tokens.refresh_token!);
      assert.notEqual(refreshed.refresh_token, tokens.refresh_token);
      assert.deepEqual(decodeJwt(refreshed.id_token!).groups, ['research']);
      const again = await client.refreshTokenGrant(config, refreshed.refresh_token!);
      assert.ok(again.access_token);
      const invalidGrant = (err: unknown): boolean => {
        assert.equal((err as { error?: string }).error, 'invalid_grant');
        return true;
      };
      await assert.rejects(client.refreshTokenGrant(config, tokens.refresh_token!), invalidGrant);
      // Reuse detection: replaying a used refresh token revokes the whole grant, the newest token included.
      await assert.rejects(client.refreshTokenGrant(config, again.refresh_token!), invalidGrant);
    } finally {
      await close();
    }
  });

  it('revokes a refresh token', async () => {
    const { page, close } = await freshPage();
    try {
      const { tokens, config } = await loginViaBrowser(page, idp.issuer, idp.clientId, alice);
      await client.tokenRevocation(config, tokens.refresh_token!, { token_type_hint: 'refresh_token' });
      await assert.rejects(client.refreshTokenGrant(config, tokens.refresh_token!), (err: unknown) => {
        assert.equal((err as { error?: string }).error, 'invalid_grant');
        return true;
      });
    } finally {
      await close();
    }
  });

  it('Cancel ends the sign-in with error=access_denied at the redirect URI', async () => {
    const { page, close } = await freshPage();
    try {
      const cb = await denyViaBrowser(page, idp.issuer, idp.clientId, carol);
      assert.equal(cb.searchParams.get('error'), 'access_denied');
      assert.equal(cb.searchParams.get('code'), null);
      assert.equal(cb.searchParams.get('iss'), idp.issuer);
    } finally {
      await close();
    }
  });

  it('a wrong password keeps the user on the login page with a clear message', async () => {
    const { page, close } = await freshPage();
    try {
      const config = await discover(idp.issuer, idp.clientId);
      const req = await buildLogin(config, 'http://127.0.0.1:9/callback');
      await assert.rejects(completeLogin(page, req.url.href, { ...alice, password: 'not-her-password' }), /Wrong user name or password/);
      assert.equal(await page.getAttribute('input[name=username]', 'value'), 'alice');
    } finally {
      await close();
    }
  });

  it('enforces PKCE S256 and the registered loopback redirect', async () => {
    const config = await discover(idp.issuer, idp.clientId);
    const meta = config.serverMetadata();
    assert.deepEqual(meta.code_challenge_methods_supported, ['S256']);
    assert.ok(meta.revocation_endpoint && meta.end_session_endpoint);
    const base = { client_id: idp.clientId, response_type: 'code', scope: 'openid', state: 's1' };
    const probe = async (params: Record<string, string>) => {
      const res = await fetch(`${meta.authorization_endpoint}?${new URLSearchParams({ ...base, ...params })}`, { redirect: 'manual' });
      return { status: res.status, location: res.headers.get('location') ?? '', body: res.status === 200 || res.status === 400 ? await res.text() : '' };
    };
    const noPkce = await probe({ redirect_uri: 'http://127.0.0.1:40000/callback' });
    assert.match(noPkce.location, /error=invalid_request/);
    assert.match(decodeURIComponent(noPkce.location), /PKCE/);
    const plain = await probe({ redirect_uri: 'http://127.0.0.1:40000/callback', code_challenge: 'a'.repeat(43), code_challenge_method: 'plain' });
    assert.match(plain.location, /error=invalid_request/);
    // Any loopback port on 127.0.0.1 is accepted (RFC 8252 §7.3): the login interaction starts.
    for (const port of [40000, 51234]) {
      const ok = await probe({ redirect_uri: `http://127.0.0.1:${port}/callback`, code_challenge: 'a'.repeat(43), code_challenge_method: 'S256' });
      assert.equal(ok.status, 303);
      assert.match(ok.location, /\/interaction\//);
    }
    // localhost only where registered exactly; other hosts and paths are refused with an error page.
    const localhostExact = await probe({ redirect_uri: 'http://localhost:53682/callback', code_challenge: 'a'.repeat(43), code_challenge_method: 'S256' });
    assert.match(localhostExact.location, /\/interaction\//);
    const localhostOther = await probe({ redirect_uri: 'http://localhost:53683/callback', code_challenge: 'a'.repeat(43), code_challenge_method: 'S256' });
    assert.equal(localhostOther.status, 400);
    assert.match(localhostOther.body, /redirect_uri/);
    const wrongPath = await probe({ redirect_uri: 'http://127.0.0.1:40000/other', code_challenge: 'a'.repeat(43), code_challenge_method: 'S256' });
    assert.equal(wrongPath.status, 400);
    assert.doesNotMatch(wrongPath.body, /googleapis|https:\/\//, 'error pages load nothing from the internet');
  });

  it('end_session signs the browser out without a click', async () => {
    const { page, close } = await freshPage();
    try {
      const { tokens, config } = await loginViaBrowser(page, idp.issuer, idp.clientId, alice);
      const url = client.buildEndSessionUrl(config, { id_token_hint: tokens.id_token! });
      await page.goto(url.href);
      await page.waitForSelector('[data-signed-out]');
      // The session is gone: a new authorization request shows the login form again.
      const req = await buildLogin(config, 'http://127.0.0.1:9/callback');
      await page.goto(req.url.href);
      await page.waitForSelector('input[name=username]');
    } finally {
      await close();
    }
  });

  it('signJwt signs arbitrary claims with the IdP key', async () => {
    const token = await idp.signJwt({ iss: idp.issuer, aud: 'someone-else', sub: 'alice', iat: 1, exp: 2 });
    const keys = createLocalJWKSet(idp.jwks as Parameters<typeof createLocalJWKSet>[0]);
    const { payload, protectedHeader } = await jwtVerify(token, keys, { currentDate: new Date(1500) });
    assert.equal(protectedHeader.alg, 'RS256');
    assert.equal(payload.aud, 'someone-else');
    assert.equal(payload.iat, 1);
  });
});
