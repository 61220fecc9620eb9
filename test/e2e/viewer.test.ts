/**
 * The viewer in real Chromium through the headless host against the real stack: alice
 * opens the demo slide from the storage browser; once OpenSeadragon has every tile of the
 * view, the screenshot of the viewer canvas is compared pixel by pixel with the engine's
 * own `readRegion` output for the same area (at the level OSD draws, resampled to the
 * screen), at the whole-slide overview and at full resolution. No console errors and no
 * failed requests other than tile loads the viewer itself cancelled.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import type { SlideHandle, TileService } from '../../main/tiles/service.js';
import { ensureDemoSlide } from '../stack/demo-slides.js';
import { SHARED_TESTDATA, type RunningStack } from '../stack/stack.js';
import { compareWithEngine, fullPage, type WithViewerHook, engineReference, type EngineReference } from './engine-compare.js';
import { type AppUnderTest, type E2eWorld, signIn, startWorld } from './helpers.js';

/** The slide test/stack puts in pathology-slides/demo/ (same generator spec as stack.ts). */
const DEMO = { name: 'demo-tissue-a', width: 4096, height: 3072, seed: 1 };
const DEMO_URI = 's3://pathology-slides/demo/demo-tissue-a.tif';
/** Real scanner files the stack puts in pathology-slides when the shared test data is there. */
const SHARED = [
  // Aperio: one level, 240-pixel tiles.
  { file: 'aperio-svs/CMU-1-Small-Region.svs', folder: 's3://pathology-slides/aperio/', name: 'CMU-1-Small-Region.svs' },
  // vips pyramid: level sizes floored (1483 where OSD would expect 1484).
  { file: 'derived/generic-tiff/CMU-1-Small-Region.pyramid-jpeg.tif', folder: 's3://pathology-slides/generic-tiff/', name: 'CMU-1-Small-Region.pyramid-jpeg.tif' },
  // The same as BigTIFF (64-bit offsets).
  { file: 'derived/generic-tiff/CMU-1-Small-Region.pyramid-jpeg.bigtiff.tif', folder: 's3://pathology-slides/generic-tiff/', name: 'CMU-1-Small-Region.pyramid-jpeg.bigtiff.tif' },
  // DICOM WSI, one file per level in one S3 prefix: the clicked file opens as its series.
  { file: 'dicom-wsi/cmu1-small-region-wsi2dcm-pyramid/level-0-frames-0-30.dcm', folder: 's3://pathology-slides/dicom/cmu1-small-region/', name: 'level-0-frames-0-30.dcm' },
  // DICOM WSI, one level, YBR_FULL_422 JPEG frames.
  { file: 'dicom-wsi/wsi2dcm-single-level/jpeg-baseline.dcm', folder: 's3://teaching/dicom/single-level/', name: 'jpeg-baseline.dcm' },
  // DICOM WSI, JPEG 2000 lossless frames (decoded in main, sent as PNG).
  { file: 'dicom-wsi/wsi2dcm-single-level/jpeg2000-lossless.dcm', folder: 's3://teaching/dicom/jpeg2000/', name: 'jpeg2000-lossless.dcm' },
  // DICOM WSI, uncompressed frames.
  { file: 'dicom-wsi/wsi2dcm-single-level/raw-explicit-le.dcm', folder: 's3://teaching/dicom/native/', name: 'raw-explicit-le.dcm' },
  // Hand-assembled, non-conformant DICOM (no DimensionOrganizationType, empty ImageType).
  { file: 'dicom-wsi/pathml-small_dicom-tcga.dcm', folder: 's3://teaching/dicom/tcga/', name: 'pathml-small_dicom-tcga.dcm' },
  // Hamamatsu NDPI: one JPEG stripe per level with restart markers.
  { file: 'hamamatsu-ndpi/test3-DAPI-2-387.ndpi', folder: 's3://teaching/ndpi/', name: 'test3-DAPI-2-387.ndpi' },
  // OME-TIFF brightfield with its pyramid in SubIFDs.
  { file: 'derived/ome-tiff/CMU-1-Small-Region.rgb-pyramid-subifds.ome.tif', folder: 's3://teaching/ome-tiff/', name: 'CMU-1-Small-Region.rgb-pyramid-subifds.ome.tif' },
];

type WithHook = WithViewerHook;

describe('viewer: pixels on screen match the engine (headless host, real Chromium, real stack)', () => {
  let world: E2eWorld;
  let stack: RunningStack;
  let browser: Browser;
  let t: AppUnderTest;
  let reference: EngineReference;
  let engine: TileService;
  let slide: SlideHandle;

  before(async () => {
    world = await startWorld();
    ({ stack, browser, t } = world);
    // The reference: the same file the stack uploaded, read in place by the engine.
    reference = engineReference();
    engine = reference.engine;
    slide = await engine.open(ensureDemoSlide(DEMO));
  });
  after(async () => {
    await world?.stop();
    await reference?.close();
  });

  test('alice opens the demo slide; overview and full resolution match readRegion', async () => {
    const user = stack.users.find((u) => u.username === 'alice');
    assert.ok(user);
    await signIn(t, browser, user);
    const page = t.page;
    await page.getByRole('button', { name: 'Pathology archive' }).click();
    await page.locator('[data-testid=listing][data-uri="s3://pathology-slides/"]').waitFor();
    await page.locator('[data-testid=entry][data-name="demo"] button').click();
    await page.locator('[data-testid=listing][data-uri="s3://pathology-slides/demo/"]').waitFor();
    await page.locator('[data-testid=entry][data-name="demo-tissue-a.tif"] [data-testid=open-slide]').click();

    await page.locator(`[data-testid=viewer][data-uri="${DEMO_URI}"]`).waitFor();
    await page.waitForFunction(() => (globalThis as WithHook).__viewer !== undefined);
    await page.evaluate(() => (globalThis as WithHook).__viewer!.whenFullyLoaded());
    assert.equal(await page.getByTestId('viewer-loading').count(), 0, 'the loading badge goes once every tile is in');
    assert.equal(await page.getByTestId('prop-size').textContent(), '4,096 × 3,072 px');
    assert.match((await page.getByTestId('prop-mpp').textContent()) ?? '', /^0\.2500 × 0\.2500 µm$/);
    assert.match((await page.getByTestId('scale-bar-label').textContent()) ?? '', /^\d+(\.\d+)? (µm|mm)$/);
    await fullPage(page, 'viewer-overview-screen');

    // Overview: the whole slide in view, drawn from a reduced level and scaled by the browser.
    const overview = await compareWithEngine(page, engine, slide, 'viewer-overview');
    assert.ok(overview.view.drawnLevel > 0, `the overview is drawn from a reduced level (got ${overview.view.drawnLevel})`);
    assert.ok(overview.compared > 100_000, `compared ${overview.compared} pixels`);
    assert.ok(overview.mae < 2, `overview mean absolute difference ${overview.mae.toFixed(2)}`);
    assert.ok(overview.psnr >= 35, `overview PSNR ${overview.psnr.toFixed(1)} dB`);

    // Full resolution: level 0 at one screen pixel per slide pixel, off the slide's edges.
    await page.evaluate(() => (globalThis as WithHook).__viewer!.setView({ x: 1500, y: 1100, zoom: 1 }));
    await page.evaluate(() => (globalThis as WithHook).__viewer!.whenFullyLoaded());
    assert.match((await page.getByTestId('magnification').textContent()) ?? '', /^40×$/);
    await fullPage(page, 'viewer-full-resolution-screen');
    const full = await compareWithEngine(page, engine, slide, 'viewer-full-resolution');
    assert.equal(full.view.drawnLevel, 0);
    assert.ok(full.compared > 300_000, `compared ${full.compared} pixels`);
    assert.ok(full.mae < 2, `full-resolution mean absolute difference ${full.mae.toFixed(2)}`);
    assert.ok(full.psnr >= 35, `full-resolution PSNR ${full.psnr.toFixed(1)} dB`);
    process.stderr.write(
      `viewer pixels: overview level ${overview.view.drawnLevel} MAE ${overview.mae.toFixed(2)} PSNR ${overview.psnr.toFixed(1)} dB over ${overview.compared} px; ` +
        `full resolution MAE ${full.mae.toFixed(2)} PSNR ${full.psnr.toFixed(1)} dB over ${full.compared} px; ${t.cancelledTiles.length} tile loads cancelled\n`,
    );

    // Back to the folder the slide came from.
    await page.getByTestId('viewer-back').click();
    await page.locator('[data-testid=listing][data-uri="s3://pathology-slides/demo/"]').waitFor();
    const stats = await page.evaluate(async () => {
      const r = await fetch('/api/cache.stats', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
      return ((await r.json()) as { result: { entries: number; budget: number } }).result;
    });
    assert.ok(stats.entries > 0, 'the viewed tiles are in the cache');
    assert.ok(stats.budget > 0);
  });

  for (const s of SHARED) {
    test(`${s.name}: overview and full resolution match readRegion`, async (tc) => {
      const path = join(SHARED_TESTDATA, s.file);
      if (!existsSync(path)) return tc.skip(`${s.file} is not in the shared test data`);
      const ref = await engine.open(path);
      const page = t.page;
      await page.getByTestId('goto-input').fill(s.folder);
      await page.getByTestId('goto-button').click();
      await page.locator(`[data-testid=listing][data-uri="${s.folder}"]`).waitFor();
      await page.locator(`[data-testid=entry][data-name="${s.name}"] [data-testid=open-slide]`).click();
      await page.locator(`[data-testid=viewer][data-uri="${s.folder}${s.name}"]`).waitFor();
      await page.waitForFunction(() => (globalThis as WithHook).__viewer !== undefined);
      await page.evaluate(() => (globalThis as WithHook).__viewer!.whenFullyLoaded());
      const base = ref.descriptor.levels[0]!;
      assert.equal(await page.getByTestId('prop-levels').textContent(), String(ref.descriptor.levels.length));
      const stem = `viewer-${s.name.replace(/\.[^.]+$/, '').toLowerCase()}-${s.file.split('/')[0]}`;
      const overview = await compareWithEngine(page, engine, ref, `${stem}-overview`);
      assert.ok(overview.compared > 50_000, `compared ${overview.compared} pixels`);
      assert.ok(overview.mae < 2, `overview mean absolute difference ${overview.mae.toFixed(2)}`);
      assert.ok(overview.psnr >= 35, `overview PSNR ${overview.psnr.toFixed(1)} dB`);
      const x = Math.floor(base.width / 2 - 400);
      const y = Math.floor(base.height / 2 - 300);
      await page.evaluate((v) => (globalThis as WithHook).__viewer!.setView(v), { x, y, zoom: 1 });
      await page.evaluate(() => (globalThis as WithHook).__viewer!.whenFullyLoaded());
      const full = await compareWithEngine(page, engine, ref, `${stem}-full-resolution`);
      assert.equal(full.view.drawnLevel, 0);
      assert.ok(full.mae < 2, `full-resolution mean absolute difference ${full.mae.toFixed(2)}`);
      assert.ok(full.psnr >= 35, `full-resolution PSNR ${full.psnr.toFixed(1)} dB`);
      process.stderr.write(
        `viewer pixels ${s.name}: overview level ${overview.view.drawnLevel} MAE ${overview.mae.toFixed(2)} PSNR ${overview.psnr.toFixed(1)} dB; ` +
          `full resolution MAE ${full.mae.toFixed(2)} PSNR ${full.psnr.toFixed(1)} dB\n`,
      );
      await page.getByTestId('viewer-back').click();
      await page.locator(`[data-testid=listing][data-uri="${s.folder}"]`).waitFor();
      await engine.closeSlide(ref);
    });
  }

  test('no console errors and no failed requests but tile loads the viewer cancelled', () => {
    assert.deepEqual(t.consoleErrors, []);
    assert.deepEqual(t.failedRequests, []);
  });

  test("after sign-out an open slide's tile URL no longer answers", async () => {
    const page = t.page;
    await page.getByTestId('goto-input').fill('s3://pathology-slides/demo/');
    await page.getByTestId('goto-button').click();
    await page.locator('[data-testid=entry][data-name="demo-tissue-a.tif"] [data-testid=open-slide]').click();
    await page.waitForFunction(() => (globalThis as WithHook).__viewer !== undefined);
    await page.evaluate(() => (globalThis as WithHook).__viewer!.whenFullyLoaded());
    const id = await page.evaluate(() => (globalThis as unknown as { __viewer: { slideId: string } }).__viewer.slideId);
    // Past the browser's own cache (tiles are privately cacheable): a query the route
    // ignores makes a URL the cache has not seen, so the server answers.
    let n = 0;
    const status = (path: string) => page.evaluate(async (p) => (await fetch(p)).status, `${path}?fresh=${++n}`);
    assert.equal(await status(`/tiles/${id}/0/0/0`), 200);
    await page.getByTestId('signout-button').click();
    await page.getByTestId('signin-screen').waitFor();
    assert.equal(await status(`/tiles/${id}/0/0/0`), 404);
  });
});
