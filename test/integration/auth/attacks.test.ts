/**
 * Attack and fault cases of the sign-in, each against the real IdP and Chromium, each
 * asserting the error code the user sees AND that the app holds and stored no token.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import * as oidc from 'openid-client';
import { startIdp, type RunningIdp } from '../../stack/idp.js';
import { alice, assertNoTokens, closeBrowser, loginAndCapture, loginAs, makeService, storedRefreshToken, waitForState } from './helpers.js';

let idp: RunningIdp;
before(async () => {
  idp = await startIdp();
});
after(async () => {
  await closeBrowser();
  await idp.stop();
});

/** GET a URL on the loopback listener like a browser would; resolves with status and page, or the socket error. */
async function hit(url: string): Promise<{ status: number; body: string } | { error: string }> {
  try {
    const r = await fetch(url, { redirect: 'manual' });
    return { status: r.status, body: await r.text() };
  } catch (err) {
    const cause = (err as { cause?: { code?: string } }).cause;
    return { error: cause?.code ?? String(err) };
  }
}

function portRefused(port: number, host = '127.0.0.1'): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ host, port });
    s.on('connect', () => {
      s.destroy();
      resolve(false);
    });
    s.on('error', () => resolve(true));
  });
}

function redirectOf(authUrl: string): URL {
  return new URL(new URL(authUrl).searchParams.get('redirect_uri')!);
}

test('state mismatch: a forged callback is refused with a page, the sign-in fails, and the real login cannot complete afterwards', async (t) => {
  let page: { status: number; body: string } | { error: string } | undefined;
  let authUrl = '';
  const h = makeService(idp.issuer, async (url) => {
    authUrl = url;
    const cb = new URL(redirectOf(url));
    cb.search = new URLSearchParams({ code: 'attacker-code', state: 'not-the-state', iss: idp.issuer }).toString();
    page = await hit(cb.href);
  });
  t.after(() => h.dispose());
  const s = await h.service.signIn();
  await Promise.all(h.browsing);
  assert.equal(s.error?.code, 'AUTH_STATE_MISMATCH');
  assert.match(s.error?.message ?? '', /did not belong to the sign-in started here/);
  assert.ok(page && 'status' in page);
  assert.equal(page.status, 400);
  assert.match(page.body, /Sign-in did not complete/);
  assert.match(page.body, /You can close this tab and return to the workstation/);
  assert.match(page.body, /AUTH_STATE_MISMATCH/);
  // The genuine user finishing the login now finds the listener closed: nothing is accepted.
  assert.ok(await portRefused(Number(redirectOf(authUrl).port)));
  await assertNoTokens(h, assert);
});

test('state missing: refused the same way', async (t) => {
  const h = makeService(idp.issuer, async (url) => {
    const cb = new URL(redirectOf(url));
    cb.search = 'code=abc';
    await hit(cb.href);
  });
  t.after(() => h.dispose());
  const s = await h.service.signIn();
  assert.equal(s.error?.code, 'AUTH_STATE_MISMATCH');
  await assertNoTokens(h, assert);
});

test('nonce mismatch: a code from another authorization request (same state and PKCE challenge, other nonce) is rejected', async (t) => {
  const cfg = await oidc.discovery(new URL(idp.issuer), 'pathology-desktop', undefined, oidc.None(), { execute: [oidc.allowInsecureRequests] });
  const h = makeService(idp.issuer, async (url) => {
    // The attacker copies everything it can see in the victim's request but brings its own nonce.
    const victim = new URL(url).searchParams;
    const injected = oidc.buildAuthorizationUrl(cfg, {
      redirect_uri: victim.get('redirect_uri')!,
      scope: victim.get('scope')!,
      code_challenge: victim.get('code_challenge')!,
      code_challenge_method: 'S256',
      state: victim.get('state')!,
      nonce: oidc.randomNonce(),
    });
    await loginAs(alice)(injected.href);
  });
  t.after(() => h.dispose());
  const s = await h.service.signIn();
  assert.equal(s.error?.code, 'AUTH_NONCE_MISMATCH');
  await assertNoTokens(h, assert);
});

test('replayed code: a code already exchanged is refused by the provider (AUTH_CODE_REJECTED); a second callback after completion gets a closed port', async (t) => {
  let firstCallback: URL | undefined;
  const h1 = makeService(idp.issuer, async (url) => {
    firstCallback = await loginAndCapture(url, alice);
    const r = await hit(firstCallback.href); // deliver it ourselves, then keep a copy
    assert.ok('status' in r && r.status === 200);
  });
  t.after(() => h1.dispose());
  assert.equal((await h1.service.signIn()).status, 'signed-in');
  await Promise.all(h1.browsing);
  assert.ok(firstCallback, 'the browser step captured the callback');
  const changes: string[] = [];
  h1.service.onChange((s) => changes.push(s.status));
  // Second callback to the same listener: it is gone.
  const again = await hit(firstCallback!.href);
  assert.ok('error' in again, 'the second callback got no answer');
  assert.deepEqual(changes, []);
  await h1.service.signOut();

  // Replay the used code into a new sign-in, with that sign-in's own state.
  const h2 = makeService(idp.issuer, async (url) => {
    const cb = new URL(redirectOf(url));
    cb.search = new URLSearchParams({ code: firstCallback!.searchParams.get('code')!, state: new URL(url).searchParams.get('state')!, iss: idp.issuer }).toString();
    const r = await hit(cb.href);
    assert.ok('status' in r && r.status === 400 && /AUTH_CODE_REJECTED/.test(r.body));
  });
  t.after(() => h2.dispose());
  const s = await h2.service.signIn();
  assert.equal(s.error?.code, 'AUTH_CODE_REJECTED');
  await assertNoTokens(h2, assert);
});

test('wrong issuer in the authorization response (iss parameter) is rejected', async (t) => {
  const h = makeService(idp.issuer, async (url) => {
    const cb = await loginAndCapture(url, alice);
    cb.searchParams.set('iss', 'https://evil.example');
    await hit(cb.href);
  });
  t.after(() => h.dispose());
  const s = await h.service.signIn();
  assert.equal(s.error?.code, 'AUTH_ISSUER_MISMATCH');
  await assertNoTokens(h, assert);
});

test('wrong issuer at discovery: the provider at the configured address names another issuer', async (t) => {
  // Same server, other spelling: its discovery document says http://127.0.0.1:<port>.
  const h = makeService(idp.issuer.replace('127.0.0.1', 'localhost'), async () => assert.fail('no browser for a provider we do not trust'));
  t.after(() => h.dispose());
  const s = await h.service.signIn();
  assert.equal(s.error?.code, 'AUTH_ISSUER_MISMATCH');
  assert.match(s.error?.hint ?? '', /auth\.issuer/);
  await assertNoTokens(h, assert);
});

test('expired ID token: the app clock is past exp + allowed skew', async (t) => {
  const shortIdp = await startIdp({ ttl: { idToken: 5, accessToken: 5 } });
  t.after(() => shortIdp.stop());
  const skew = 5;
  const h = makeService(shortIdp.issuer, loginAs(alice), { auth: { clockSkewSeconds: skew }, now: () => Date.now() + (5 + skew + 60) * 1000 });
  t.after(() => h.dispose());
  const s = await h.service.signIn();
  assert.equal(s.error?.code, 'AUTH_TOKEN_EXPIRED');
  assert.match(s.error?.hint ?? '', /date, time/);
  await assertNoTokens(h, assert);
});

test('a clock within the allowed skew is accepted', async (t) => {
  const h = makeService(idp.issuer, loginAs(alice), { auth: { clockSkewSeconds: 120 }, now: () => Date.now() - 60_000 });
  t.after(() => h.dispose());
  const s = await h.service.signIn();
  assert.equal(s.status, 'signed-in', JSON.stringify(s.error));
  await h.service.signOut();
});

test('provider down: stopped IdP and a closed port give AUTH_PROVIDER_UNREACHABLE', async (t) => {
  const gone = await startIdp();
  const issuer = gone.issuer;
  await gone.stop();
  const h = makeService(issuer, async () => assert.fail('no browser when the provider is down'));
  t.after(() => h.dispose());
  const s = await h.service.signIn();
  assert.equal(s.error?.code, 'AUTH_PROVIDER_UNREACHABLE');
  assert.match(s.error?.message ?? '', /cannot be reached/);
  assert.equal(s.error?.retryable, true);
  await assertNoTokens(h, assert);
});

test('provider goes down between the browser login and the code exchange', async (t) => {
  const flaky = await startIdp();
  let stopped = false;
  t.after(() => (stopped ? undefined : flaky.stop()));
  const h = makeService(flaky.issuer, async (url) => {
    const cb = await loginAndCapture(url, alice);
    await flaky.stop();
    stopped = true;
    await hit(cb.href);
  });
  t.after(() => h.dispose());
  const s = await h.service.signIn();
  assert.equal(s.error?.code, 'AUTH_PROVIDER_UNREACHABLE');
  await assertNoTokens(h, assert);
});

test('user cancels at the login page (error=access_denied): AUTH_CANCELLED', async (t) => {
  const h = makeService(idp.issuer, loginAs(alice, { deny: true }));
  t.after(() => h.dispose());
  const s = await h.service.signIn();
  assert.equal(s.error?.code, 'AUTH_CANCELLED');
  assert.equal(s.error?.details?.error, 'access_denied');
  await assertNoTokens(h, assert);
});

test('user cancels in the app while the browser is open: AUTH_CANCELLED, listener closed', async (t) => {
  const h = makeService(idp.issuer, async () => undefined);
  t.after(() => h.dispose());
  const done = h.service.signIn();
  const signing = await waitForState(h.service, (s) => s.authorizationUrl !== undefined);
  // While it waits, the listener answers on 127.0.0.1 only.
  const port = Number(redirectOf(signing.authorizationUrl!).port);
  assert.equal(await portRefused(port), false);
  assert.equal(await portRefused(port, '127.0.0.2'), true);
  h.service.cancelSignIn();
  const s = await done;
  assert.equal(s.error?.code, 'AUTH_CANCELLED');
  assert.ok(await portRefused(Number(redirectOf(signing.authorizationUrl!).port)));
  await assertNoTokens(h, assert);
});

test('timeout: nothing comes back from the browser', async (t) => {
  const h = makeService(idp.issuer, async () => undefined, { auth: { timeoutSeconds: 1 } });
  t.after(() => h.dispose());
  let url = '';
  h.service.onChange((s) => (url = s.authorizationUrl ?? url));
  const s = await h.service.signIn();
  assert.equal(s.error?.code, 'AUTH_TIMEOUT');
  assert.ok(await portRefused(Number(redirectOf(url).port)));
  await assertNoTokens(h, assert);
});

test('http issuer without allowInsecureIssuer: AUTH_INSECURE_ISSUER before any request', async (t) => {
  const h = makeService(idp.issuer, async () => assert.fail('no browser'), { auth: { allowInsecureIssuer: false } });
  t.after(() => h.dispose());
  const s = await h.service.signIn();
  assert.equal(s.error?.code, 'AUTH_INSECURE_ISSUER');
  await assertNoTokens(h, assert);
});

test('refresh refused by the provider (grant revoked elsewhere): AUTH_SESSION_EXPIRED, secret wiped', async (t) => {
  const h = makeService(idp.issuer, loginAs(alice));
  t.after(() => h.dispose());
  assert.equal((await h.service.signIn()).status, 'signed-in');
  const refresh = await storedRefreshToken(h);
  const cfg = await oidc.discovery(new URL(idp.issuer), 'pathology-desktop', undefined, oidc.None(), { execute: [oidc.allowInsecureRequests] });
  await oidc.tokenRevocation(cfg, refresh!, { token_type_hint: 'refresh_token' });
  await assert.rejects(h.service.getAccessToken({ forceRefresh: true }), (e: Error & { code?: string }) => e.code === 'AUTH_SESSION_EXPIRED');
  const s = h.service.state();
  assert.equal(s.error?.code, 'AUTH_SESSION_EXPIRED');
  assert.match(s.error?.message ?? '', /sign in again/);
  await assertNoTokens(h, assert);
});

test('restore with the provider down signs in offline and keeps the saved sign-in for later; a saved sign-in for another issuer is discarded', async (t) => {
  const own = await startIdp();
  let stopped = false;
  t.after(() => (stopped ? undefined : own.stop()));
  const h = makeService(own.issuer, loginAs(alice));
  t.after(() => h.dispose());
  assert.equal((await h.service.signIn()).status, 'signed-in');
  const saved = await storedRefreshToken(h);
  assert.ok(saved);
  h.service.dispose();
  await own.stop();
  stopped = true;

  const offline = makeService(own.issuer, async () => assert.fail('no browser'), { dataDir: h.dataDir });
  t.after(() => offline.dispose());
  const s = await offline.service.restore();
  // Who works here is known from the saved sign-in; no token exists until the provider answers.
  assert.equal(s.status, 'signed-in');
  assert.equal(s.offline, true);
  assert.equal(s.user?.sub, 'alice');
  assert.equal(s.error, undefined);
  await assert.rejects(offline.service.getIdToken(), (e: Error & { code?: string }) => e.code === 'AUTH_PROVIDER_UNREACHABLE');
  await assert.rejects(offline.service.getResourceToken('urn:x:archive'), (e: Error & { code?: string }) => e.code === 'AUTH_PROVIDER_UNREACHABLE');
  assert.equal(await storedRefreshToken(offline), saved, 'kept: the network may come back');
  // Signing out offline forgets the saved sign-in here (revocation waits for a provider that answers).
  const out = await offline.service.signOut();
  assert.equal(out.status, 'signed-out');
  assert.equal(out.offline, undefined);
  assert.equal(await storedRefreshToken(offline), undefined);
  assert.equal((await makeService(own.issuer, async () => assert.fail('no browser'), { dataDir: h.dataDir }).service.restore()).status, 'signed-out', 'nothing left to restore');

  const moved = makeService(idp.issuer, async () => assert.fail('no browser'), { dataDir: h.dataDir });
  const m = await moved.service.restore();
  assert.equal(m.status, 'signed-out');
  assert.equal(m.error, undefined);
  assert.equal(await storedRefreshToken(moved), undefined, 'a token for another issuer is never sent anywhere');
});
