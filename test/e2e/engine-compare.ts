/**
 * The viewer's pixel check, shared by the end-to-end tests: the screenshot of the viewer
 * canvas against the slide engine's own `readRegion` output for the same area (at the
 * level OpenSeadragon draws, resampled to the screen as the browser does), as mean
 * absolute difference and PSNR over the screen pixels fully inside the slide. The scale
 * bar floating over the canvas is left out. The engine's side is written next to the
 * screenshot for looking at both with an image viewer.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { TileCache } from '../../main/cache/tile-cache.js';
import { FileRangeReader } from '../../main/sources/file.js';
import { dicomSiblings } from '../../main/sources/siblings.js';
import { encodePng, readRegion } from '../../main/tiles/region.js';
import { TileService, type SlideHandle } from '../../main/tiles/service.js';
import { SCREENSHOTS } from './helpers.js';
import { bilinear, decodePng, type Rgb } from './pixels.js';

/** window.__viewer (renderer/src/viewer/test-hook.ts); the tests compile without DOM types. */
export interface ViewerHook {
  slideId: string;
  whenFullyLoaded(): Promise<void>;
  getView(): ViewerView;
  setView(v: { x: number; y: number; zoom: number }): void;
}
export type WithViewerHook = { __viewer?: ViewerHook; __viewers?: (ViewerHook | undefined)[] };

export interface ViewerView {
  canvasWidth: number;
  canvasHeight: number;
  x: number;
  y: number;
  zoom: number;
  drawnLevel: number;
  rotation: number;
}

export interface Comparison {
  view: ViewerView;
  mae: number;
  psnr: number;
  compared: number;
}

/** The slide engine over local files, with a cache of its own: what the screen is compared with. */
export interface EngineReference {
  engine: TileService;
  close(): Promise<void>;
}

export function engineReference(): EngineReference {
  const dir = mkdtempSync(join(tmpdir(), 'wsi-e2e-ref-'));
  const cache = TileCache.open(join(dir, 'tiles.db'));
  const engine = new TileService({
    cache,
    resolve: async (uri) => new FileRangeReader(uri),
    // A DICOM file opens as its series, as in the app.
    siblings: (uri) => dicomSiblings(uri, { reader: (u) => new FileRangeReader(u) }),
  });
  return {
    engine,
    close: async () => {
      await engine.close();
      cache.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Wait for the viewer's hook and for every tile of the current view. */
export async function whenViewerLoaded(page: Page): Promise<void> {
  await page.waitForFunction(() => (globalThis as WithViewerHook).__viewer !== undefined);
  await page.evaluate(() => (globalThis as WithViewerHook).__viewer!.whenFullyLoaded());
}

export async function setViewerView(page: Page, v: { x: number; y: number; zoom: number }): Promise<void> {
  await page.evaluate((view) => (globalThis as WithViewerHook).__viewer!.setView(view), v);
  await page.evaluate(() => (globalThis as WithViewerHook).__viewer!.whenFullyLoaded());
}

export async function fullPage(page: Page, name: string): Promise<void> {
  mkdirSync(SCREENSHOTS, { recursive: true });
  await page.screenshot({ path: join(SCREENSHOTS, `${name}.png`) });
}

/** A region of one level, in that level's pixels. */
export interface LevelRegion {
  x: number;
  y: number;
  width: number;
  height: number;
}

export interface ScreenComparison extends Comparison {
  /** Mean of the compared screen pixels per channel (to see a colour change). */
  mean: [number, number, number];
}

/**
 * The viewer canvas against a reference for the level OpenSeadragon draws: `reference`
 * gives the level's pixels for a region (the engine, pydicom, a composite of raw planes),
 * sampled here as the browser samples a scaled tile. The reference side is written as
 * `<name>-<label>.png` next to the screenshot.
 */
export async function compareScreen(
  page: Page,
  o: { name: string; label: string; levels: readonly { width: number; height: number }[]; reference: (level: number, region: LevelRegion) => Promise<Rgb> | Rgb },
): Promise<ScreenComparison> {
  mkdirSync(SCREENSHOTS, { recursive: true });
  // The view must be the one on the screenshot: a banner appearing (offline, a warning)
  // resizes the canvas and OSD refits; read the view on both sides of the shot until it holds.
  const getView = () => page.evaluate(() => (globalThis as WithViewerHook).__viewer!.getView());
  let view = await getView();
  let png = await page.getByTestId('viewer-canvas').screenshot();
  for (let attempt = 0; attempt < 5; attempt++) {
    const after = await getView();
    if (JSON.stringify(after) === JSON.stringify(view)) break;
    await page.evaluate(() => (globalThis as WithViewerHook).__viewer!.whenFullyLoaded());
    view = await getView();
    png = await page.getByTestId('viewer-canvas').screenshot();
  }
  assert.ok(view.drawnLevel >= 0, 'tiles are drawn');
  writeFileSync(join(SCREENSHOTS, `${o.name}.png`), png);
  const shot = decodePng(png);
  // The scale bar floats over the canvas: its pixels are not the slide's.
  const canvasBox = await page.getByTestId('viewer-canvas').boundingBox();
  const barBox = await page.getByTestId('scale-bar').boundingBox();
  assert.ok(canvasBox && barBox);
  const covered = (i: number, j: number): boolean =>
    i >= Math.floor(barBox.x - canvasBox.x) - 1 && i <= Math.ceil(barBox.x + barBox.width - canvasBox.x) && j >= Math.floor(barBox.y - canvasBox.y) - 1 && j <= Math.ceil(barBox.y + barBox.height - canvasBox.y);
  const level = o.levels[view.drawnLevel]!;
  const base = o.levels[0]!;
  // One scale per level, from the widths (as OSD places tiles): floored pyramids drop a
  // partial last row, they do not stretch the level vertically.
  const s = level.width / base.width;
  // Screen pixels fully inside the slide, with a pixel of margin for edge blending.
  const i0 = Math.max(0, Math.ceil(-view.x * view.zoom) + 1);
  const j0 = Math.max(0, Math.ceil(-view.y * view.zoom) + 1);
  const i1 = Math.min(shot.width, view.canvasWidth, Math.floor((base.width - view.x) * view.zoom) - 1);
  const j1 = Math.min(shot.height, view.canvasHeight, Math.floor((base.height - view.y) * view.zoom) - 1);
  assert.ok(i1 > i0 && j1 > j0, 'part of the slide is on screen');
  // Level pixel centre under screen pixel (i, j)'s centre.
  const lx = (i: number): number => (view.x + (i + 0.5) / view.zoom) * s - 0.5;
  const ly = (j: number): number => (view.y + (j + 0.5) / view.zoom) * s - 0.5;
  const rx = Math.max(0, Math.floor(lx(i0)) - 1);
  const ry = Math.max(0, Math.floor(ly(j0)) - 1);
  const rw = Math.min(level.width, Math.ceil(lx(i1)) + 2) - rx;
  const rh = Math.min(level.height, Math.ceil(ly(j1)) + 2) - ry;
  const ref = await o.reference(view.drawnLevel, { x: rx, y: ry, width: rw, height: rh });
  const expected = new Uint8Array(shot.width * shot.height * 4);
  let sum = 0;
  let sq = 0;
  let n = 0;
  const mean: [number, number, number] = [0, 0, 0];
  for (let j = j0; j < j1; j++) {
    for (let i = i0; i < i1; i++) {
      if (covered(i, j)) continue;
      const px = bilinear(ref, lx(i) - rx, ly(j) - ry);
      const o4 = (j * shot.width + i) * 4;
      for (let c = 0; c < 3; c++) {
        const d = shot.data[o4 + c]! - px[c]!;
        sum += Math.abs(d);
        sq += d * d;
        mean[c] = mean[c]! + shot.data[o4 + c]!;
        expected[o4 + c] = Math.round(px[c]!);
      }
      expected[o4 + 3] = 255;
      n += 3;
    }
  }
  const mae = sum / n;
  const psnr = 10 * Math.log10((255 * 255) / Math.max(sq / n, 1e-9));
  writeFileSync(join(SCREENSHOTS, `${o.name}-${o.label}.png`), await encodePng({ width: shot.width, height: shot.height, data: expected }));
  const pixels = n / 3;
  return { view, mae, psnr, compared: pixels, mean: [mean[0] / pixels, mean[1] / pixels, mean[2] / pixels] };
}

/** The viewer canvas against the slide engine's own readRegion of the same file. */
export function compareWithEngine(page: Page, engine: TileService, slide: SlideHandle, name: string): Promise<ScreenComparison> {
  return compareScreen(page, {
    name,
    label: 'engine',
    levels: slide.descriptor.levels,
    reference: async (level, r) => ({ ...(await readRegion(engine, slide, { level, ...r })), channels: 4 as const }),
  });
}
