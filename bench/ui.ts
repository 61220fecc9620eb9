/**
 * `ui_first_viewport`: what the pathologist waits for, measured in real Chromium through
 * the headless host (same services, same renderer bundle as the app) on the shaped link:
 * from clicking the slide in the storage browser to OpenSeadragon reporting the view fully
 * loaded, then from moving to a 1920×1080 view at full resolution in the slide's centre
 * (the view the engine's `first_viewport` reads) to fully loaded again. The app signs in
 * for real (IdP, STS) and reads storage through the shaper, cold cache.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { LinkShaper } from './shaper.js';
import { launchChromium } from '../test/stack/browser-login.js';
import type { RunningStack } from '../test/stack/stack.js';
import { signIn, startAppUnderTest } from '../test/e2e/helpers.js';

export interface UiFirstViewport {
  /** Click on the slide → the whole-slide view fully loaded. */
  ms: number;
  /** Then: the centre at full resolution (one screen pixel per slide pixel) → fully loaded. */
  full_resolution_ms: number;
  /** The canvas the full-resolution view filled, in CSS pixels. */
  canvas: { width: number; height: number };
  requests: number;
  bytes: number;
}

interface Hook {
  whenFullyLoaded(): Promise<void>;
  getView(): { canvasWidth: number; canvasHeight: number };
  setView(v: { x: number; y: number; zoom: number }): void;
}
type WithHook = { __viewer?: Hook };

export async function measureUiFirstViewport(o: {
  stack: RunningStack;
  shaper: LinkShaper;
  /** The shaped S3 endpoint the app must read through. */
  s3Endpoint: string;
  folder: string;
  name: string;
  size: { width: number; height: number };
  log: (m: string) => void;
}): Promise<UiFirstViewport> {
  // The stack's settings, with storage reached through the shaper (sign-in and STS direct:
  // the figure is about reading the slide, not about signing in).
  const settings = JSON.parse(readFileSync(o.stack.configFile, 'utf8')) as { storage: { s3: { endpoint: string } } };
  settings.storage.s3.endpoint = o.s3Endpoint;
  const configFile = join(o.stack.dir, 'bench-ui-config.json');
  writeFileSync(configFile, JSON.stringify(settings, null, 2));

  const browser = await launchChromium();
  const t = await startAppUnderTest(browser, configFile);
  try {
    // Room for a 1920×1080 canvas beside the side panel, under the header and toolbars.
    await t.page.setViewportSize({ width: 1920 + 282, height: 1080 + 240 });
    const alice = o.stack.users.find((u) => u.username === 'alice');
    if (!alice) throw new Error('the stack has no demo user alice');
    await signIn(t, browser, alice);
    const page = t.page;
    await page.getByTestId('goto-input').fill(o.folder);
    await page.getByTestId('goto-button').click();
    const open = page.locator(`[data-testid=entry][data-name="${o.name}"] [data-testid=open-slide]`);
    await open.waitFor();

    o.shaper.resetCounters();
    let t0 = performance.now();
    await open.click();
    await page.waitForFunction(() => (globalThis as WithHook).__viewer !== undefined, undefined, { polling: 'raf', timeout: 120_000 });
    await page.evaluate(() => (globalThis as WithHook).__viewer!.whenFullyLoaded());
    const ms = performance.now() - t0;

    const canvas = await page.evaluate(() => {
      const v = (globalThis as WithHook).__viewer!.getView();
      return { width: v.canvasWidth, height: v.canvasHeight };
    });
    const view = { x: Math.floor(o.size.width / 2 - canvas.width / 2), y: Math.floor(o.size.height / 2 - canvas.height / 2), zoom: 1 };
    t0 = performance.now();
    await page.evaluate((v) => (globalThis as WithHook).__viewer!.setView(v), view);
    await page.evaluate(() => (globalThis as WithHook).__viewer!.whenFullyLoaded());
    const fullMs = performance.now() - t0;
    const counters = o.shaper.resetCounters();
    o.log(`ui: open → whole slide ${Math.round(ms)} ms; → full resolution ${Math.round(fullMs)} ms (${canvas.width}×${canvas.height} canvas)`);
    return { ms: Math.round(ms), full_resolution_ms: Math.round(fullMs), canvas, requests: counters.requests, bytes: counters.bytesDown };
  } finally {
    await t.close();
    await browser.close();
  }
}
