/**
 * Drawing annotations in real Chromium through the headless host on the real stack:
 * every shape drawn with mouse events at the whole-slide view, at full resolution and on
 * a pane turned by 90°; what main stored (read back through the API, level-0 pixels) lies
 * within one screen pixel of where the mouse went. Then undo / redo, a class change, the
 * list panel flying to an object, and hiding a class. Every wait is for a state (an item
 * in the list, a revision, the overlay's drawn count), never for a time.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Page } from 'playwright-core';
import type { AnnotationObject, AnnotationPosition } from '../../main/api/contract.js';
import type { ViewerView } from './engine-compare.js';
import { type E2eWorld, screenshot, signInAs, startWorld } from './helpers.js';

const DEMO_URI = 's3://pathology-slides/demo/demo-tissue-a.tif';
/** renderer/src/viewer/test-hook.ts, as far as this test uses it. */
interface Hook {
  whenFullyLoaded(): Promise<void>;
  getView(): ViewerView;
  setView(v: { x: number; y: number; zoom: number }): void;
  toScreen(x: number, y: number): { x: number; y: number };
  toImage(x: number, y: number): { x: number; y: number };
  setRotation(degrees: number): void;
}
type WithHook = typeof globalThis & { __viewer?: Hook };
/** The page's document, as far as these waits read it (the test compiles without the DOM's types). */
type Doc = { document: { querySelectorAll(s: string): { length: number }; querySelector(s: string): { getAttribute(n: string): string | null } | null } };
/** Waits until the list shows `k` items. */
const listHas = (page: Page, k: number): Promise<unknown> =>
  page.waitForFunction((n) => (globalThis as unknown as Doc).document.querySelectorAll('[data-testid=annotation-item]').length === n, k);
const overlayDraws = (page: Page, k: number): Promise<unknown> =>
  page.waitForFunction((n) => Number((globalThis as unknown as Doc).document.querySelector('[data-testid=annotation-overlay]')?.getAttribute('data-drawn')) === n, k);

async function call<T>(page: Page, method: string, params: unknown): Promise<T> {
  return page.evaluate(
    async ([m, p]) => {
      const r = await fetch(`/api/${m}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ params: p }) });
      const reply = (await r.json()) as { ok: boolean; result?: unknown; error?: { message: string } };
      if (!reply.ok) throw new Error(reply.error?.message ?? 'call failed');
      return reply.result;
    },
    [method, params] as const,
  ) as Promise<T>;
}

const listObjects = async (page: Page): Promise<AnnotationObject[]> => (await call<{ objects: AnnotationObject[] }>(page, 'annotations.list', { uri: DEMO_URI, limit: 5000 })).objects;

describe('annotations: drawing on the viewer (headless host, real Chromium, real stack)', () => {
  let world: E2eWorld;
  let page: Page;

  before(async () => {
    world = await startWorld();
    await signInAs(world, 'alice');
    page = world.t.page;
    await page.getByTestId('goto-input').fill('s3://pathology-slides/demo/');
    await page.getByTestId('goto-button').click();
    await page.locator('[data-testid=entry][data-name="demo-tissue-a.tif"] [data-testid=open-slide]').click();
    await page.locator(`[data-testid=viewer][data-uri="${DEMO_URI}"]`).waitFor();
    await page.waitForFunction(() => (globalThis as WithHook).__viewer !== undefined);
    await page.getByTestId('annotation-panel').waitFor();
    await page.evaluate(() => (globalThis as WithHook).__viewer!.whenFullyLoaded());
  });
  after(async () => {
    await world?.stop();
  });

  /** Page coordinates of level-0 pixel p. */
  const screenOf = async (p: AnnotationPosition): Promise<{ x: number; y: number }> => {
    const box = await page.getByTestId('viewer-canvas').boundingBox();
    assert.ok(box);
    const s = await page.evaluate(([x, y]) => (globalThis as WithHook).__viewer!.toScreen(x, y), p);
    return { x: box.x + s.x, y: box.y + s.y };
  };
  const zoom = (): Promise<number> => page.evaluate(() => (globalThis as WithHook).__viewer!.getView().zoom);
  const itemCount = (): Promise<number> => page.getByTestId('annotation-item').count();
  /** Does `action`, waits for the list to grow by one, returns the object main stored. */
  const drawn = async (action: () => Promise<void>): Promise<AnnotationObject> => {
    const before = new Set((await listObjects(page)).map((o) => o.id));
    const n = await itemCount();
    await action();
    await listHas(page, n + 1);
    const made = (await listObjects(page)).filter((o) => !before.has(o.id));
    assert.equal(made.length, 1, 'one object per gesture');
    return made[0]!;
  };
  const near = (got: AnnotationPosition, want: AnnotationPosition, z: number, what: string): void => {
    const d = Math.hypot(got[0] - want[0], got[1] - want[1]) * z;
    assert.ok(d <= 1, `${what}: stored ${got.join(',')} is ${d.toFixed(2)} screen px from ${want.join(',')}`);
  };
  const tool = (name: string): Promise<void> => page.getByTestId(`tool-${name}`).click();
  const drag = async (points: AnnotationPosition[]): Promise<void> => {
    const first = await screenOf(points[0]!);
    await page.mouse.move(first.x, first.y);
    await page.mouse.down();
    for (const p of points.slice(1)) {
      const s = await screenOf(p);
      await page.mouse.move(s.x, s.y, { steps: 4 });
    }
    await page.mouse.up();
  };
  const clicks = async (points: AnnotationPosition[]): Promise<void> => {
    for (const [i, p] of points.entries()) {
      const s = await screenOf(p);
      if (i === points.length - 1) await page.mouse.dblclick(s.x, s.y);
      else await page.mouse.click(s.x, s.y);
    }
  };

  /** Draws every shape around level-0 centre (cx, cy) with sizes of `r` screen pixels. */
  async function everyShape(label: string, cx: number, cy: number): Promise<void> {
    const z = await zoom();
    const r = 60 / z;
    const point = await drawn(async () => {
      await tool('point');
      const s = await screenOf([cx, cy]);
      await page.mouse.click(s.x, s.y);
    });
    assert.equal(point.geometry.type, 'Point');
    if (point.geometry.type === 'Point') near(point.geometry.coordinates, [cx, cy], z, `${label} point`);

    const a: AnnotationPosition = [cx - r, cy - r / 2];
    const b: AnnotationPosition = [cx + r, cy + r / 2];
    for (const shape of ['rectangle', 'ellipse'] as const) {
      const o = await drawn(async () => {
        await tool(shape);
        await drag([a, [cx, cy], b]);
      });
      assert.equal(o.shape, shape);
      assert.equal(o.geometry.type, 'Polygon');
      const ring = o.geometry.type === 'Polygon' ? o.geometry.coordinates[0]! : [];
      const xs = ring.map((p) => p[0]);
      const ys = ring.map((p) => p[1]);
      near([Math.min(...xs), Math.min(...ys)], a, z, `${label} ${shape} top-left`);
      near([Math.max(...xs), Math.max(...ys)], b, z, `${label} ${shape} bottom-right`);
      assert.ok(Object.keys(o.measurements).some((k) => k.startsWith('Area')), `${shape} has its area`);
    }

    const tri: AnnotationPosition[] = [
      [cx - r, cy + r],
      [cx + r, cy + r],
      [cx, cy + 2 * r],
    ];
    const poly = await drawn(async () => {
      await tool('polygon');
      await clicks(tri);
    });
    assert.equal(poly.geometry.type, 'Polygon');
    if (poly.geometry.type === 'Polygon') {
      const ring = poly.geometry.coordinates[0]!;
      assert.equal(ring.length, 4, 'three vertices and the closing one: the double-click adds none');
      tri.forEach((p, i) => near(ring[i]!, p, z, `${label} polygon vertex ${i}`));
    }

    const line = await drawn(async () => {
      await tool('line');
      await clicks([
        [cx - r, cy - r],
        [cx + r, cy - r],
      ]);
    });
    assert.equal(line.geometry.type, 'LineString');
    if (line.geometry.type === 'LineString') {
      assert.equal(line.geometry.coordinates.length, 2);
      near(line.geometry.coordinates[0]!, [cx - r, cy - r], z, `${label} line start`);
      near(line.geometry.coordinates[1]!, [cx + r, cy - r], z, `${label} line end`);
      // µm from the slide's 0.25 µm pixels.
      const um = line.measurements['Length µm'];
      assert.ok(um !== undefined && Math.abs(um - 2 * r * 0.25) * z <= 0.25 * 2, `line length ${um} µm`);
    }

    const lasso: AnnotationPosition[] = [
      [cx + 2 * r, cy],
      [cx + 3 * r, cy],
      [cx + 3 * r, cy + r],
      [cx + 2 * r, cy + r],
    ];
    const free = await drawn(async () => {
      await tool('freehand');
      await drag(lasso);
    });
    assert.equal(free.geometry.type, 'Polygon');
    if (free.geometry.type === 'Polygon') {
      const ring = free.geometry.coordinates[0]!;
      near(ring[0]!, lasso[0]!, z, `${label} freehand start`);
      // Every corner the mouse went through is a vertex of the lasso.
      for (const c of lasso) {
        const best = Math.min(...ring.map((p) => Math.hypot(p[0] - c[0], p[1] - c[1])));
        assert.ok(best * z <= 1, `${label} freehand passes ${c.join(',')} (${(best * z).toFixed(2)} px)`);
      }
    }
  }

  test('every shape at the whole-slide view, at full resolution and on a turned pane lies where it was drawn', async () => {
    await everyShape('overview', 1400, 1200);
    await page.evaluate(() => (globalThis as WithHook).__viewer!.setView({ x: 1800, y: 1300, zoom: 1 }));
    await page.evaluate(() => (globalThis as WithHook).__viewer!.whenFullyLoaded());
    await everyShape('full resolution', 2100, 1500);
    await page.evaluate(() => {
      const v = (globalThis as WithHook).__viewer!;
      v.setView({ x: 2400, y: 1600, zoom: 0.5 });
      v.setRotation(90);
    });
    await page.evaluate(() => (globalThis as WithHook).__viewer!.whenFullyLoaded());
    assert.equal(await page.evaluate(() => (globalThis as WithHook).__viewer!.getView().rotation), 90);
    const v = await page.evaluate(() => (globalThis as WithHook).__viewer!.getView());
    // The middle of the turned view, in level-0 pixels.
    const box = await page.getByTestId('viewer-canvas').boundingBox();
    assert.ok(box);
    const mid = await page.evaluate(([w, h]) => (globalThis as WithHook).__viewer!.toImage(w! / 3, h! / 3), [v.canvasWidth, v.canvasHeight]);
    await everyShape('turned 90°', mid.x, mid.y);
    await screenshot(page, 'annotations-drawn');
    await page.evaluate(() => (globalThis as WithHook).__viewer!.setRotation(0));
  });

  test('undo and redo (Ctrl+Z, Ctrl+Shift+Z) take the last shape away and bring it back', async () => {
    const n = await itemCount();
    const ids = (await listObjects(page)).length;
    await page.getByTestId('viewer-canvas').hover();
    await page.keyboard.press('Control+Z');
    await listHas(page, n - 1);
    assert.equal((await listObjects(page)).length, ids - 1);
    await page.keyboard.press('Control+Shift+Z');
    await listHas(page, n);
    assert.equal((await listObjects(page)).length, ids);
  });

  test('the list flies to an object; a class given to it is stored; hiding the class takes it off the overlay', async () => {
    const objects = await listObjects(page);
    const target = objects.find((o) => o.shape === 'rectangle');
    assert.ok(target);
    // Far from it first.
    await page.evaluate(() => (globalThis as WithHook).__viewer!.setView({ x: 0, y: 0, zoom: 2 }));
    await page.locator(`[data-testid=annotation-item][data-id="${target.id}"]`).click();
    await page.evaluate(() => (globalThis as WithHook).__viewer!.whenFullyLoaded());
    const ring = target.geometry.type === 'Polygon' ? target.geometry.coordinates[0]! : [];
    const centre: AnnotationPosition = [(ring[0]![0] + ring[2]![0]) / 2, (ring[0]![1] + ring[2]![1]) / 2];
    const view = await page.evaluate(() => (globalThis as WithHook).__viewer!.getView());
    const s = await page.evaluate(([x, y]) => (globalThis as WithHook).__viewer!.toScreen(x, y), centre);
    assert.ok(Math.abs(s.x - view.canvasWidth / 2) < 2 && Math.abs(s.y - view.canvasHeight / 2) < 2, `the object is in the middle of the view (${s.x}, ${s.y})`);

    const cls = page.locator('[data-testid=annotation-class]').first();
    const className = await cls.getAttribute('data-class');
    assert.ok(className);
    const revision = (await call<{ revision: number }>(page, 'annotations.state', { uri: DEMO_URI })).revision;
    await cls.click();
    await page.waitForFunction(
      async ([uri, rev]) => {
        const r = await fetch('/api/annotations.state', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ params: { uri } }) });
        return ((await r.json()) as { result: { revision: number } }).result.revision > (rev as number);
      },
      [DEMO_URI, revision] as const,
    );
    const stored = (await listObjects(page)).find((o) => o.id === target.id);
    assert.equal(stored?.classification?.name, className);

    const drawnBefore = Number(await page.getByTestId('annotation-overlay').getAttribute('data-drawn'));
    assert.ok(drawnBefore >= 1);
    await page.locator(`[data-testid=annotation-class-visible][data-class="${className}"]`).uncheck();
    await overlayDraws(page, drawnBefore - 1);
    await page.locator(`[data-testid=annotation-class-visible][data-class="${className}"]`).check();
    await overlayDraws(page, drawnBefore);
  });
});
