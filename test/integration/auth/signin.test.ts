/**
 * Sign-in, renewal and sign-out against the real test IdP with Chromium as the system
 * browser. Attack and fault cases are in attacks.test.ts.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as oidc from 'openid-client';
import { configureLogging } from '../../../main/common/log.js';
import { startIdp, type RunningIdp } from '../../stack/idp.js';
import { alice, assertNoTokens, closeBrowser, filesContaining, loginAs, makeService, storedRefreshToken, waitForState } from './helpers.js';

let idp: RunningIdp;
const logDir = mkdtempSync(join(tmpdir(), 'auth-log-'));
const logFile = join(logDir, 'app.log');

before(async () => {
  configureLogging({ file: logFile, console: false, level: 'debug' });
  idp = await startIdp();
});
after(async () => {
  await closeBrowser();
  await idp.stop();
  await rm(logDir, { recursive: true, force: true });
});

async function providerConfig(issuer: string): Promise<oidc.Configuration> {
  return oidc.discovery(new URL(issuer), 'pathology-desktop', undefined, oidc.None(), { execute: [oidc.allowInsecureRequests] });
}

function decodeJwt(t: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(t.split('.')[1]!, 'base64url').toString('utf8')) as Record<string, unknown>;
}

test('happy path: sign in as alice, restore silently in a new app, sign out revokes and wipes', async (t) => {
  const h = makeService(idp.issuer, loginAs(alice));
  t.after(() => h.dispose());
  const seen: string[] = [];
  h.service.onChange((s) => seen.push(s.status));

  const state = await h.service.signIn();
  assert.equal(state.status, 'signed-in', JSON.stringify(state.error));
  assert.equal(state.error, undefined);
  assert.deepEqual(seen.slice(0, 1), ['signing-in']);
  assert.equal(state.user?.sub, 'alice');
  assert.equal(state.user?.name, 'Alice Pathologist');
  assert.deepEqual(state.user?.groups, ['pathology']);
  assert.equal(state.secretStore.kind, 'file');
  assert.equal(state.authorizationUrl, undefined);
  assert.ok((state.expiresAt ?? 0) > Date.now());

  // The authorization request was code + PKCE S256 + state + nonce on a 127.0.0.1 loopback redirect.
  const authUrl = new URL(h.opened[0]!);
  assert.equal(authUrl.searchParams.get('response_type'), 'code');
  assert.equal(authUrl.searchParams.get('code_challenge_method'), 'S256');
  assert.ok(authUrl.searchParams.get('code_challenge'));
  assert.ok(authUrl.searchParams.get('state'));
  assert.ok(authUrl.searchParams.get('nonce'));
  assert.match(authUrl.searchParams.get('redirect_uri')!, /^http:\/\/127\.0\.0\.1:\d+\/callback$/);
  assert.match(authUrl.searchParams.get('scope')!, /offline_access/);

  const idToken = await h.service.getIdToken();
  const accessToken = await h.service.getAccessToken();
  const claims = decodeJwt(idToken);
  assert.equal(claims.iss, idp.issuer);
  assert.equal(claims.aud, 'pathology-desktop');
  assert.equal(claims.nonce, authUrl.searchParams.get('nonce'));
  const refresh = await storedRefreshToken(h);
  assert.ok(refresh, 'the refresh token rests in the secret store');
  const tokens = [idToken, accessToken, refresh];
  assert.ok(!JSON.stringify(h.service.state()).includes(idToken), 'state() carries no token');
  assert.ok(!JSON.stringify(h.service.state()).includes(accessToken));
  assert.ok(!JSON.stringify(h.service.state()).includes(refresh));

  // A second app start: the refresh token in the store gives a silent sign-in, no browser.
  const h2 = makeService(
    idp.issuer,
    async (url) => {
      assert.ok(url.includes('/session/end'), 'restore must not open a browser to sign in');
      await loginAs(alice)(url);
    },
    { dataDir: h.dataDir },
  );
  t.after(() => h2.dispose());
  const restored = await h2.service.restore();
  assert.equal(restored.status, 'signed-in', JSON.stringify(restored.error));
  assert.equal(restored.user?.sub, 'alice');
  assert.deepEqual(restored.user?.groups, ['pathology']);
  const rotated = await storedRefreshToken(h2);
  assert.ok(rotated && rotated !== refresh, 'the rotated refresh token was saved');
  const id2 = await h2.service.getIdToken();
  const acc2 = await h2.service.getAccessToken();
  tokens.push(id2, acc2, rotated);
  const userinfo = await oidc.fetchUserInfo(await providerConfig(idp.issuer), acc2, 'alice');
  assert.equal(userinfo.sub, 'alice');

  // Sign out: revoke at the provider, RP-initiated logout opened, secret wiped.
  const out = await h2.service.signOut();
  assert.equal(out.status, 'signed-out');
  assert.equal(out.error, undefined);
  const endSession = h2.opened.find((u) => u.includes('/session/end'));
  assert.ok(endSession, 'the end-session URL was opened');
  assert.equal(new URL(endSession).searchParams.get('client_id'), 'pathology-desktop');
  // No ID token in a URL (it passes through the browser's command line and history).
  assert.equal(new URL(endSession).searchParams.get('id_token_hint'), null);
  for (const u of h2.opened) for (const t of tokens) assert.ok(!u.includes(t), 'no token in an opened URL');
  // Chromium reached the IdP's "signed out" page (loginAs waits for it).
  assert.deepEqual(await Promise.all(h2.browsing), [undefined]);
  const cfg = await providerConfig(idp.issuer);
  await assert.rejects(oidc.refreshTokenGrant(cfg, rotated), (e: unknown) => e instanceof oidc.ResponseBodyError && e.error === 'invalid_grant');
  await assert.rejects(oidc.fetchUserInfo(cfg, acc2, 'alice'), 'the access token was revoked too');
  await assertNoTokens(h2, assert);
  assert.deepEqual(filesContaining(h.dataDir, tokens), [], 'no token remains on disk');

  // The first instance still holds the refresh token the second rotated away, and the
  // grant is revoked: its next renewal ends its session with a clear error.
  await assert.rejects(h.service.getIdToken({ forceRefresh: true }), (e: Error & { code?: string }) => e.code === 'AUTH_SESSION_EXPIRED');
  assert.equal(h.service.state().status, 'signed-out');
  assert.equal(h.service.state().error?.code, 'AUTH_SESSION_EXPIRED');

  // No token reached the log of the whole run.
  const logText = readFileSync(logFile, 'utf8');
  assert.ok(logText.includes('"signed in"'), 'the run did log');
  for (const tok of tokens) assert.ok(!logText.includes(tok), 'a token leaked into the log');
});

test('renewal across several short token lifetimes without signing in again', { timeout: 50_000 }, async (t) => {
  const shortIdp = await startIdp({ ttl: { accessToken: 3, idToken: 3 } });
  t.after(() => shortIdp.stop());
  const h = makeService(shortIdp.issuer, loginAs(alice));
  t.after(() => h.dispose());
  const s = await h.service.signIn();
  assert.equal(s.status, 'signed-in', JSON.stringify(s.error));
  const cfg = await providerConfig(shortIdp.issuer);

  // The background timer renews at ~80% of the lifetime: follow the state's expiry until
  // the current token expires more than two lifetimes after the first one did.
  const first = s.expiresAt!;
  let latest = first;
  const refreshTokens = new Set<string>([(await storedRefreshToken(h))!]);
  while (latest - first <= 2 * 3000) {
    const next = await waitForState(h.service, (st) => st.status !== 'signed-in' || st.expiresAt! > latest);
    assert.equal(next.status, 'signed-in', JSON.stringify(next.error));
    latest = next.expiresAt!;
    refreshTokens.add((await storedRefreshToken(h))!);
    // The renewed access token is accepted by the provider (2 s of validity asked for).
    const access = await h.service.getAccessToken({ minValiditySeconds: 2 });
    const info = await oidc.fetchUserInfo(cfg, access, 'alice');
    assert.equal(info.sub, 'alice');
  }
  assert.ok(refreshTokens.size >= 3, 'rotated refresh tokens were saved');
  assert.equal(h.opened.length, 1, 'the browser was opened only for the first sign-in');

  await h.service.signOut();
});

test('concurrent callers share one renewal', async (t) => {
  const h = makeService(idp.issuer, loginAs(alice));
  t.after(() => h.dispose());
  assert.equal((await h.service.signIn()).status, 'signed-in');
  const before = await storedRefreshToken(h);
  let changes = 0;
  h.service.onChange(() => changes++);
  const [a, b, c] = await Promise.all([
    h.service.getIdToken({ forceRefresh: true }),
    h.service.getIdToken({ forceRefresh: true }),
    h.service.getAccessToken({ forceRefresh: true }),
  ]);
  assert.equal(changes, 1, 'one renewal, one state change');
  assert.equal(a, b);
  assert.equal(c, await h.service.getAccessToken());
  const afterRefresh = await storedRefreshToken(h);
  assert.notEqual(afterRefresh, before);
  // Had there been two renewals, the first rotated token would have been used twice and
  // oidc-provider would have revoked the whole grant: the session is still good.
  assert.ok(await h.service.getIdToken({ forceRefresh: true }));
  await h.service.signOut();
});

test('no browser could be opened: the link is in state.authorizationUrl and the sign-in still completes', async (t) => {
  const h = makeService(idp.issuer, async () => {
    throw new Error('no display');
  });
  t.after(() => h.dispose());
  const copy = loginAs(alice);
  const done = h.service.signIn();
  const signing = await waitForState(h.service, (s) => s.authorizationUrl !== undefined);
  assert.equal(signing.status, 'signing-in');
  await copy(signing.authorizationUrl!); // the user pastes the link into a browser
  const s = await done;
  assert.equal(s.status, 'signed-in', JSON.stringify(s.error));
  assert.equal(s.authorizationUrl, undefined);
  await h.service.signOut();
});

test('fixed port with a "localhost" redirect (exact-match providers)', async (t) => {
  const port = await new Promise<number>((resolve) => {
    const srv = createServer();
    srv.listen(0, '127.0.0.1', () => {
      const p = (srv.address() as { port: number }).port;
      srv.close(() => resolve(p));
    });
  });
  const exact = await startIdp({ extraRedirectUris: [`http://localhost:${port}/callback`] });
  t.after(() => exact.stop());
  const h = makeService(exact.issuer, loginAs(alice), { auth: { redirect: { host: 'localhost', port, path: '/callback' } } });
  t.after(() => h.dispose());
  const s = await h.service.signIn();
  assert.equal(s.status, 'signed-in', JSON.stringify(s.error));
  assert.equal(new URL(h.opened[0]!).searchParams.get('redirect_uri'), `http://localhost:${port}/callback`);
  await h.service.signOut();
});

test('lifetimes that break the HealthImaging 12 h rule are reported in state.warnings', async (t) => {
  const longIdp = await startIdp({ ttl: { accessToken: 13 * 3600, idToken: 13 * 3600 } });
  t.after(() => longIdp.stop());
  const h = makeService(longIdp.issuer, loginAs(alice));
  t.after(() => h.dispose());
  const s = await h.service.signIn();
  assert.equal(s.status, 'signed-in', JSON.stringify(s.error));
  assert.equal(s.warnings.length, 2, s.warnings.join('\n'));
  assert.ok(s.warnings.every((w) => /HealthImaging refuses tokens issued more than 12 h ago/.test(w)));
  assert.match(s.warnings.join('\n'), /ID tokens valid for 13 h/);
  assert.match(s.warnings.join('\n'), /access tokens valid for 13 h/);
  // Renewal happens before the 12-hour age, not at 80% of 13 h: 30 s before the 12-hour mark the
  // ID token is still unexpired but is renewed before it is handed out.
  let renewals = 0;
  h.service.onChange(() => renewals++);
  await h.service.getIdToken();
  assert.equal(renewals, 0, 'a young token is handed out as it is');
  const later = makeService(longIdp.issuer, async () => undefined, { dataDir: h.dataDir, now: () => Date.now() + (12 * 3600 - 30) * 1000 });
  t.after(() => later.dispose());
  assert.equal((await later.service.restore()).status, 'signed-in');
  let laterRenewals = 0;
  later.service.onChange(() => laterRenewals++);
  await later.service.getIdToken();
  assert.equal(laterRenewals, 1, 'a token about to be 12 h old is renewed first');
  await later.service.signOut();
});
