/**
 * An identity provider that does not answer: the sign-in screen says so in words, no
 * browser is opened, and the sign-in button stays to try again.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { launchChromium } from '../stack/browser-login.js';
import { screenshot, startAppUnderTest, type AppUnderTest } from './helpers.js';

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
