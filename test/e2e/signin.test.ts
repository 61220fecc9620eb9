/**
 * The sign-in story in real Chromium through the headless host against the real stack:
 * the sign-in screen, cancel, alice signs in in the "system browser" (a second Chromium
 * context) and sees the pathology archive, the CSP holds, sign-out returns to the
 * sign-in screen. bob and carol: access.test.ts. Screenshots: test-results/screenshots/.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Browser } from 'playwright-core';
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
    // (Keycloak's issuer has a path, the realm; its end-session endpoint is under it.)
    for (const u of logout) assert.ok(u.startsWith(`${stack.issuer}/`), `${u} is not at ${stack.issuer}`);
  });
});

