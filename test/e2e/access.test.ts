/**
 * What each identity may see, in real Chromium through the headless host against the
 * real stack: bob sees research data and is told he has no access to the pathology
 * archive (by click and by typed location); carol (no group) is told she has no storage
 * rights and sees no location at all.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Browser } from 'playwright-core';
import { launchChromium } from '../stack/browser-login.js';
import { startStack, type RunningStack } from '../stack/stack.js';
import { entryNames, screenshot, signIn, startAppUnderTest, type AppUnderTest } from './helpers.js';

describe('storage rights per identity (headless host, real Chromium, real stack)', () => {
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
    await t.page.getByTestId('signin-screen').waitFor();
  });
  after(async () => {
    await t?.close();
    await browser?.close();
    await stack?.stop();
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
