/**
 * Offline in real Chromium through the headless host against the real stack: alice pins
 * the demo slide from the viewer and watches the download reach 100 % (progress arrives
 * as pins.changed events over server-sent events), sees it in the offline manager, views
 * another slide and clears the cache (the pin stays). Then MinIO is stopped: the slide
 * she has no copy of says "not available offline"; after a reload the app says it is
 * offline, lists the pinned slide, and that slide opens from the cache with the same
 * pixels as the engine's own readRegion (the check of viewer.test.ts). No console errors.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';

import type { Browser } from 'playwright-core';
import type { SlideHandle, TileService } from '../../main/tiles/service.js';
import { ensureDemoSlide } from '../stack/demo-slides.js';
import { type RunningStack } from '../stack/stack.js';
import { compareWithEngine, fullPage, setViewerView, whenViewerLoaded, engineReference, type EngineReference } from './engine-compare.js';
import { type AppUnderTest, type E2eWorld, screenshot, signIn, startWorld } from './helpers.js';

/** The slide test/stack puts in pathology-slides/demo/ (same generator spec as stack.ts). */
const DEMO = { name: 'demo-tissue-a', width: 4096, height: 3072, seed: 1 };
const DEMO_URI = 's3://pathology-slides/demo/demo-tissue-a.tif';
const TEACHING_FOLDER = 's3://teaching/demo/';
const TEACHING_URI = `${TEACHING_FOLDER}demo-tissue-c.tif`;

describe('offline: pin from the viewer, storage goes away, the pinned slide still opens (headless host, real Chromium, real stack)', () => {
  let world: E2eWorld;
  let stack: RunningStack;
  let browser: Browser;
  let t: AppUnderTest;
  let reference: EngineReference;
  let engine: TileService;
  let slide: SlideHandle;

  before(async () => {
    world = await startWorld({ seedSharedTestdata: false });
    ({ stack, browser, t } = world);
    // The reference: the same file the stack uploaded, read in place by the engine.
    reference = engineReference();
    engine = reference.engine;
    slide = await engine.open(ensureDemoSlide(DEMO));
  });
  after(async () => {
    // The restart test replaced the app.
    if (world) world.t = t;
    await world?.stop();
    await reference?.close();
  });

  test('alice makes the demo slide available offline from the viewer and follows it to 100 %', async () => {
    const user = stack.users.find((u) => u.username === 'alice');
    assert.ok(user);
    await signIn(t, browser, user);
    const page = t.page;
    await page.getByRole('button', { name: 'Pathology archive' }).click();
    await page.locator('[data-testid=entry][data-name="demo"] button').click();
    await page.locator('[data-testid=listing][data-uri="s3://pathology-slides/demo/"]').waitFor();
    await page.locator('[data-testid=entry][data-name="demo-tissue-a.tif"] [data-testid=open-slide]').click();
    await page.locator(`[data-testid=viewer][data-uri="${DEMO_URI}"]`).waitFor();
    await whenViewerLoaded(page);

    await page.getByTestId('pin-button').click();
    const extent = page.getByTestId('pin-extent');
    const options = await extent.locator('option').allTextContents();
    assert.ok(options.length >= 3, `one choice per level: ${options.join(' | ')}`);
    assert.match(options[0]!, /^Whole slide at full resolution \(40×\)$/);
    assert.ok(options.slice(1).every((o) => /^Down to \d+(\.\d+)?× \(\d/.test(o)), 'coarser levels are offered by magnification');
    await screenshot(page, 'offline-pin-choice');
    await page.getByTestId('pin-start').click();

    const status = page.getByTestId('pin-status');
    await status.waitFor();
    await page.locator('[data-testid=pin-status][data-state=done]').waitFor();
    assert.equal(await status.getAttribute('data-percent'), '100');
    assert.equal(await page.getByTestId('pin-status-text').textContent(), 'Available offline');
    await screenshot(page, 'offline-pinned-in-viewer');

    // The offline manager, from the header: the pin, its size, and the cache against its budget.
    await page.getByTestId('offline-manager-button').click();
    const row = page.locator(`[data-testid=pin-row][data-uri="${DEMO_URI}"]`);
    await row.waitFor();
    assert.equal(await row.getAttribute('data-state'), 'done');
    assert.equal(await row.getAttribute('data-percent'), '100');
    assert.match((await row.getByTestId('pin-size').textContent()) ?? '', /^\d+(\.\d+)? (KB|MB)$/);
    const usage = page.getByTestId('cache-usage');
    assert.ok(Number(await usage.getAttribute('data-pinned-bytes')) > 0);
    assert.match((await page.getByTestId('cache-usage-text').textContent()) ?? '', / used of \d+(\.\d+)? (MB|GB) /);
    await screenshot(page, 'offline-manager');
    // The budget is the user's to set here (no IT policy in the demo): 4 GB.
    await page.getByTestId('budget-input').fill('4');
    await page.getByTestId('budget-save').click();
    await page.locator(`[data-testid=cache-usage][data-budget="${4 * 1024 ** 3}"]`).waitFor();
    assert.match((await page.getByTestId('cache-usage-text').textContent()) ?? '', / used of 4\.0 GB /);
    await page.getByTestId('offline-manager-close').click();
  });

  test('viewing another slide, then "Clear cache" keeps the offline slide', async () => {
    const page = t.page;
    await page.getByTestId('viewer-back').click();
    await page.getByTestId('goto-input').fill(TEACHING_FOLDER);
    await page.getByTestId('goto-button').click();
    await page.locator(`[data-testid=listing][data-uri="${TEACHING_FOLDER}"]`).waitFor();
    await page.locator('[data-testid=entry][data-name="demo-tissue-c.tif"] [data-testid=open-slide]').click();
    await page.locator(`[data-testid=viewer][data-uri="${TEACHING_URI}"]`).waitFor();
    await whenViewerLoaded(page);
    await page.getByTestId('viewer-back').click();
    await page.locator(`[data-testid=listing][data-uri="${TEACHING_FOLDER}"]`).waitFor();

    await page.getByTestId('offline-manager-button').click();
    const usage = page.getByTestId('cache-usage');
    await usage.waitFor();
    const bytes = Number(await usage.getAttribute('data-bytes'));
    const pinned = Number(await usage.getAttribute('data-pinned-bytes'));
    assert.ok(bytes > pinned, 'the viewed slide added unpinned tiles');
    await page.getByTestId('clear-cache').click();
    await page.getByTestId('clear-confirm').click();
    await page.locator(`[data-testid=cache-usage][data-bytes="${pinned}"]`).waitFor();
    assert.equal(await usage.getAttribute('data-pinned-bytes'), String(pinned), 'the offline slide is kept');
    assert.equal(await page.locator(`[data-testid=pin-row][data-uri="${DEMO_URI}"]`).getAttribute('data-state'), 'done');
    await screenshot(page, 'offline-manager-cleared');
    await page.getByTestId('offline-manager-close').click();
    await page.locator(`[data-testid=listing][data-uri="${TEACHING_FOLDER}"]`).waitFor();
  });

  test('storage stops: a slide with no copy here is "not available offline"', async () => {
    const page = t.page;
    await stack.minio.stop();
    // The folder listed before the outage is still on screen; its slide has nothing cached any more.
    await page.locator('[data-testid=entry][data-name="demo-tissue-c.tif"] [data-testid=open-slide]').click();
    const error = page.getByTestId('viewer-error');
    await error.waitFor();
    assert.equal(await error.getAttribute('data-code'), 'SLIDE_NOT_AVAILABLE_OFFLINE');
    assert.equal(await error.getByTestId('error-title').textContent(), 'Not available offline');
    assert.match((await error.textContent()) ?? '', /demo-tissue-c\.tif is not available offline/);
    // Main found out from the failed open and told the renderer.
    await page.getByTestId('offline-indicator').waitFor();
    await screenshot(page, 'offline-not-available');
  });

  test('after a reload the app says it is offline, lists the pinned slide, and it opens with the right pixels', async () => {
    const page = t.page;
    await page.reload();
    await page.getByTestId('header').waitFor();
    const banner = page.getByTestId('offline-banner');
    await banner.waitFor();
    assert.match((await banner.textContent()) ?? '', /You are offline.*Storage cannot be reached/);
    await page.getByTestId('offline-indicator').waitFor();
    const entries = page.getByTestId('offline-entry');
    await entries.first().waitFor();
    assert.deepEqual(await entries.evaluateAll((rows) => rows.map((r) => [r.getAttribute('data-uri'), r.getAttribute('data-availability')])), [[DEMO_URI, 'full']]);
    assert.match((await entries.first().getByTestId('availability').textContent()) ?? '', /^Available offline, full resolution$/);
    await screenshot(page, 'offline-storage-browser');

    await entries.first().getByTestId('open-slide').click();
    await page.locator(`[data-testid=viewer][data-uri="${DEMO_URI}"]`).waitFor();
    await page.getByTestId('viewer-offline').waitFor();
    await whenViewerLoaded(page);
    assert.equal(await page.getByTestId('viewer-tile-error').count(), 0, 'every tile came from the cache');
    assert.equal(await page.locator('[data-testid=pin-status][data-state=done]').count(), 1);
    await fullPage(page, 'offline-viewer-overview-screen');

    const overview = await compareWithEngine(page, engine, slide, 'offline-viewer-overview');
    assert.ok(overview.view.drawnLevel > 0, `the overview is drawn from a reduced level (got ${overview.view.drawnLevel})`);
    assert.ok(overview.compared > 100_000, `compared ${overview.compared} pixels`);
    assert.ok(overview.mae < 2, `overview mean absolute difference ${overview.mae.toFixed(2)}`);
    assert.ok(overview.psnr >= 35, `overview PSNR ${overview.psnr.toFixed(1)} dB`);

    await setViewerView(page, { x: 1500, y: 1100, zoom: 1 });
    const full = await compareWithEngine(page, engine, slide, 'offline-viewer-full-resolution');
    assert.equal(full.view.drawnLevel, 0);
    assert.ok(full.compared > 300_000, `compared ${full.compared} pixels`);
    assert.ok(full.mae < 2, `full-resolution mean absolute difference ${full.mae.toFixed(2)}`);
    assert.ok(full.psnr >= 35, `full-resolution PSNR ${full.psnr.toFixed(1)} dB`);
    assert.equal(await page.getByTestId('viewer-tile-error').count(), 0);
    process.stderr.write(
      `offline viewer pixels: overview level ${overview.view.drawnLevel} MAE ${overview.mae.toFixed(2)} PSNR ${overview.psnr.toFixed(1)} dB; ` +
        `full resolution MAE ${full.mae.toFixed(2)} PSNR ${full.psnr.toFixed(1)} dB\n`,
    );
  });

  test('no console errors and no failed requests', () => {
    assert.deepEqual(t.consoleErrors, []);
    assert.deepEqual(t.failedRequests, []);
  });

  test('the app restarted with neither storage nor the sign-in service: alice works offline and the pinned slide opens', async () => {
    await stack.idp.stop();
    t = await t.restart();
    const page = t.page;
    // No sign-in screen: the saved sign-in says who works here, and the app says why it is offline.
    const banner = page.getByTestId('offline-session');
    await banner.waitFor();
    assert.match((await banner.textContent()) ?? '', /Working offline as Alice Pathologist: the sign-in service cannot be reached/);
    assert.equal(await page.getByTestId('user-name').textContent(), 'Alice Pathologist');
    await page.getByTestId('offline-indicator').waitFor();
    const entry = page.locator(`[data-testid=offline-entry][data-uri="${DEMO_URI}"]`);
    await entry.waitFor();
    await screenshot(page, 'offline-after-restart');
    await entry.getByTestId('open-slide').click();
    await page.getByTestId('viewer-offline').waitFor();
    await whenViewerLoaded(page);
    assert.equal(await page.getByTestId('viewer-tile-error').count(), 0, 'every tile came from the cache');
    const overview = await compareWithEngine(page, engine, slide, 'offline-restart-overview');
    assert.ok(overview.mae < 2 && overview.psnr >= 35, `after a restart offline: MAE ${overview.mae.toFixed(2)}, PSNR ${overview.psnr.toFixed(1)} dB`);
    assert.deepEqual(t.consoleErrors, []);
  });
});
