/**
 * Keycloak as the identity provider, on the real server (test/stack/keycloak.ts) in front
 * of MinIO's STS: the realm IT is told to set up (docs/keycloak.md), and the failures IT
 * met with it, reproduced:
 * - a user without the offline_access role gets Keycloak's own reason and the hint;
 * - with refresh-token rotation on, the app (headless host) and CLI commands on one data
 *   folder stay signed in through several renewals (one refresh lock for every host);
 * - group paths arrive as names; the AWS session-tags claim has AWS's shape;
 * - boto3 making 20 requests starts `credential_process` at most twice.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { decodeJwt } from 'jose';
import { completeLogin, launchChromium } from '../../stack/browser-login.js';
import { AWS_TAGS_CLAIM, NO_OFFLINE_USER, realmEvents } from '../../stack/keycloak.js';
import { pythonVenv } from '../../stack/python-venv.js';
import { startStack, type RunningStack } from '../../stack/stack.js';
import { BIN, loginNoBrowser, runCli } from '../cli/run-cli.js';
import { makeService } from '../auth/helpers.js';

describe('Keycloak interop', () => {
  let stack: RunningStack;
  let browser: Browser;
  let dir: string;
  let config: string;
  let dataDir: string;

  before(async () => {
    // Short lifetimes: renewal happens within the test (Keycloak: one lifespan for ID and access tokens).
    stack = await startStack({ idp: 'keycloak', seedSharedTestdata: false, ttl: { accessToken: 20, idToken: 20 } });
    browser = await launchChromium();
    dir = mkdtempSync(join(tmpdir(), 'kc-test-'));
    dataDir = join(dir, 'data');
    const settings = JSON.parse(readFileSync(stack.configFile, 'utf8')) as Record<string, unknown>;
    settings.secrets = { store: 'file' };
    settings.auth = { ...(settings.auth as object), timeoutSeconds: 60 };
    settings.paths = { data: dataDir, cache: join(dir, 'cache') };
    config = join(dir, 'config.json');
    writeFileSync(config, JSON.stringify(settings));
  });
  after(async () => {
    await browser?.close();
    await stack?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const user = (name: string): RunningStack['users'][number] => stack.users.find((u) => u.username === name)!;

  it('a user without offline_access gets Keycloak\'s reason and the hint, in the state, on the page and in the CLI', async () => {
    const page = await (await browser.newContext()).newPage();
    const h = makeService(stack.issuer, (url) => completeLogin(page, url, NO_OFFLINE_USER), { auth: { clientId: stack.clientId } });
    try {
      const st = await h.service.signIn();
      assert.equal(st.status, 'signed-out');
      assert.equal(st.error?.code, 'AUTH_PROVIDER_ERROR');
      assert.match(st.error?.message ?? '', /Offline tokens not allowed for the user or client \(not_allowed\)/);
      assert.match(st.error?.hint ?? '', /offline_access role/);
      assert.equal((st.error?.details as { error?: string } | undefined)?.error, 'not_allowed');
      // The loopback page the browser was sent back to says the same.
      assert.match((await page.textContent('#message')) ?? '', /Offline tokens not allowed/);
      assert.match((await page.textContent('#detail')) ?? '', /offline_access role/);
    } finally {
      await page.context().close();
      await h.dispose();
    }
    const cliDir = mkdtempSync(join(tmpdir(), 'kc-cli-'));
    try {
      const s = JSON.parse(readFileSync(config, 'utf8')) as { paths: object };
      s.paths = { data: join(cliDir, 'data'), cache: join(cliDir, 'cache') };
      const cfg = join(cliDir, 'config.json');
      writeFileSync(cfg, JSON.stringify(s));
      const run = await loginNoBrowser(browser, NO_OFFLINE_USER, { config: cfg });
      assert.notEqual(run.code, 0);
      assert.match(run.stderr, /error AUTH_PROVIDER_ERROR: .*Offline tokens not allowed for the user or client \(not_allowed\)/);
      assert.match(run.stderr, /hint: IT: .*offline_access role/);
    } finally {
      rmSync(cliDir, { recursive: true, force: true });
    }
  });

  it('groups arrive as names, and the ID token carries the AWS session-tags claim in AWS\'s shape', async () => {
    const page = await (await browser.newContext()).newPage();
    const h = makeService(stack.issuer, (url) => completeLogin(page, url, user('alice')), { auth: { clientId: stack.clientId } });
    try {
      const st = await h.service.signIn();
      assert.equal(st.status, 'signed-in', JSON.stringify(st.error));
      assert.deepEqual(st.user?.groups, ['pathology']);
      const claims = decodeJwt(await h.service.getIdToken());
      assert.deepEqual(claims[AWS_TAGS_CLAIM], { principal_tags: { groups: ['pathology'] }, transitive_tag_keys: ['groups'] });
      assert.equal(claims.aud, stack.clientId);
    } finally {
      await page.context().close();
      await h.dispose();
    }
  });

  it('the app and CLI commands on one data folder stay signed in through several renewals with rotation on', async () => {
    // The CLI signs in; the app (an AuthService with the app's wiring) restores the same saved sign-in.
    const login = await loginNoBrowser(browser, user('alice'), { config });
    assert.equal(login.code, 0, login.stderr);
    const settings = JSON.parse(readFileSync(config, 'utf8')) as { auth: object };
    const app = makeService(stack.issuer, async () => undefined, { dataDir, refreshLockDir: dataDir, auth: { ...settings.auth, clientId: stack.clientId } });
    try {
      assert.equal((await app.service.restore()).status, 'signed-in');
      for (let round = 0; round < 4; round++) {
        // Both hosts use the token at once: the app renews, the CLI restores (a refresh too).
        const [cli] = await Promise.all([runCli(['whoami'], { config }), app.service.getIdToken({ forceRefresh: true })]);
        assert.equal(cli.code, 0, `round ${round}: ${cli.stderr}`);
        assert.equal(app.service.state().status, 'signed-in', `round ${round}: ${JSON.stringify(app.service.state().error)}`);
      }
      // The app's own renewal after the CLI rotated the token: still signed in.
      await runCli(['whoami'], { config });
      await app.service.getIdToken({ forceRefresh: true });
      assert.equal(app.service.state().status, 'signed-in');
      // Keycloak saw no reuse of a spent refresh token.
      const errors = await realmEvents(stack.keycloak!, 'REFRESH_TOKEN_ERROR');
      assert.deepEqual(errors.map((e) => e.error), []);
    } finally {
      await app.dispose();
    }
  });

  it('boto3 making 20 requests starts credential_process at most twice', async () => {
    const py = pythonVenv();
    const counter = join(dir, 'starts.log');
    const wrapper = join(dir, 'credential-process.sh');
    // Counts its starts, then is the CLI as aws-cli and boto3 run it.
    writeFileSync(wrapper, `#!/bin/sh\necho start >> '${counter}'\nexec '${process.execPath}' '${BIN}' credentials --format credential_process --config '${config}'\n`);
    chmodSync(wrapper, 0o755);
    writeFileSync(join(dir, 'aws-config'), `[profile wsi]\ncredential_process = ${wrapper}\nregion = us-east-1\n`);
    const script = `
import boto3
s = boto3.Session(profile_name='wsi')
c = s.client('s3', endpoint_url='${stack.s3Endpoint}')
for i in range(20):
    c.head_object(Bucket='pathology-slides', Key='README.txt')
print('ok')
`;
    const r = spawnSync(py.python, ['-c', script], { encoding: 'utf8', env: { ...process.env, AWS_CONFIG_FILE: join(dir, 'aws-config'), AWS_SHARED_CREDENTIALS_FILE: join(dir, 'none') } });
    assert.equal(r.status, 0, r.stderr);
    const starts = readFileSync(counter, 'utf8').trim().split('\n').length;
    assert.ok(starts >= 1 && starts <= 2, `credential_process started ${starts} times`);
    // A second tool right after gets the cached set: no new STS call, no refresh.
    const again = spawnSync(py.python, ['-c', script], { encoding: 'utf8', env: { ...process.env, AWS_CONFIG_FILE: join(dir, 'aws-config'), AWS_SHARED_CREDENTIALS_FILE: join(dir, 'none') } });
    assert.equal(again.status, 0, again.stderr);
    const out = JSON.parse((await runCli(['credentials', '--format', 'credential_process'], { config })).stdout) as { Expiration: string };
    // Long enough for the SDKs' 10–15-minute windows although the ID token lives 20 s.
    assert.ok(Date.parse(out.Expiration) - Date.now() > 30 * 60_000, out.Expiration);
  });
});
