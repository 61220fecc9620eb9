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
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inflateSync } from 'node:zlib';
import type { Browser, Page } from 'playwright-core';
import { TileCache } from '../../main/cache/tile-cache.js';
import { FileRangeReader } from '../../main/sources/file.js';
import { encodePng, readRegion, type RgbaImage } from '../../main/tiles/region.js';
import { TileService, type SlideHandle } from '../../main/tiles/service.js';
import { launchChromium } from '../stack/browser-login.js';
import { ensureDemoSlide } from '../stack/demo-slides.js';
import { SHARED_TESTDATA, startStack, type RunningStack } from '../stack/stack.js';
import { SCREENSHOTS, signIn, startAppUnderTest, type AppUnderTest } from './helpers.js';

/** The slide test/stack puts in pathology-slides/demo/ (same generator spec as stack.ts). */
const DEMO = { name: 'demo-tissue-a', width: 4096, height: 3072, seed: 1 };
const DEMO_URI = 's3://pathology-slides/demo/demo-tissue-a.tif';
/** Real scanner files the stack puts in pathology-slides when the shared test data is there. */
const SHARED = [
  // Aperio: one level, 240-pixel tiles.
  { file: 'aperio-svs/CMU-1-Small-Region.svs', folder: 's3://pathology-slides/aperio/', name: 'CMU-1-Small-Region.svs' },
  // vips pyramid: level sizes floored (1483 where OSD would expect 1484).
  { file: 'derived/generic-tiff/CMU-1-Small-Region.pyramid-jpeg.tif', folder: 's3://pathology-slides/generic-tiff/', name: 'CMU-1-Small-Region.pyramid-jpeg.tif' },
];

/** window.__viewer (renderer/src/viewer/test-hook.ts); the tests compile without DOM types. */
interface Hook {
  whenFullyLoaded(): Promise<void>;
  getView(): View;
  setView(v: { x: number; y: number; zoom: number }): void;
}
type WithHook = { __viewer?: Hook };

interface View {
  canvasWidth: number;
  canvasHeight: number;
  x: number;
  y: number;
  zoom: number;
  drawnLevel: number;
}

describe('viewer: pixels on screen match the engine (headless host, real Chromium, real stack)', () => {
  let stack: RunningStack;
  let browser: Browser;
  let t: AppUnderTest;
  let engineDir: string;
  let engine: TileService;
  let engineCache: TileCache;
  let slide: SlideHandle;
  const failedRequests: string[] = [];
  const cancelledTiles: string[] = [];

  before(async () => {
    stack = await startStack({});
    browser = await launchChromium();
    t = await startAppUnderTest(browser, stack.configFile);
    t.page.on('requestfailed', (r) => {
      const failure = r.failure()?.errorText ?? '';
      // OSD drops tile loads it no longer needs when the view changes: expected.
      if (new URL(r.url()).pathname.startsWith('/tiles/') && failure === 'net::ERR_ABORTED') cancelledTiles.push(r.url());
      else failedRequests.push(`${r.url()} ${failure}`);
    });
    t.page.on('response', (r) => {
      if (r.status() >= 400) failedRequests.push(`${r.url()} ${r.status()}`);
    });
    await t.page.getByTestId('signin-screen').waitFor();
    // The reference: the same file the stack uploaded, read in place by the engine.
    engineDir = mkdtempSync(join(tmpdir(), 'wsi-viewer-ref-'));
    engineCache = TileCache.open(join(engineDir, 'tiles.db'));
    engine = new TileService({ cache: engineCache, resolve: async (uri) => new FileRangeReader(uri) });
    slide = await engine.open(ensureDemoSlide(DEMO));
  });
  after(async () => {
    await t?.close();
    await browser?.close();
    await stack?.stop();
    await engine?.close();
    engineCache?.close();
    if (engineDir) rmSync(engineDir, { recursive: true, force: true });
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
    const overview = await compareWithEngine(page, slide, 'viewer-overview');
    assert.ok(overview.view.drawnLevel > 0, `the overview is drawn from a reduced level (got ${overview.view.drawnLevel})`);
    assert.ok(overview.compared > 100_000, `compared ${overview.compared} pixels`);
    assert.ok(overview.mae < 2, `overview mean absolute difference ${overview.mae.toFixed(2)}`);
    assert.ok(overview.psnr >= 35, `overview PSNR ${overview.psnr.toFixed(1)} dB`);

    // Full resolution: level 0 at one screen pixel per slide pixel, off the slide's edges.
    await page.evaluate(() => (globalThis as WithHook).__viewer!.setView({ x: 1500, y: 1100, zoom: 1 }));
    await page.evaluate(() => (globalThis as WithHook).__viewer!.whenFullyLoaded());
    assert.match((await page.getByTestId('magnification').textContent()) ?? '', /^40×$/);
    await fullPage(page, 'viewer-full-resolution-screen');
    const full = await compareWithEngine(page, slide, 'viewer-full-resolution');
    assert.equal(full.view.drawnLevel, 0);
    assert.ok(full.compared > 300_000, `compared ${full.compared} pixels`);
    assert.ok(full.mae < 2, `full-resolution mean absolute difference ${full.mae.toFixed(2)}`);
    assert.ok(full.psnr >= 35, `full-resolution PSNR ${full.psnr.toFixed(1)} dB`);
    process.stderr.write(
      `viewer pixels: overview level ${overview.view.drawnLevel} MAE ${overview.mae.toFixed(2)} PSNR ${overview.psnr.toFixed(1)} dB over ${overview.compared} px; ` +
        `full resolution MAE ${full.mae.toFixed(2)} PSNR ${full.psnr.toFixed(1)} dB over ${full.compared} px; ${cancelledTiles.length} tile loads cancelled\n`,
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
      const stem = `viewer-${s.name.replace(/\..*$/, '').toLowerCase()}-${s.file.split('/')[0]}`;
      const overview = await compareWithEngine(page, ref, `${stem}-overview`);
      assert.ok(overview.compared > 50_000, `compared ${overview.compared} pixels`);
      assert.ok(overview.mae < 2, `overview mean absolute difference ${overview.mae.toFixed(2)}`);
      assert.ok(overview.psnr >= 35, `overview PSNR ${overview.psnr.toFixed(1)} dB`);
      const x = Math.floor(base.width / 2 - 400);
      const y = Math.floor(base.height / 2 - 300);
      await page.evaluate((v) => (globalThis as WithHook).__viewer!.setView(v), { x, y, zoom: 1 });
      await page.evaluate(() => (globalThis as WithHook).__viewer!.whenFullyLoaded());
      const full = await compareWithEngine(page, ref, `${stem}-full-resolution`);
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
    assert.deepEqual(failedRequests, []);
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

  async function compareWithEngine(page: Page, slide: SlideHandle, name: string): Promise<{ view: View; mae: number; psnr: number; compared: number }> {
    const view = await page.evaluate(() => (globalThis as WithHook).__viewer!.getView());
    assert.ok(view.drawnLevel >= 0, 'tiles are drawn');
    const shot = decodePng(await page.getByTestId('viewer-canvas').screenshot({ path: join(SCREENSHOTS, `${name}.png`) }));
    // The scale bar floats over the canvas: its pixels are not the slide's.
    const canvasBox = await page.getByTestId('viewer-canvas').boundingBox();
    const barBox = await page.getByTestId('scale-bar').boundingBox();
    assert.ok(canvasBox && barBox);
    const covered = (i: number, j: number): boolean =>
      i >= Math.floor(barBox.x - canvasBox.x) - 1 && i <= Math.ceil(barBox.x + barBox.width - canvasBox.x) && j >= Math.floor(barBox.y - canvasBox.y) - 1 && j <= Math.ceil(barBox.y + barBox.height - canvasBox.y);
    const level = slide.descriptor.levels[view.drawnLevel]!;
    const base = slide.descriptor.levels[0]!;
    const sx = level.width / base.width;
    // One scale per level, from the widths (as OSD places tiles): floored pyramids drop a
    // partial last row, they do not stretch the level vertically.
    const sy = sx;
    // Screen pixels fully inside the slide, with a pixel of margin for edge blending.
    const i0 = Math.max(0, Math.ceil(-view.x * view.zoom) + 1);
    const j0 = Math.max(0, Math.ceil(-view.y * view.zoom) + 1);
    const i1 = Math.min(shot.width, view.canvasWidth, Math.floor((base.width - view.x) * view.zoom) - 1);
    const j1 = Math.min(shot.height, view.canvasHeight, Math.floor((base.height - view.y) * view.zoom) - 1);
    assert.ok(i1 > i0 && j1 > j0, 'part of the slide is on screen');
    // Level pixel centre under screen pixel (i, j)'s centre.
    const lx = (i: number): number => (view.x + (i + 0.5) / view.zoom) * sx - 0.5;
    const ly = (j: number): number => (view.y + (j + 0.5) / view.zoom) * sy - 0.5;
    const rx = Math.max(0, Math.floor(lx(i0)) - 1);
    const ry = Math.max(0, Math.floor(ly(j0)) - 1);
    const rw = Math.min(level.width, Math.ceil(lx(i1)) + 2) - rx;
    const rh = Math.min(level.height, Math.ceil(ly(j1)) + 2) - ry;
    const ref = await readRegion(engine, slide, { level: view.drawnLevel, x: rx, y: ry, width: rw, height: rh });
    const expected = new Uint8Array(shot.width * shot.height * 4);
    let sum = 0;
    let sq = 0;
    let n = 0;
    for (let j = j0; j < j1; j++) {
      for (let i = i0; i < i1; i++) {
        if (covered(i, j)) continue;
        const px = bilinear(ref, lx(i) - rx, ly(j) - ry);
        const o = (j * shot.width + i) * 4;
        for (let c = 0; c < 3; c++) {
          const d = shot.data[o + c]! - px[c]!;
          sum += Math.abs(d);
          sq += d * d;
          expected[o + c] = Math.round(px[c]!);
        }
        expected[o + 3] = 255;
        n += 3;
      }
    }
    const mae = sum / n;
    const psnr = 10 * Math.log10((255 * 255) / Math.max(sq / n, 1e-9));
    // The engine's side too, for looking at both with an image viewer.
    writeFileSync(join(SCREENSHOTS, `${name}-engine.png`), await encodePng({ width: shot.width, height: shot.height, data: expected }));
    return { view, mae, psnr, compared: n / 3 };
  }
});

async function fullPage(page: Page, name: string): Promise<void> {
  mkdirSync(SCREENSHOTS, { recursive: true });
  await page.screenshot({ path: join(SCREENSHOTS, `${name}.png`) });
}

function bilinear(img: RgbaImage, x: number, y: number): [number, number, number] {
  const cx = Math.min(Math.max(x, 0), img.width - 1);
  const cy = Math.min(Math.max(y, 0), img.height - 1);
  const x0 = Math.floor(cx);
  const y0 = Math.floor(cy);
  const x1 = Math.min(x0 + 1, img.width - 1);
  const y1 = Math.min(y0 + 1, img.height - 1);
  const fx = cx - x0;
  const fy = cy - y0;
  const out: [number, number, number] = [0, 0, 0];
  for (let c = 0; c < 3; c++) {
    const p = (xx: number, yy: number): number => img.data[(yy * img.width + xx) * 4 + c]!;
    out[c] = (p(x0, y0) * (1 - fx) + p(x1, y0) * fx) * (1 - fy) + (p(x0, y1) * (1 - fx) + p(x1, y1) * fx) * fy;
  }
  return out;
}

/** Enough PNG for Chromium's screenshots: 8-bit RGB/RGBA, not interlaced. */
function decodePng(png: Buffer): RgbaImage {
  assert.equal(png.subarray(1, 4).toString('latin1'), 'PNG');
  let off = 8;
  let width = 0;
  let height = 0;
  let colorType = 0;
  const idat: Buffer[] = [];
  while (off < png.length) {
    const len = png.readUInt32BE(off);
    const type = png.subarray(off + 4, off + 8).toString('latin1');
    const data = png.subarray(off + 8, off + 8 + len);
    if (type === 'IHDR') {
      width = data.readUInt32BE(0);
      height = data.readUInt32BE(4);
      assert.equal(data[8], 8, '8-bit PNG');
      colorType = data[9]!;
      assert.equal(data[12], 0, 'not interlaced');
    } else if (type === 'IDAT') idat.push(data);
    off += 12 + len;
  }
  const bpp = colorType === 6 ? 4 : colorType === 2 ? 3 : 0;
  assert.ok(bpp, `PNG colour type ${colorType}`);
  const raw = inflateSync(Buffer.concat(idat));
  const stride = width * bpp;
  const prev = new Uint8Array(stride);
  const cur = new Uint8Array(stride);
  const out = new Uint8Array(width * height * 4);
  for (let y = 0; y < height; y++) {
    const filter = raw[y * (stride + 1)]!;
    const line = raw.subarray(y * (stride + 1) + 1, (y + 1) * (stride + 1));
    for (let x = 0; x < stride; x++) {
      const a = x >= bpp ? cur[x - bpp]! : 0;
      const b = prev[x]!;
      const c = x >= bpp ? prev[x - bpp]! : 0;
      let v = line[x]!;
      if (filter === 1) v += a;
      else if (filter === 2) v += b;
      else if (filter === 3) v += (a + b) >> 1;
      else if (filter === 4) {
        const p = a + b - c;
        const pa = Math.abs(p - a);
        const pb = Math.abs(p - b);
        const pc = Math.abs(p - c);
        v += pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
      }
      cur[x] = v & 0xff;
    }
    for (let x = 0; x < width; x++) {
      out[(y * width + x) * 4] = cur[x * bpp]!;
      out[(y * width + x) * 4 + 1] = cur[x * bpp + 1]!;
      out[(y * width + x) * 4 + 2] = cur[x * bpp + 2]!;
      out[(y * width + x) * 4 + 3] = bpp === 4 ? cur[x * bpp + 3]! : 255;
    }
    prev.set(cur);
  }
  return { width, height, data: out };
}
