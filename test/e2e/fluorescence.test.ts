/**
 * Fluorescence in real Chromium through the headless host against the real stack: bob
 * opens the two-channel 16-bit OME-TIFF (DAPI, TRITC) from the research bucket. Once
 * every tile is in and the first automatic contrast is applied, the viewer canvas is
 * compared pixel by pixel with the engine's own raw 16-bit planes of the same file,
 * composited here (independently of the renderer's code) with the settings the channel
 * panel shows: overview and full resolution. Then a channel's colour is changed and a
 * channel switched off through the panel; the screen must follow, without a single tile
 * fetched again. No console errors, no failed requests.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import jpeg from 'jpeg-js';
import type { Browser, Page } from 'playwright-core';
import type { EncodedTile } from '../../main/formats/types.js';
import type { SlideHandle, TileService } from '../../main/tiles/service.js';
import { SHARED_TESTDATA, type RunningStack } from '../stack/stack.js';
import { compareScreen, type ScreenComparison, type WithViewerHook, engineReference, type EngineReference } from './engine-compare.js';
import { type AppUnderTest, type E2eWorld, SCREENSHOTS, signIn, startWorld } from './helpers.js';
import type { Rgb } from './pixels.js';

const FILE = 'derived/ome-tiff/NDPI-DAPI-TRITC.2ch-uint16-pyramid-subifds.ome.tif';
const FOLDER = 's3://research-slides/ome-tiff/';
const NAME = 'NDPI-DAPI-TRITC.2ch-uint16-pyramid-subifds.ome.tif';
/** One level of the WG26 series (3072×2304, 1024² frames, one MONOCHROME2 JPEG frame per optical path). */
const DICOM_FILE = 'dicom-wsi/wg26-bpaec-3dhistech-partial/5_0.dcm';
const DICOM_FOLDER = 's3://research-slides/dicom/wg26-bpaec/';
const DICOM_NAME = '5_0.dcm';
/** Zeiss CZI (issue 14): Gray16 mosaics, one channel each, coloured as ZEN's display settings say. */
const CZI = [
  { file: 'zeiss-czi/1_tileregion.czi', name: '1_tileregion.czi', color: [0, 255, 91] },
  { file: 'zeiss-czi/S3_1Pos_2Mosaic_T1_Z1_CH1.czi', name: 'S3_1Pos_2Mosaic_T1_Z1_CH1.czi', color: [0, 161, 255] },
] as const;
const CZI_FOLDER = 's3://research-slides/czi/';

/** A channel's settings as the panel shows them. */
interface Setting {
  visible: boolean;
  color: [number, number, number];
  min: number;
  max: number;
}

/** Enough DOM for the page functions below (the tests compile without DOM types). */
type WithDocument = { document: { querySelector(s: string): { getAttribute(n: string): string | null } | null } };

/**
 * The panel has applied every change asked for (renderer/src/components/ChannelPanel.tsx).
 * A function, not a string: the CSP (rightly) forbids eval in the page.
 */
function settled(after: number): boolean {
  const p = (globalThis as unknown as WithDocument).document.querySelector('[data-testid=channel-panel]');
  return !!p && p.getAttribute('data-ready') === 'true' && Number(p.getAttribute('data-version')) > after && p.getAttribute('data-applied') === p.getAttribute('data-version');
}

describe('fluorescence: composited channels on screen match the engine (headless host, real Chromium, real stack)', { skip: !existsSync(join(SHARED_TESTDATA, FILE)) && `${FILE} is not in the shared test data` }, () => {
  let world: E2eWorld;
  let stack: RunningStack;
  let browser: Browser;
  let t: AppUnderTest;
  let reference: EngineReference;
  let engine: TileService;
  let slide: SlideHandle;
  const tileRequests: string[] = [];

  before(async () => {
    world = await startWorld();
    ({ stack, browser, t } = world);
    t.page.on('request', (r) => {
      if (new URL(r.url()).pathname.startsWith('/tiles/')) tileRequests.push(r.url());
    });
    // The reference: the same file the stack uploaded, read in place by the engine.
    reference = engineReference();
    engine = reference.engine;
    slide = await engine.open(join(SHARED_TESTDATA, FILE));
  });
  after(async () => {
    await world?.stop();
    await reference?.close();
  });

  test('bob opens the 2-channel 16-bit OME-TIFF; overview and full resolution match the raw planes composited with the panel settings', async () => {
    const user = stack.users.find((u) => u.username === 'bob');
    assert.ok(user);
    await signIn(t, browser, user);
    const page = t.page;
    await page.getByTestId('goto-input').fill(FOLDER);
    await page.getByTestId('goto-button').click();
    await page.locator(`[data-testid=listing][data-uri="${FOLDER}"]`).waitFor();
    await page.locator(`[data-testid=entry][data-name="${NAME}"] [data-testid=open-slide]`).click();
    await page.locator(`[data-testid=viewer][data-uri="${FOLDER}${NAME}"]`).waitFor();
    await settle(page);

    assert.equal(await page.getByTestId('viewer-unsupported').count(), 0);
    assert.equal(await page.getByTestId('channel-0').getAttribute('data-name'), 'DAPI');
    assert.equal(await page.getByTestId('channel-1').getAttribute('data-name'), 'TRITC');
    const initial = await readSettings(page, 2);
    // Default colours by dye; the 16-bit data got the automatic window (narrower than 0–65535).
    assert.deepEqual(initial.map((s) => s.color), [[0, 0, 255], [255, 0, 0]]);
    for (const s of initial) {
      assert.ok(s.visible);
      assert.ok(s.max > s.min && (s.min > 0 || s.max < 65535), `automatic window ${s.min}–${s.max}`);
    }
    await shot(page, 'fluorescence-overview-screen');

    const overview = await compare(page, slide, initial, 'fluorescence-overview');
    assert.ok(overview.view.drawnLevel > 0, `the overview is drawn from a reduced level (got ${overview.view.drawnLevel})`);
    assert.ok(overview.compared > 50_000, `compared ${overview.compared} pixels`);
    assert.ok(overview.mae < 2, `overview mean absolute difference ${overview.mae.toFixed(2)}`);
    assert.ok(overview.psnr >= 35, `overview PSNR ${overview.psnr.toFixed(1)} dB`);
    assert.ok(overview.mean[0] > 5 && overview.mean[2] > 5, `both channels show (mean RGB ${overview.mean.map((m) => m.toFixed(1)).join(', ')})`);

    const base = slide.descriptor.levels[0]!;
    await page.evaluate((v) => (globalThis as WithViewerHook).__viewer!.setView(v), { x: Math.floor(base.width / 2 - 400), y: Math.floor(base.height / 2 - 300), zoom: 1 });
    await settle(page);
    const full = await compare(page, slide, initial, 'fluorescence-full-resolution');
    assert.equal(full.view.drawnLevel, 0);
    assert.ok(full.compared > 300_000, `compared ${full.compared} pixels`);
    assert.ok(full.mae < 2, `full-resolution mean absolute difference ${full.mae.toFixed(2)}`);
    assert.ok(full.psnr >= 35, `full-resolution PSNR ${full.psnr.toFixed(1)} dB`);
    process.stderr.write(
      `fluorescence pixels: overview level ${overview.view.drawnLevel} MAE ${overview.mae.toFixed(2)} PSNR ${overview.psnr.toFixed(1)} dB over ${overview.compared} px; ` +
        `full resolution MAE ${full.mae.toFixed(2)} PSNR ${full.psnr.toFixed(1)} dB over ${full.compared} px\n`,
    );
  });

  test('changing a colour and switching a channel off redraws from the loaded planes: the pixels follow, no tile is fetched again', async () => {
    const page = t.page;
    const before = await readSettings(page, 2);
    const fetched = tileRequests.length;

    // TRITC from red to green.
    await change(page, () => page.getByTestId('channel-color-1').fill('#00ff00'));
    const green = await readSettings(page, 2);
    assert.deepEqual(green[1]!.color, [0, 255, 0]);
    assert.deepEqual(green[0], before[0]);
    const g = await compare(page, slide, green, 'fluorescence-tritc-green');
    assert.ok(g.mae < 2, `after the colour change: mean absolute difference ${g.mae.toFixed(2)}`);
    assert.ok(g.psnr >= 35, `after the colour change: PSNR ${g.psnr.toFixed(1)} dB`);
    assert.ok(g.mean[0] < 1, `no red left (mean red ${g.mean[0].toFixed(2)})`);
    assert.ok(g.mean[1] > 5, `TRITC now shows in green (mean green ${g.mean[1].toFixed(2)})`);
    await shot(page, 'fluorescence-tritc-green-screen');

    // DAPI off.
    await change(page, () => page.getByTestId('channel-visible-0').uncheck());
    const off = await readSettings(page, 2);
    assert.equal(off[0]!.visible, false);
    const o = await compare(page, slide, off, 'fluorescence-dapi-off');
    assert.ok(o.mae < 2, `with DAPI off: mean absolute difference ${o.mae.toFixed(2)}`);
    assert.ok(o.mean[2] < 1, `no blue left (mean blue ${o.mean[2].toFixed(2)})`);
    assert.ok(Math.abs(o.mean[1] - g.mean[1]) < 1, 'the green channel is untouched');

    // A narrower window on TRITC brightens it.
    await change(page, async () => {
      await page.getByTestId('channel-max-1').fill(String(Math.round((off[1]!.min + off[1]!.max) / 2)));
    });
    const narrow = await readSettings(page, 2);
    const n = await compare(page, slide, narrow, 'fluorescence-tritc-window');
    assert.ok(n.mae < 2, `after the window change: mean absolute difference ${n.mae.toFixed(2)}`);
    assert.ok(n.mean[1] > o.mean[1], `a narrower window is brighter (${n.mean[1].toFixed(1)} > ${o.mean[1].toFixed(1)})`);
    await shot(page, 'fluorescence-settings-changed-screen');

    assert.equal(tileRequests.length, fetched, `no tile fetched again for new settings (${tileRequests.slice(fetched).join(', ')})`);

    // Reopened, the slide comes back as the researcher left it.
    await page.getByTestId('viewer-back').click();
    await page.locator(`[data-testid=entry][data-name="${NAME}"] [data-testid=open-slide]`).click();
    await page.locator(`[data-testid=viewer][data-uri="${FOLDER}${NAME}"]`).waitFor();
    await settle(page);
    assert.deepEqual(await readSettings(page, 2), narrow, 'the channel settings are remembered for this slide');
  });

  test('a DICOM series level with three optical paths (8-bit JPEG frames, decoded by the browser) matches the engine', async (tc) => {
    const path = join(SHARED_TESTDATA, DICOM_FILE);
    if (!existsSync(path)) return tc.skip(`${DICOM_FILE} is not in the shared test data`);
    const ref = await engine.open(path);
    const page = t.page;
    await page.getByTestId('viewer-back').click();
    await page.getByTestId('goto-input').fill(DICOM_FOLDER);
    await page.getByTestId('goto-button').click();
    await page.locator(`[data-testid=listing][data-uri="${DICOM_FOLDER}"]`).waitFor();
    await page.locator(`[data-testid=entry][data-name="${DICOM_NAME}"] [data-testid=open-slide]`).click();
    await page.locator(`[data-testid=viewer][data-uri="${DICOM_FOLDER}${DICOM_NAME}"]`).waitFor();
    await settle(page);
    const settings = await readSettings(page, 3);
    // Named by their colours in the file; 8-bit channels keep their full range.
    assert.deepEqual(settings.map((s) => s.color), [[0, 255, 0], [0, 0, 255], [255, 0, 0]]);
    assert.deepEqual(settings.map((s) => [s.min, s.max]), [[0, 255], [0, 255], [0, 255]]);
    await shot(page, 'fluorescence-dicom-overview-screen');
    const overview = await compare(page, ref, settings, 'fluorescence-dicom-overview');
    assert.ok(overview.compared > 50_000, `compared ${overview.compared} pixels`);
    // The browser's JPEG decoder (libjpeg-turbo) against the engine's (jpeg-js), as in viewer.test.ts.
    assert.ok(overview.mae < 2, `overview mean absolute difference ${overview.mae.toFixed(2)}`);
    assert.ok(overview.psnr >= 35, `overview PSNR ${overview.psnr.toFixed(1)} dB`);
    const base = ref.descriptor.levels[0]!;
    await page.evaluate((v) => (globalThis as WithViewerHook).__viewer!.setView(v), { x: Math.floor(base.width / 2 - 400), y: Math.floor(base.height / 2 - 300), zoom: 1 });
    await settle(page);
    const full = await compare(page, ref, settings, 'fluorescence-dicom-full-resolution');
    assert.equal(full.view.drawnLevel, 0);
    assert.ok(full.mae < 2, `full-resolution mean absolute difference ${full.mae.toFixed(2)}`);
    assert.ok(full.psnr >= 35, `full-resolution PSNR ${full.psnr.toFixed(1)} dB`);
    process.stderr.write(
      `fluorescence pixels ${DICOM_NAME}: overview level ${overview.view.drawnLevel} MAE ${overview.mae.toFixed(2)} PSNR ${overview.psnr.toFixed(1)} dB; ` +
        `full resolution MAE ${full.mae.toFixed(2)} PSNR ${full.psnr.toFixed(1)} dB\n`,
    );
    await engine.closeSlide(ref);
  });

  for (const c of CZI) {
    test(`Zeiss CZI ${c.name}: its channel in its own colour, composited like the engine`, async (tc) => {
      const path = join(SHARED_TESTDATA, c.file);
      if (!existsSync(path)) return tc.skip(`${c.file} is not in the shared test data`);
      const ref = await engine.open(path);
      const page = t.page;
      await page.getByTestId('viewer-back').click();
      await page.getByTestId('goto-input').fill(CZI_FOLDER);
      await page.getByTestId('goto-button').click();
      await page.locator(`[data-testid=listing][data-uri="${CZI_FOLDER}"]`).waitFor();
      await page.locator(`[data-testid=entry][data-name="${c.name}"] [data-testid=open-slide]`).click();
      await page.locator(`[data-testid=viewer][data-uri="${CZI_FOLDER}${c.name}"]`).waitFor();
      await settle(page);
      const settings = await readSettings(page, 1);
      assert.deepEqual(settings.map((s) => s.color), [[...c.color]]);
      const stem = `fluorescence-czi-${c.name.replace(/\.czi$/, '').toLowerCase()}`;
      await shot(page, `${stem}-overview-screen`);
      const overview = await compare(page, ref, settings, `${stem}-overview`);
      assert.ok(overview.compared > 20_000, `compared ${overview.compared} pixels`);
      assert.ok(overview.mae < 2, `overview mean absolute difference ${overview.mae.toFixed(2)}`);
      assert.ok(overview.psnr >= 35, `overview PSNR ${overview.psnr.toFixed(1)} dB`);
      const base = ref.descriptor.levels[0]!;
      await page.evaluate((v) => (globalThis as WithViewerHook).__viewer!.setView(v), { x: Math.max(0, Math.floor(base.width / 2 - 400)), y: Math.max(0, Math.floor(base.height / 2 - 300)), zoom: 1 });
      await settle(page);
      const full = await compare(page, ref, settings, `${stem}-full-resolution`);
      assert.equal(full.view.drawnLevel, 0);
      assert.ok(full.mae < 2, `full-resolution mean absolute difference ${full.mae.toFixed(2)}`);
      assert.ok(full.psnr >= 35, `full-resolution PSNR ${full.psnr.toFixed(1)} dB`);
      process.stderr.write(
        `fluorescence pixels ${c.name}: overview level ${overview.view.drawnLevel} MAE ${overview.mae.toFixed(2)} PSNR ${overview.psnr.toFixed(1)} dB; ` +
          `full resolution MAE ${full.mae.toFixed(2)} PSNR ${full.psnr.toFixed(1)} dB\n`,
      );
      await engine.closeSlide(ref);
    });
  }

  test('no console errors and no failed requests', () => {
    assert.deepEqual(t.consoleErrors, []);
    assert.deepEqual(t.failedRequests, []);
  });

  /** Every tile in, every settings change applied and drawn. */
  async function settle(page: Page): Promise<void> {
    await page.waitForFunction(() => (globalThis as WithViewerHook).__viewer !== undefined);
    await page.waitForFunction(settled, -1);
    await page.evaluate(() => (globalThis as WithViewerHook).__viewer!.whenFullyLoaded());
    await page.waitForFunction(settled, -1);
  }

  /** Make a change in the panel and wait until the screen shows it. */
  async function change(page: Page, act: () => Promise<void>): Promise<void> {
    const version = Number(await page.getByTestId('channel-panel').getAttribute('data-version'));
    await act();
    await page.waitForFunction(settled, version);
    await settle(page);
  }

  /** The canvas against the engine's raw planes composited independently with the panel's settings. */
  function compare(page: Page, ref: SlideHandle, settings: Setting[], name: string): Promise<ScreenComparison> {
    return compareScreen(page, { name, label: 'engine', levels: ref.descriptor.levels, reference: (level, r) => compositeFromEngine(ref, level, r, settings) });
  }

  /**
   * The region of `level` composited from the engine's raw planes: per channel a linear
   * window onto 0…1, times its colour, added, clipped at 255 (kept unrounded).
   */
  async function compositeFromEngine(ref: SlideHandle, levelIndex: number, r: { x: number; y: number; width: number; height: number }, settings: Setting[]): Promise<Rgb> {
    const level = ref.descriptor.levels[levelIndex]!;
    const out = new Float32Array(r.width * r.height * 3);
    for (let plane = 0; plane < settings.length; plane++) {
      const st = settings[plane]!;
      if (!st.visible) continue;
      for (let row = Math.floor(r.y / level.tileHeight); row <= Math.floor((r.y + r.height - 1) / level.tileHeight); row++) {
        for (let col = Math.floor(r.x / level.tileWidth); col <= Math.floor((r.x + r.width - 1) / level.tileWidth); col++) {
          const tile = await engine.getTile(ref, levelIndex, col, row, plane);
          if (!tile) continue;
          const samples = rawSamples(tile);
          for (let ty = 0; ty < tile.height; ty++) {
            const y = row * level.tileHeight + ty - r.y;
            if (y < 0 || y >= r.height || row * level.tileHeight + ty >= level.height) continue;
            for (let tx = 0; tx < tile.width; tx++) {
              const x = col * level.tileWidth + tx - r.x;
              if (x < 0 || x >= r.width || col * level.tileWidth + tx >= level.width) continue;
              const v = samples[ty * tile.width + tx]!;
              const k = st.max > st.min ? Math.min(1, Math.max(0, (v - st.min) / (st.max - st.min))) : v >= st.max ? 1 : 0;
              const o = (y * r.width + x) * 3;
              for (let c = 0; c < 3; c++) out[o + c] = Math.min(255, out[o + c]! + k * st.color[c]!);
            }
          }
        }
      }
    }
    return { width: r.width, height: r.height, data: out, channels: 3 };
  }
});

/** The engine's single-channel tile as numbers: raw 16-bit little-endian or 8-bit, or a greyscale JPEG frame. */
function rawSamples(tile: EncodedTile): ArrayLike<number> {
  const enc = tile.encoding;
  if (enc.kind === 'jpeg') {
    const img = jpeg.decode(tile.bytes, { useTArray: true, formatAsRGBA: true });
    assert.equal(img.width, tile.width);
    return Uint8Array.from({ length: img.width * img.height }, (_, i) => img.data[i * 4]!);
  }
  assert.equal(enc.kind, 'raw', 'channel planes are raw samples or JPEG frames');
  if (enc.kind !== 'raw') return [];
  assert.equal(enc.samplesPerPixel, 1);
  if (enc.bitsPerSample === 8) return tile.bytes;
  assert.equal(enc.bitsPerSample, 16);
  const b = Buffer.from(tile.bytes.buffer, tile.bytes.byteOffset, tile.bytes.byteLength);
  return Array.from({ length: tile.width * tile.height }, (_, i) => b.readUInt16LE(i * 2));
}

async function readSettings(page: Page, count: number): Promise<Setting[]> {
  const out: Setting[] = [];
  for (let i = 0; i < count; i++) {
    const hex = await page.getByTestId(`channel-color-${i}`).inputValue();
    const m = /^#([0-9a-f]{2})([0-9a-f]{2})([0-9a-f]{2})$/i.exec(hex);
    assert.ok(m, `colour ${hex}`);
    out.push({
      visible: await page.getByTestId(`channel-visible-${i}`).isChecked(),
      color: [parseInt(m[1]!, 16), parseInt(m[2]!, 16), parseInt(m[3]!, 16)],
      min: Number(await page.getByTestId(`channel-min-${i}`).inputValue()),
      max: Number(await page.getByTestId(`channel-max-${i}`).inputValue()),
    });
  }
  return out;
}

async function shot(page: Page, name: string): Promise<void> {
  mkdirSync(SCREENSHOTS, { recursive: true });
  await page.screenshot({ path: join(SCREENSHOTS, `${name}.png`) });
}
