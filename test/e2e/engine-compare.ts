/**
 * The viewer's pixel check, shared by the end-to-end tests: the screenshot of the viewer
 * canvas against the slide engine's own `readRegion` output for the same area (at the
 * level OpenSeadragon draws, resampled to the screen as the browser does), as mean
 * absolute difference and PSNR over the screen pixels fully inside the slide. The scale
 * bar floating over the canvas is left out. The engine's side is written next to the
 * screenshot for looking at both with an image viewer.
 */
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { encodePng, readRegion } from '../../main/tiles/region.js';
import type { SlideHandle, TileService } from '../../main/tiles/service.js';
import { SCREENSHOTS } from './helpers.js';
import { bilinear, decodePng } from './pixels.js';

/** window.__viewer (renderer/src/viewer/test-hook.ts); the tests compile without DOM types. */
export interface ViewerHook {
  slideId: string;
  whenFullyLoaded(): Promise<void>;
  getView(): ViewerView;
  setView(v: { x: number; y: number; zoom: number }): void;
}
export type WithViewerHook = { __viewer?: ViewerHook };

export interface ViewerView {
  canvasWidth: number;
  canvasHeight: number;
  x: number;
  y: number;
  zoom: number;
  drawnLevel: number;
}

export interface Comparison {
  view: ViewerView;
  mae: number;
  psnr: number;
  compared: number;
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

export async function compareWithEngine(page: Page, engine: TileService, slide: SlideHandle, name: string): Promise<Comparison> {
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
  writeFileSync(join(SCREENSHOTS, `${name}.png`), png);
  const shot = decodePng(png);
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
  const region = await readRegion(engine, slide, { level: view.drawnLevel, x: rx, y: ry, width: rw, height: rh });
  const ref = { ...region, channels: 4 as const };
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
  writeFileSync(join(SCREENSHOTS, `${name}-engine.png`), await encodePng({ width: shot.width, height: shot.height, data: expected }));
  return { view, mae, psnr, compared: n / 3 };
}
