/**
 * The reading workspace in real Chromium through the headless host against the real
 * stack: two slides side by side with synchronised navigation (movements in microns, so a
 * 0.25 µm and a 0.5 µm scan move the same distance on the glass), sync off, rotation and
 * the other keyboard shortcuts, the label image served by main, closing a pane, the
 * recent-slides list, and "Open local slide…" (the test plays the user in the file
 * dialog; the page itself cannot open a path it names). No console errors, no failed
 * requests.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Browser, Page } from 'playwright-core';
import { launchChromium } from '../stack/browser-login.js';
import { ensureDemoSlide } from '../stack/demo-slides.js';
import { SHARED_TESTDATA, startStack, type RunningStack } from '../stack/stack.js';
import type { ViewerView, WithViewerHook } from './engine-compare.js';
import { screenshot, signIn, startAppUnderTest, type AppUnderTest } from './helpers.js';

const DEMO = { folder: 's3://pathology-slides/demo/', name: 'demo-tissue-a.tif', mpp: 0.25 };
/** Real Aperio file with label and macro; 0.499 µm per pixel. */
const SVS = { folder: 's3://pathology-slides/aperio/', name: 'CMU-1-Small-Region.svs', file: 'aperio-svs/CMU-1-Small-Region.svs', mpp: 0.499 };

type View = ViewerView;
type WithHooks = WithViewerHook;

const view = (page: Page, pane: number): Promise<View> => page.evaluate((p) => (globalThis as WithHooks).__viewers![p]!.getView(), pane);
const loaded = async (page: Page, pane: number): Promise<void> => {
  await page.waitForFunction((p) => (globalThis as WithHooks).__viewers?.[p] !== undefined, pane);
  await page.evaluate((p) => (globalThis as WithHooks).__viewers![p]!.whenFullyLoaded(), pane);
};
/** Two animation frames: OSD notices a changed viewport on its next update. */
const settle = (page: Page): Promise<void> =>
  page.evaluate(() => {
    // The tests compile without DOM types.
    const raf = (globalThis as unknown as { requestAnimationFrame(cb: () => void): void }).requestAnimationFrame;
    return new Promise<void>((r) => raf(() => raf(() => r())));
  });
const centre = (v: View, mpp: number): { x: number; y: number } => ({ x: (v.x + v.canvasWidth / v.zoom / 2) * mpp, y: (v.y + v.canvasHeight / v.zoom / 2) * mpp });

describe('workspace: side by side, synchronised, keyboard (headless host, real Chromium, real stack)', () => {
  let stack: RunningStack;
  let browser: Browser;
  let t: AppUnderTest;
  /** What the user picks in the next "open file" dialog (undefined: cancels it). */
  let nextPick: string | undefined;

  before(async () => {
    stack = await startStack({});
    browser = await launchChromium();
    t = await startAppUnderTest(browser, stack.configFile, { pickFile: async () => nextPick });
    await t.page.getByTestId('signin-screen').waitFor();
    const alice = stack.users.find((u) => u.username === 'alice');
    assert.ok(alice);
    await signIn(t, browser, alice);
  });
  after(async () => {
    await t?.close();
    await browser?.close();
    await stack?.stop();
  });

  test('two slides side by side move together in microns; sync off leaves the other alone', async (tc) => {
    if (!existsSync(join(SHARED_TESTDATA, SVS.file))) return tc.skip(`${SVS.file} is not in the shared test data`);
    const page = t.page;
    await page.getByTestId('goto-input').fill(DEMO.folder);
    await page.getByTestId('goto-button').click();
    await page.locator(`[data-testid=entry][data-name="${DEMO.name}"] [data-testid=open-slide]`).click();
    await loaded(page, 0);

    await page.getByTestId('compare-add').click();
    const picker = page.getByTestId('compare-picker');
    await picker.getByTestId('goto-input').fill(SVS.folder);
    await picker.getByTestId('goto-button').click();
    await picker.locator(`[data-testid=entry][data-name="${SVS.name}"] [data-testid=open-slide]`).click();
    await page.locator('[data-testid=workspace][data-panes="2"]').waitFor();
    await loaded(page, 1);
    await loaded(page, 0);
    await screenshot(page, 'workspace-side-by-side');

    // Opening the second slide (and pane 0 shrinking to make room) moved nobody else.
    const a0 = await view(page, 0);
    const b0 = await view(page, 1);
    await page.evaluate((v) => (globalThis as WithHooks).__viewers![0]!.setView(v), { x: a0.x + 400, y: a0.y + 300, zoom: a0.zoom * 2 });
    await settle(page);
    await settle(page);
    const a1 = await view(page, 0);
    const b1 = await view(page, 1);
    const movedA = { x: centre(a1, DEMO.mpp).x - centre(a0, DEMO.mpp).x, y: centre(a1, DEMO.mpp).y - centre(a0, DEMO.mpp).y };
    const movedB = { x: centre(b1, SVS.mpp).x - centre(b0, SVS.mpp).x, y: centre(b1, SVS.mpp).y - centre(b0, SVS.mpp).y };
    assert.ok(Math.abs(movedA.x) > 10, `pane 0 moved (${movedA.x.toFixed(1)} µm)`);
    assert.ok(Math.abs(movedB.x - movedA.x) < 0.5 && Math.abs(movedB.y - movedA.y) < 0.5, `same distance on both glasses: ${JSON.stringify({ movedA, movedB })}`);
    assert.ok(Math.abs(b1.zoom / b0.zoom - a1.zoom / a0.zoom) < 1e-3, `same zoom factor: ${a1.zoom / a0.zoom} vs ${b1.zoom / b0.zoom}`);
    await loaded(page, 1);

    await page.getByTestId('sync-toggle').uncheck();
    await page.evaluate((v) => (globalThis as WithHooks).__viewers![0]!.setView(v), { x: a1.x + 200, y: a1.y, zoom: a1.zoom });
    await settle(page);
    await settle(page);
    const b2 = await view(page, 1);
    assert.deepEqual([b2.x, b2.y, b2.zoom], [b1.x, b1.y, b1.zoom], 'with sync off the other slide stays');
    await page.getByTestId('sync-toggle').check();
  });

  test('keyboard: R turns the active pane only, ? lists the keys, 0 shows the whole slide', async () => {
    const page = t.page;
    // Clicking a pane makes it the one the keys act on.
    await page.locator('[data-testid=viewer][data-pane="1"] [data-testid=viewer-canvas]').click();
    // The turn is animated: wait until it has arrived.
    const turned = (pane: number, degrees: number) =>
      page.waitForFunction(([p, d]) => Math.abs((globalThis as WithHooks).__viewers![p!]!.getView().rotation - d!) < 0.01, [pane, degrees]);
    await page.keyboard.press('r');
    await turned(1, 90);
    assert.equal(Math.round((await view(page, 0)).rotation), 0, 'turning is an alignment: the other pane keeps its orientation');
    assert.match((await page.locator('[data-testid=viewer][data-pane="1"] [data-testid=rotate]').textContent()) ?? '', /90°/);
    await page.keyboard.press('Shift+R');
    await turned(1, 0);

    await page.keyboard.press('?');
    await page.getByTestId('shortcuts-help').waitFor();
    await screenshot(page, 'workspace-shortcuts');
    await page.keyboard.press('Escape');
    await page.getByTestId('shortcuts-help').waitFor({ state: 'detached' });

    const before = await view(page, 1);
    await page.keyboard.press('Shift+Equal');
    await page.keyboard.press('0');
    await loaded(page, 1);
    const home = await view(page, 1);
    assert.ok(home.zoom <= before.zoom * 1.01, 'home shows at least as much of the slide');
  });

  test("the label and macro are shown from the slide itself", async (tc) => {
    if (!existsSync(join(SHARED_TESTDATA, SVS.file))) return tc.skip(`${SVS.file} is not in the shared test data`);
    const page = t.page;
    const pane = page.locator('[data-testid=viewer][data-pane="1"]');
    for (const name of ['label', 'macro']) {
      const img = pane.getByTestId(`associated-${name}`);
      await img.waitFor();
      await page.waitForFunction((el) => (el as unknown as { complete: boolean }).complete, await img.elementHandle());
      const size = await img.evaluate((el) => ({ w: (el as unknown as { naturalWidth: number }).naturalWidth, h: (el as unknown as { naturalHeight: number }).naturalHeight }));
      assert.ok(size.w > 50 && size.h > 50, `${name} decoded by the browser: ${size.w}×${size.h}`);
    }
    await pane.getByTestId('associated-label').click();
    await page.getByTestId('associated-large').waitFor();
    await screenshot(page, 'workspace-label');
    await page.getByTestId('associated-large').click();
  });

  test('closing a pane, then the recent list opens a slide again', async () => {
    const page = t.page;
    await page.locator('[data-testid=viewer][data-pane="1"] [data-testid=viewer-close]').click();
    await page.locator('[data-testid=workspace][data-panes="1"]').waitFor();
    await page.getByTestId('viewer-back').click();
    const recent = page.getByTestId('recent-slide');
    await recent.first().waitFor();
    const names = await recent.allTextContents();
    assert.equal(names[0], existsSync(join(SHARED_TESTDATA, SVS.file)) ? SVS.name : DEMO.name, 'newest first');
    assert.ok(names.includes(DEMO.name));
    await page.locator('[data-testid=recent-slide]', { hasText: DEMO.name }).click();
    await loaded(page, 0);
    assert.equal(await page.locator('[data-testid=viewer]').getAttribute('data-uri'), `${DEMO.folder}${DEMO.name}`);
    await page.getByTestId('viewer-back').click();
  });

  test('"Open local slide…" opens the file the user chose; a path the page names is refused', async () => {
    const page = t.page;
    const path = ensureDemoSlide({ name: 'demo-tissue-a', width: 4096, height: 3072, seed: 1 });
    nextPick = undefined;
    await page.getByTestId('open-local').click();
    await page.getByTestId('open-local').isEnabled();
    assert.equal(await page.getByTestId('workspace').count(), 0, 'cancelling the dialog opens nothing');

    nextPick = path;
    await page.getByTestId('open-local').click();
    await loaded(page, 0);
    const uri = await page.locator('[data-testid=viewer]').getAttribute('data-uri');
    assert.equal(uri, pathToFileURL(path).href);
    assert.equal(await page.getByTestId('prop-size').textContent(), '4,096 × 3,072 px');
    await page.getByTestId('viewer-back').click();

    // The page asks main for a file nobody chose (as injected script would): refused.
    const reply = await page.evaluate(async () => {
      const r = await fetch('/api/slides.open', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ params: { uri: 'file:///etc/hostname' } }) });
      return (await r.json()) as { ok: boolean; error?: { code: string } };
    });
    assert.equal(reply.ok, false);
    assert.equal(reply.error?.code, 'ADDRESS_LOCAL_NOT_CHOSEN');
  });

  test('no console errors and no failed requests', () => {
    assert.deepEqual(t.consoleErrors, []);
    assert.deepEqual(t.failedRequests, []);
  });
});
