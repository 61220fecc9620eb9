/**
 * Secrets stay in main: after a full alice run (sign-in, storage listing, sign-out) with
 * debug logging to a file, none of the real token or storage-secret values appear in the
 * log file, in the app's data folder (but the owner-only secret store, while signed in),
 * in any API response the renderer received, or in the page. Also: the real host refuses
 * requests without the launch cookie and with a foreign Host header.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { REFRESH_TOKEN_KEY } from '../../main/auth/index.js';
import { configureLogging } from '../../main/common/log.js';
import { launchChromium } from '../stack/browser-login.js';
import { startStack, type RunningStack } from '../stack/stack.js';
import { signIn, startAppUnderTest, type AppUnderTest } from './helpers.js';

const logDir = mkdtempSync(join(tmpdir(), 'wsi-e2e-logs-'));
const logFile = join(logDir, 'run.log');
configureLogging({ file: logFile, level: 'debug', console: false });

function filesUnder(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...filesUnder(p));
    else out.push(p);
  }
  return out;
}

function status(port: number, path: string, headers: Record<string, string>, method = 'POST'): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method, headers }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', reject);
    req.end(method === 'POST' ? '{}' : undefined);
  });
}

describe('no secret reaches logs, disk, or the renderer', () => {
  let stack: RunningStack;
  let browser: Browser;
  let t: AppUnderTest;

  before(async () => {
    stack = await startStack({});
    browser = await launchChromium();
    t = await startAppUnderTest(browser, stack.configFile);
  });
  after(async () => {
    await t?.close();
    await browser?.close();
    await stack?.stop();
    rmSync(logDir, { recursive: true, force: true });
  });

  test('the host refuses requests without the launch cookie or with a foreign Host', async () => {
    const port = t.app.host.port;
    const json = { 'content-type': 'application/json' };
    assert.equal(await status(port, '/api/auth.state', json), 403);
    assert.equal(await status(port, '/api/events', {}, 'GET'), 403);
    const cookies = await t.context.cookies(t.app.host.origin);
    const cookie = cookies.map((c) => `${c.name}=${c.value}`).join('; ');
    assert.ok(cookie.includes('wsi_session_'), 'the browser holds the session cookie');
    assert.ok(cookies.every((c) => c.httpOnly && c.sameSite === 'Strict'));
    assert.equal(await status(port, '/api/auth.state', { ...json, cookie }), 200);
    assert.equal(await status(port, '/api/auth.state', { ...json, cookie, host: `rebind.example:${port}` }), 403);
    assert.equal(await status(port, '/api/auth.state', { ...json, cookie, origin: stack.issuer }), 403);
  });

  test('a full alice run leaves no token or storage secret in logs, data folder, API answers or page', async () => {
    const apiBodies: string[] = [];
    t.page.on('response', (r) => {
      if (new URL(r.url()).pathname.startsWith('/api/') && r.request().method() === 'POST') {
        void r.text().then((b) => apiBodies.push(b), () => undefined);
      }
    });
    await signIn(t, browser, stack.users.find((u) => u.username === 'alice')!);
    await t.page.getByRole('button', { name: 'Pathology archive' }).click();
    await t.page.locator('[data-testid=entry][data-name="README.txt"]').waitFor();
    await t.page.getByTestId('credentials-info').waitFor();

    // Test-only hook: the real values, read in-process from the services that hold them.
    const s = t.app.services;
    const idToken = await s.auth.getIdToken();
    const accessToken = await s.auth.getAccessToken();
    const stored = await s.secretStore.get(REFRESH_TOKEN_KEY);
    assert.ok(stored, 'a refresh token rests in the secret store');
    const refreshToken = (JSON.parse(stored) as { refreshToken: string }).refreshToken;
    const creds = await s.storage.credentials.get();
    const secrets: Record<string, string> = {
      idToken,
      accessToken,
      refreshToken,
      secretAccessKey: creds.secretAccessKey,
      sessionToken: creds.sessionToken,
    };
    for (const [name, v] of Object.entries(secrets)) assert.ok(v.length >= 16, `${name} looks real`);

    const pageHtml = await t.page.content();
    await t.page.getByTestId('signout-button').click();
    await t.page.getByTestId('signin-screen').waitFor();

    const secretStoreFile = s.secretStore.kind === 'file' ? join(t.dataDir, 'secrets.json') : undefined;
    const places: [string, string][] = [
      ['log file', readFileSync(logFile, 'utf8')],
      ['page', pageHtml],
      ...apiBodies.map((b, i): [string, string] => [`API response ${i}`, b]),
      ...filesUnder(t.dataDir).map((f): [string, string] => [f, readFileSync(f, 'latin1')]),
    ];
    assert.ok(places[0]![1].includes('signed in'), 'the log file recorded the run');
    assert.ok(apiBodies.length >= 4, 'API answers were captured');
    for (const [where, text] of places) {
      for (const [name, value] of Object.entries(secrets)) assert.ok(!text.includes(value), `${name} found in ${where}`);
    }
    // After sign-out the owner-only store no longer holds the refresh token either.
    if (secretStoreFile) {
      const left = filesUnder(t.dataDir).filter((f) => f === secretStoreFile);
      for (const f of left) assert.ok(!readFileSync(f, 'utf8').includes(refreshToken));
    }
  });
});
