/**
 * The headless launch link in a real Chromium (issue 9 §3): the private file `--open`
 * hands the OS opener leads the browser into the app (the cookie is SameSite=Strict, so
 * the cross-site arrival from file:// needs the host's same-site step), and the link is
 * spent: opening it again in another browser shows the "already used" page.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Browser } from 'playwright-core';
import { createAppRequestHandler } from '../../main/api/app-protocol.js';
import { createEventBus, createHandlers } from '../../main/api/handlers.js';
import { startHttpHost, type HttpHost } from '../../main/api/http-host.js';
import { openLaunchLink } from '../../main/app/open-browser.js';
import { launchChromium } from '../stack/browser-login.js';
import { fakeServices } from '../unit/api/fake-services.js';

describe('headless launch link in Chromium', () => {
  let browser: Browser;
  let host: HttpHost;
  let dir: string;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'wsi-launch-e2e-'));
    const bundle = join(dir, 'bundle');
    mkdirSync(bundle);
    writeFileSync(join(bundle, 'index.html'), '<!doctype html><title>Slide Workstation test page</title><p id="app">app</p>');
    const services = fakeServices();
    host = await startHttpHost({ handlers: createHandlers(services), events: createEventBus(services), app: createAppRequestHandler({ rendererDir: bundle }) });
    browser = await launchChromium();
  });
  after(async () => {
    await browser?.close();
    await host?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('the private launch file signs the browser in once; the link then refuses a second browser', async () => {
    let used = false;
    const url = host.newLaunchUrl(() => {
      used = true;
    });
    // No opener command: the test plays the OS opener by giving Chromium the file it would get.
    const handoff = await openLaunchLink(url, { command: ['/bin/true', []], dir });
    try {
      const first = await browser.newContext();
      const page = await first.newPage();
      await page.goto(pathToFileURL(handoff.file).href);
      await page.waitForURL(`${host.origin}/`);
      await page.locator('#app').waitFor();
      assert.equal(await page.title(), 'Slide Workstation test page');
      assert.equal(used, true);
      const cookies = await first.cookies(host.origin);
      assert.ok(cookies.some((c) => c.name.startsWith('wsi_session_') && c.httpOnly && c.sameSite === 'Strict'));
      // The same browser reopening the link goes on to the app.
      await page.goto(url);
      await page.locator('#app').waitFor();

      const second = await browser.newContext();
      const other = await second.newPage();
      const r = await other.goto(url);
      assert.equal(r?.status(), 410);
      assert.match(await other.locator('h1').innerText(), /already been used/);
      await first.close();
      await second.close();
    } finally {
      handoff.remove();
    }
  });
});
