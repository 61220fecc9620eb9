/**
 * The sign-in story in real Chromium through the headless host against the real stack:
 * alice sees the pathology archive, bob sees research data and is told he has no access
 * to the pathology archive, carol (no group) is told she has no storage rights; sign-out
 * returns to the sign-in screen. Screenshots go to test-results/screenshots/.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Browser } from 'playwright-core';
import { createServer } from 'node:net';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { launchChromium } from '../stack/browser-login.js';
import { startStack, type RunningStack } from '../stack/stack.js';
import { entryNames, screenshot, signIn, startAppUnderTest, type AppUnderTest } from './helpers.js';

describe('sign-in and storage browser (headless host, real Chromium, real stack)', () => {
  let stack: RunningStack;
  let browser: Browser;
  let t: AppUnderTest;
  const user = (name: string) => {
    const u = stack.users.find((x) => x.username === name);
    assert.ok(u, `demo user ${name}`);
    return u;
  };

  before(async () => {
    stack = await startStack({});
    browser = await launchChromium();
    t = await startAppUnderTest(browser, stack.configFile);
  });
  after(async () => {
    await t?.close();
    await browser?.close();
    await stack?.stop();
  });

  test('the sign-in screen names the organisation', async () => {
    await t.page.getByTestId('signin-screen').waitFor();
    assert.equal(await t.page.getByTestId('signin-button').textContent(), 'Sign in with Demo Hospital');
    await screenshot(t.page, '01-signin');
  });

  test('cancelling the sign-in returns to the sign-in screen and says so', async () => {
    const opened = t.system.next();
    await t.page.getByTestId('signin-button').click();
    await t.page.getByTestId('waiting-screen').waitFor();
    await opened;
    await t.page.getByTestId('cancel-signin').click();
    await t.page.getByTestId('signin-screen').waitFor();
    assert.equal(await t.page.getByTestId('signin-error').getByTestId('error-title').textContent(), 'Sign-in cancelled');
  });

  test('alice signs in in the system browser and sees the pathology archive', async () => {
    await signIn(t, browser, user('alice'), '02-waiting');
    assert.equal(await t.page.getByTestId('user-name').textContent(), 'Alice Pathologist');
    assert.match((await t.page.getByTestId('user-groups').textContent()) ?? '', /pathology/);
    assert.match((await t.page.getByTestId('secret-store').textContent()) ?? '', /^Your sign-in is kept in .+/);
    const listing = t.page.getByTestId('listing');
    await t.page.getByRole('button', { name: 'Pathology archive' }).click();
    await t.page.locator('[data-testid=listing][data-uri="s3://pathology-slides/"]').waitFor();
    await t.page.locator('[data-testid=entry][data-name="demo"]').waitFor();
    const names = await entryNames(t.page);
    assert.ok(names.includes('demo'), names.join(','));
    assert.ok(names.includes('README.txt'), names.join(','));
    const readme = t.page.locator('[data-testid=entry][data-name="README.txt"]');
    assert.equal(await readme.getAttribute('data-slide'), 'false');
    assert.match((await readme.getAttribute('class')) ?? '', /entry-other/);
    await screenshot(t.page, '03-alice-bucket');
    await t.page.getByRole('button', { name: 'demo', exact: true }).click();
    const slide = t.page.locator('[data-testid=entry][data-name="demo-tissue-a.tif"]');
    await slide.waitFor();
    assert.equal(await slide.getAttribute('data-slide'), 'true');
    assert.match((await slide.locator('.col-size').textContent()) ?? '', /\d+(\.\d)? (KB|MB)/);
    assert.notEqual(await slide.locator('.col-date').textContent(), '');
    assert.equal(await listing.getAttribute('data-uri'), 's3://pathology-slides/demo/');
    await screenshot(t.page, '04-alice-slides');
  });

  test('the strict CSP holds: an injected inline script does not run', async () => {
    assert.deepEqual(t.consoleErrors, [], 'no console errors during the normal flow');
    // Runs in the page (given as text: this project compiles tests without DOM types).
    const result = (await t.page.evaluate(`(async () => {
      const violations = [];
      document.addEventListener('securitypolicyviolation', (e) => violations.push(e.violatedDirective));
      const s = document.createElement('script');
      s.textContent = 'window.__inlineRan = true;';
      document.body.appendChild(s);
      const d = document.createElement('div');
      d.innerHTML = '<img src="x" onerror="window.__handlerRan = true">';
      document.body.appendChild(d);
      await new Promise((r) => setTimeout(r, 200));
      s.remove();
      d.remove();
      return { inline: window.__inlineRan === true, handler: window.__handlerRan === true, violations };
    })()`)) as { inline: boolean; handler: boolean; violations: string[] };
    assert.equal(result.inline, false, 'inline script ran');
    assert.equal(result.handler, false, 'inline event handler ran');
    assert.ok(result.violations.some((v) => v.startsWith('script-src')), `violations: ${result.violations.join(',')}`);
  });

  test('alice signs out and is back at the sign-in screen', async () => {
    const before = t.system.opened.length;
    await t.page.getByTestId('signout-button').click();
    await t.page.getByTestId('signin-screen').waitFor();
    // RP-initiated logout went to the identity provider, nowhere else.
    const logout = t.system.opened.slice(before);
    for (const u of logout) assert.equal(new URL(u).origin, stack.issuer);
  });

  test('bob sees research data and a clear "access denied" for the pathology archive', async () => {
    await signIn(t, browser, user('bob'));
    assert.equal(await t.page.getByTestId('user-name').textContent(), 'Bob Researcher');
    await t.page.getByRole('button', { name: 'Research' }).click();
    await t.page.locator('[data-testid=listing][data-uri="s3://research-slides/"]').waitFor();
    assert.ok((await entryNames(t.page)).length > 0);
    await t.page.getByRole('button', { name: 'Storage' }).click();
    await t.page.getByRole('button', { name: 'Pathology archive' }).click();
    const error = t.page.getByTestId('storage-error');
    await error.waitFor();
    assert.match((await error.getByTestId('error-title').textContent()) ?? '', /Access denied to “pathology-slides”/);
    assert.equal(await t.page.getByTestId('entry').count(), 0);
    await screenshot(t.page, '05-bob-access-denied');
    // The same answer when the location is typed in.
    await t.page.getByTestId('goto-input').fill('s3://pathology-slides/aperio/');
    await t.page.getByTestId('goto-button').click();
    await t.page.locator('[data-testid=storage-error] >> text=/Access denied/').waitFor();
    await t.page.getByTestId('signout-button').click();
    await t.page.getByTestId('signin-screen').waitFor();
  });

  test('carol sees nothing and is told she has no storage rights', async () => {
    await signIn(t, browser, user('carol'));
    assert.equal(await t.page.getByTestId('user-name').textContent(), 'Carol Visitor');
    const error = t.page.getByTestId('storage-error');
    await error.waitFor();
    assert.equal(await error.getByTestId('error-title').textContent(), 'Your account has no storage rights');
    assert.match((await error.textContent()) ?? '', /no access to slide storage/i);
    assert.equal(await t.page.getByTestId('entry').count(), 0);
    await screenshot(t.page, '06-carol-no-rights');
    await t.page.getByTestId('signout-button').click();
    await t.page.getByTestId('signin-screen').waitFor();
  });
});

describe('an unreachable identity provider', () => {
  test('is reported in words, and the sign-in button stays to try again', async () => {
    // A port that was just free: nothing answers there.
    const port = await new Promise<number>((resolve) => {
      const srv = createServer().listen(0, '127.0.0.1', () => {
        const p = (srv.address() as { port: number }).port;
        srv.close(() => resolve(p));
      });
    });
    const dir = mkdtempSync(join(tmpdir(), 'wsi-e2e-down-'));
    const config = join(dir, 'config.json');
    writeFileSync(config, JSON.stringify({ organisation: { name: 'Offline Hospital' }, auth: { issuer: `http://127.0.0.1:${port}`, allowInsecureIssuer: true } }));
    const browser = await launchChromium();
    let t: AppUnderTest | undefined;
    try {
      t = await startAppUnderTest(browser, config);
      await t.page.getByTestId('signin-button').click();
      const error = t.page.getByTestId('signin-error');
      await error.waitFor();
      assert.equal(await error.getByTestId('error-title').textContent(), 'The sign-in service cannot be reached');
      assert.equal(t.system.opened.length, 0, 'no browser was opened');
      assert.equal(await t.page.getByTestId('signin-button').isEnabled(), true);
      await screenshot(t.page, '07-provider-unreachable');
    } finally {
      await t?.close();
      await browser.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
