/**
 * `annotation_frames`: the viewer's frame time in real Chromium (headless host, real
 * stack, alice signed in) while the view pans and zooms over the demo slide, first with no
 * objects, then with 100,000 detection polygons imported through the app's own
 * `annotations.import` (QuPath GeoJSON, timed: `import_ms`). Each frame the view moves to
 * the next step of a fixed path (whole slide ↔ 2 screen pixels per slide pixel, across the
 * tissue); the frame time is the interval between animation frames, so it holds OSD's tile
 * drawing, the overlay's drawing and everything else on the renderer's main thread.
 */
import type { Page } from 'playwright-core';
import { launchChromium } from '../test/stack/browser-login.js';
import type { RunningStack } from '../test/stack/stack.js';
import { signIn, startAppUnderTest } from '../test/e2e/helpers.js';

export interface FrameStats {
  frames: number;
  p50_ms: number;
  p95_ms: number;
  mean_ms: number;
  /** The overlay's own drawing per frame (Overlay.draw), p50. */
  overlay_p50_ms: number;
  /** Objects the overlay drew in the last frame. */
  drawn: number;
}

export interface AnnotationFrames {
  detections: number;
  none: FrameStats;
  with_detections: FrameStats;
  /** with / none, p50 frame time. */
  ratio_p50: number;
  ratio_p95: number;
  import_ms: number;
  geojson_bytes: number;
}

const DEMO_URI = 's3://pathology-slides/demo/demo-tissue-a.tif';
const W = 4096;
const H = 3072;

/** 100,000 octagonal cells on a grid over the slide, as QuPath writes detections. */
export function detectionsGeoJson(n: number): string {
  const cols = Math.ceil(Math.sqrt((n * W) / H));
  const dx = W / cols;
  const dy = H / Math.ceil(n / cols);
  const r = Math.min(dx, dy) * 0.4;
  const features: string[] = [];
  const classes = [
    { name: 'Tumor', color: [200, 0, 0] },
    { name: 'Immune cells', color: [160, 90, 160] },
    { name: 'Stroma', color: [150, 200, 150] },
  ];
  for (let i = 0; i < n; i++) {
    const cx = ((i % cols) + 0.5) * dx;
    const cy = (Math.floor(i / cols) + 0.5) * dy;
    const ring: number[][] = [];
    for (let k = 0; k < 8; k++) ring.push([+(cx + r * Math.cos((k * Math.PI) / 4)).toFixed(2), +(cy + r * Math.sin((k * Math.PI) / 4)).toFixed(2)]);
    ring.push(ring[0]!);
    features.push(
      JSON.stringify({
        type: 'Feature',
        geometry: { type: 'Polygon', coordinates: [ring] },
        properties: { objectType: 'detection', classification: classes[i % 3] },
      }),
    );
  }
  return `{"type":"FeatureCollection","features":[${features.join(',')}]}`;
}

interface Hook {
  whenFullyLoaded(): Promise<void>;
  setView(v: { x: number; y: number; zoom: number }): void;
}
type WithHook = { __viewer?: Hook };

async function measureFrames(page: Page, frames: number): Promise<FrameStats> {
  // tsx (esbuild keepNames) wraps the inner functions below in __name(); give the page one.
  await page.evaluate('globalThis.__name = globalThis.__name || ((f) => f)');
  const r = await page.evaluate(
    async ([n, w, h]) => {
      const v = (globalThis as WithHook).__viewer!;
      const overlay = (globalThis as unknown as { document: { querySelector(s: string): { dataset: Record<string, string> } | null } }).document.querySelector('[data-testid=annotation-overlay]');
      const raf = (globalThis as unknown as { requestAnimationFrame(cb: (t: number) => void): void }).requestAnimationFrame;
      const times: number[] = [];
      const draws: number[] = [];
      await new Promise<void>((resolve) => {
        let last: number | undefined;
        let i = 0;
        const step = (t: number): void => {
          if (last !== undefined) times.push(t - last);
          const d = Number(overlay?.dataset.drawMs);
          if (Number.isFinite(d)) draws.push(d);
          last = t;
          if (i++ >= n) return resolve();
          // Zoom between the whole slide (~0.2) and 2 screen px per slide px while crossing the slide.
          const phase = i / n;
          const zoom = 0.2 * Math.pow(10, Math.sin(phase * Math.PI * 2) * 0.5 + 0.5);
          const x = (w * 0.8 * phase) % (w * 0.8);
          const y = h * 0.3 * (1 + Math.sin(phase * Math.PI * 4) * 0.5);
          v.setView({ x, y, zoom });
          raf(step);
        };
        raf(step);
      });
      return { times, draws };
    },
    [frames, W, H] as const,
  );
  const sorted = [...r.times].sort((a, b) => a - b);
  const draws = [...r.draws].sort((a, b) => a - b);
  const q = (s: number[], p: number): number => s[Math.min(s.length - 1, Math.floor(p * s.length))] ?? 0;
  const drawn = Number(await page.getByTestId('annotation-overlay').getAttribute('data-drawn'));
  return {
    frames: sorted.length,
    p50_ms: Number(q(sorted, 0.5).toFixed(2)),
    p95_ms: Number(q(sorted, 0.95).toFixed(2)),
    mean_ms: Number((sorted.reduce((s, x) => s + x, 0) / sorted.length).toFixed(2)),
    overlay_p50_ms: Number(q(draws, 0.5).toFixed(2)),
    drawn,
  };
}

export async function measureAnnotationFrames(o: { stack: RunningStack; detections?: number; frames?: number; log: (m: string) => void }): Promise<AnnotationFrames> {
  const n = o.detections ?? 100_000;
  const frames = o.frames ?? 240;
  const browser = await launchChromium();
  const t = await startAppUnderTest(browser, o.stack.configFile);
  try {
    await t.page.setViewportSize({ width: 1600, height: 1000 });
    const alice = o.stack.users.find((u) => u.username === 'alice');
    if (!alice) throw new Error('the stack has no demo user alice');
    await signIn(t, browser, alice);
    const page = t.page;
    await page.getByTestId('goto-input').fill('s3://pathology-slides/demo/');
    await page.getByTestId('goto-button').click();
    await page.locator('[data-testid=entry][data-name="demo-tissue-a.tif"] [data-testid=open-slide]').click();
    await page.waitForFunction(() => (globalThis as WithHook).__viewer !== undefined);
    await page.getByTestId('annotation-overlay').waitFor({ state: 'attached' });
    await page.evaluate(() => (globalThis as WithHook).__viewer!.whenFullyLoaded());
    // Once over the path first, so every tile of it is cached and both runs draw the same.
    await measureFrames(page, frames);
    o.log('annotations: frames with no objects');
    const none = await measureFrames(page, frames);

    const geojson = detectionsGeoJson(n);
    o.log(`annotations: importing ${n} detections (${(geojson.length / 1e6).toFixed(1)} MB)`);
    const importMs = await page.evaluate(
      async ([uri, text]) => {
        const t0 = performance.now();
        const r = await fetch('/api/annotations.import', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ params: { uri, geojson: text } }) });
        const reply = (await r.json()) as { ok: boolean; error?: { message: string } };
        if (!reply.ok) throw new Error(reply.error?.message ?? 'import failed');
        return performance.now() - t0;
      },
      [DEMO_URI, geojson] as const,
    );
    // The panel reloads on annotations.changed; wait until the overlay holds them all.
    await page.evaluate(() => (globalThis as WithHook).__viewer!.setView({ x: 0, y: 0, zoom: 0.2 }));
    type Doc = { document: { querySelector(s: string): { getAttribute(n: string): string | null } | null } };
    await page.waitForFunction(
      (k) => Number((globalThis as unknown as Doc).document.querySelector('[data-testid=annotation-overlay]')?.getAttribute('data-drawn')) >= k,
      Math.floor(n * 0.5),
      { timeout: 300_000 },
    );
    o.log('annotations: frames with the detections');
    const withDetections = await measureFrames(page, frames);
    return {
      detections: n,
      none,
      with_detections: withDetections,
      ratio_p50: Number((withDetections.p50_ms / none.p50_ms).toFixed(2)),
      ratio_p95: Number((withDetections.p95_ms / none.p95_ms).toFixed(2)),
      import_ms: Math.round(importMs),
      geojson_bytes: geojson.length,
    };
  } finally {
    await t.close().catch(() => undefined);
    await browser.close().catch(() => undefined);
  }
}

export function annotationRows(a: AnnotationFrames): string[][] {
  return [
    [`ui: frame p50 ms, ${a.detections.toLocaleString('en')} detections vs none`, String(a.with_detections.p50_ms), String(a.none.p50_ms), String(a.ratio_p50), '', ''],
    [`ui: frame p95 ms, ${a.detections.toLocaleString('en')} detections vs none`, String(a.with_detections.p95_ms), String(a.none.p95_ms), String(a.ratio_p95), '', ''],
    ['ui: overlay draw p50 ms', String(a.with_detections.overlay_p50_ms), String(a.none.overlay_p50_ms), '', '', ''],
    [`import ${(a.geojson_bytes / 1e6).toFixed(1)} MB GeoJSON ms`, String(a.import_ms), '', '', '', ''],
  ];
}
