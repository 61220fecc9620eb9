/**
 * DICOMweb end to end, in real Chromium through the headless host against the real stack
 * (IdP with RFC 8707 resource tokens, Orthanc behind the HealthImaging-style token gate):
 * alice signs in once, finds the archive beside the buckets, searches studies by patient
 * name, ID, accession number and date, opens a study's series and a slide-microscopy
 * series in the viewer. Once every tile of the view is in, the viewer canvas is compared
 * pixel by pixel with the frames of the same Part 10 files decoded by pydicom
 * (test/integration/dicomweb/pydicom_region.py), at the overview and at full resolution.
 * carol (no group) is refused by the archive, in words.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inflateSync } from 'node:zlib';
import type { Browser, Page } from 'playwright-core';
import { encodePng, type RgbaImage } from '../../main/tiles/region.js';
import { launchChromium } from '../stack/browser-login.js';
import { orthancUnavailable } from '../stack/orthanc.js';
import { SHARED_TESTDATA, startStack, type RunningStack } from '../stack/stack.js';
import { SCREENSHOTS, screenshot, signIn, startAppUnderTest, type AppUnderTest } from './helpers.js';

const CMU_DIR = join(SHARED_TESTDATA, 'dicom-wsi', 'cmu1-small-region-wsi2dcm-pyramid');
const PYDICOM_REGION = join(import.meta.dirname, '..', 'integration', 'dicomweb', 'pydicom_region.py');

const unavailable = orthancUnavailable();
if (unavailable) console.log(`# skipping the DICOMweb end-to-end test: ${unavailable.reason}`);
const skip = unavailable?.kind === 'netns' ? unavailable.reason : false;

/** window.__viewer (renderer/src/viewer/test-hook.ts); the tests compile without DOM types. */
interface View {
  canvasWidth: number;
  canvasHeight: number;
  x: number;
  y: number;
  zoom: number;
  drawnLevel: number;
}
interface Hook {
  whenFullyLoaded(): Promise<void>;
  getView(): View;
  setView(v: { x: number; y: number; zoom: number }): void;
}
type WithHook = { __viewer?: Hook };

interface LevelFile {
  file: string;
  width: number;
  height: number;
}

/** The CMU pyramid's UIDs and its level files, largest first, as pydicom reads them. */
function readPyramid(): { study: string; series: string; levels: LevelFile[] } {
  const code = `
import glob, json, sys, pydicom
out = []
for f in glob.glob(sys.argv[1] + "/*.dcm"):
    ds = pydicom.dcmread(f, stop_before_pixels=True)
    out.append({"file": f, "width": int(ds.TotalPixelMatrixColumns), "height": int(ds.TotalPixelMatrixRows), "study": ds.StudyInstanceUID, "series": ds.SeriesInstanceUID})
print(json.dumps(out))`;
  const r = spawnSync('/usr/bin/python3', ['-c', code, CMU_DIR], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  const all = JSON.parse(r.stdout) as (LevelFile & { study: string; series: string })[];
  assert.ok(all.length > 0);
  return { study: all[0]!.study, series: all[0]!.series, levels: all.sort((a, b) => b.width - a.width).map(({ file, width, height }) => ({ file, width, height })) };
}

describe('DICOMweb: sign in, browse the archive, open a series; pixels match pydicom (headless host, real Chromium, real stack)', { skip }, () => {
  let stack: RunningStack;
  let browser: Browser;
  let t: AppUnderTest;
  let pyramid: ReturnType<typeof readPyramid>;
  let refDir: string;
  const failedRequests: string[] = [];
  /** Every answer of the contract the page received (to look for tokens in them). */
  const apiBodies: Promise<string>[] = [];

  before(async () => {
    pyramid = readPyramid();
    refDir = mkdtempSync(join(tmpdir(), 'wsi-dicomweb-ref-'));
    stack = await startStack({ dicomweb: true });
    browser = await launchChromium();
    t = await startAppUnderTest(browser, stack.configFile);
    t.page.on('requestfailed', (r) => {
      const failure = r.failure()?.errorText ?? '';
      // OSD drops tile loads it no longer needs when the view changes: expected.
      if (!(new URL(r.url()).pathname.startsWith('/tiles/') && failure === 'net::ERR_ABORTED')) failedRequests.push(`${r.url()} ${failure}`);
    });
    t.page.on('response', (r) => {
      if (r.status() >= 400) failedRequests.push(`${r.url()} ${r.status()}`);
      const path = new URL(r.url()).pathname;
      // The event stream never ends; its payloads are AuthState, checked by the auth tests.
      if (path.startsWith('/api/') && path !== '/api/events') apiBodies.push(r.text().catch(() => ''));
    });
    await t.page.getByTestId('signin-screen').waitFor();
  });
  after(async () => {
    await t?.close();
    await browser?.close();
    await stack?.stop();
    if (refDir) rmSync(refDir, { recursive: true, force: true });
  });

  const studyRows = (page: Page): Promise<{ uid: string; patientId: string }[]> =>
    page.getByTestId('dw-study').evaluateAll((rows) => rows.map((r) => ({ uid: r.getAttribute('data-uid') ?? '', patientId: r.getAttribute('data-patient-id') ?? '' })));
  async function searchFor(page: Page, fields: Partial<Record<'dw-patient-name' | 'dw-patient-id' | 'dw-accession' | 'dw-date-from' | 'dw-date-to', string>>): Promise<{ uid: string; patientId: string }[]> {
    for (const id of ['dw-patient-name', 'dw-patient-id', 'dw-accession', 'dw-date-from', 'dw-date-to'] as const) await page.getByTestId(id).fill(fields[id] ?? '');
    await page.getByTestId('dw-search-button').click();
    await page.locator('[data-testid=dw-studies][aria-busy=false]').waitFor();
    return studyRows(page);
  }

  test('alice: the archive beside the buckets, study search by name, ID, accession and date', async () => {
    const alice = stack.users.find((u) => u.username === 'alice')!;
    await signIn(t, browser, alice);
    const page = t.page;
    const archiveRow = page.locator(`[data-testid=entry][data-kind=archive][data-name="${stack.dicomweb!.label}"]`);
    await archiveRow.waitFor();
    await page.locator('[data-testid=entry][data-name="Pathology archive"]').waitFor();
    await screenshot(page, 'dicomweb-storage-roots');

    await archiveRow.getByTestId('open-archive').click();
    await page.getByTestId('dicomweb-browser').waitFor();
    await page.locator('[data-testid=dw-studies][aria-busy=false]').waitFor();
    const all = await studyRows(page);
    // Every study of the archive has slide microscopy: all of them are listed, the pyramid among them.
    assert.ok(all.length >= 5, `${all.length} studies listed`);
    assert.ok(all.some((s) => s.uid === pyramid.study), 'the CMU pyramid study is listed');
    await screenshot(page, 'dicomweb-studies');

    const byName = await searchFor(page, { 'dw-patient-name': 'test patient' });
    assert.deepEqual(byName.map((s) => s.patientId), ['AA01']);
    assert.equal(await page.locator('[data-testid=dw-study] [data-testid=open-study]').first().textContent(), 'Test, Patient');
    await screenshot(page, 'dicomweb-search-by-name');
    assert.deepEqual((await searchFor(page, { 'dw-patient-id': 'AA01' })).map((s) => s.patientId), ['AA01']);
    assert.deepEqual((await searchFor(page, { 'dw-accession': 'S19-1_A_1_1' })).map((s) => s.patientId), ['AA01']);
    assert.deepEqual((await searchFor(page, { 'dw-date-from': '2019-06-04', 'dw-date-to': '2019-06-04' })).map((s) => s.patientId), ['AA01']);
    assert.deepEqual(await searchFor(page, { 'dw-patient-name': 'nobody such' }), []);
    assert.match((await page.getByTestId('dw-empty').textContent()) ?? '', /No slide studies match/);
    assert.equal((await searchFor(page, {})).length, all.length, 'an empty search lists everything again');

    // Pages through the archive: the same studies as one list, each once, and the last page says so.
    const call = (params: unknown) =>
      page.evaluate(async (p) => {
        const r = await fetch('/api/dicomweb.searchStudies', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ params: p }) });
        return ((await r.json()) as { result: { studies: { studyInstanceUid: string }[]; more: boolean; offset: number } }).result;
      }, params);
    const paged: string[] = [];
    for (let offset = 0, more = true; more; ) {
      const p = await call({ source: stack.dicomweb!.name, offset, limit: 3 });
      assert.equal(p.offset, offset);
      assert.ok(p.studies.length <= 3);
      paged.push(...p.studies.map((s) => s.studyInstanceUid));
      more = p.more;
      offset += p.studies.length;
      assert.ok(offset <= all.length + 3, 'paging ends');
    }
    assert.deepEqual([...paged].sort(), all.map((s) => s.uid).sort());
  });

  test('alice opens the pyramid series; overview and full resolution match pydicom', async () => {
    const page = t.page;
    await page.locator(`[data-testid=dw-study][data-uid="${pyramid.study}"] [data-testid=open-study]`).click();
    const row = page.locator(`[data-testid=dw-series] [data-testid=dw-series-row][data-uid="${pyramid.series}"]`);
    await row.waitFor();
    assert.equal(await row.getAttribute('data-slide'), 'true');
    assert.equal(await row.locator('td').nth(1).textContent(), 'SM');
    assert.equal(await row.locator('td').nth(2).textContent(), String(pyramid.levels.length), 'one instance per level');
    await screenshot(page, 'dicomweb-series');

    await row.getByTestId('open-series').click();
    const uri = `dicomweb://${stack.dicomweb!.name}/studies/${pyramid.study}/series/${pyramid.series}`;
    await page.locator(`[data-testid=viewer][data-uri="${uri}"]`).waitFor();
    await page.waitForFunction(() => (globalThis as WithHook).__viewer !== undefined);
    await page.evaluate(() => (globalThis as WithHook).__viewer!.whenFullyLoaded());
    const base = pyramid.levels[0]!;
    assert.equal(await page.getByTestId('prop-size').textContent(), `${base.width.toLocaleString('en-US')} × ${base.height.toLocaleString('en-US')} px`);
    assert.equal(await page.getByTestId('prop-levels').textContent(), String(pyramid.levels.length));
    await screenshot(page, 'dicomweb-viewer-overview-screen');

    const overview = await compareWithPydicom(page, 'dicomweb-viewer-overview');
    assert.ok(overview.view.drawnLevel > 0, `the overview is drawn from a reduced level (got ${overview.view.drawnLevel})`);
    assert.ok(overview.compared > 50_000, `compared ${overview.compared} pixels`);
    assert.ok(overview.mae < 2, `overview mean absolute difference ${overview.mae.toFixed(2)}`);
    assert.ok(overview.psnr >= 35, `overview PSNR ${overview.psnr.toFixed(1)} dB`);

    // Full resolution, across frame borders (frames are 500 × 500).
    await page.evaluate((v) => (globalThis as WithHook).__viewer!.setView(v), { x: 300, y: 700, zoom: 1 });
    await page.evaluate(() => (globalThis as WithHook).__viewer!.whenFullyLoaded());
    const full = await compareWithPydicom(page, 'dicomweb-viewer-full-resolution');
    assert.equal(full.view.drawnLevel, 0);
    assert.ok(full.compared > 200_000, `compared ${full.compared} pixels`);
    assert.ok(full.mae < 2, `full-resolution mean absolute difference ${full.mae.toFixed(2)}`);
    assert.ok(full.psnr >= 35, `full-resolution PSNR ${full.psnr.toFixed(1)} dB`);
    process.stderr.write(
      `dicomweb viewer pixels: overview level ${overview.view.drawnLevel} MAE ${overview.mae.toFixed(2)} PSNR ${overview.psnr.toFixed(1)} dB over ${overview.compared} px; ` +
        `full resolution MAE ${full.mae.toFixed(2)} PSNR ${full.psnr.toFixed(1)} dB over ${full.compared} px\n`,
    );

    // Back: the series of the same study, not an empty search.
    await page.getByTestId('viewer-back').click();
    await page.locator(`[data-testid=dw-series][data-study="${pyramid.study}"] [data-testid=dw-series-row]`).first().waitFor();
  });

  test('no console errors and no failed requests but tile loads the viewer cancelled; no token in any answer to the page', async () => {
    assert.deepEqual(t.consoleErrors, []);
    assert.deepEqual(failedRequests, []);
    const bodies = await Promise.all(apiBodies);
    assert.ok(bodies.length > 10, `${bodies.length} answers checked`);
    for (const b of bodies) assert.doesNotMatch(b, /eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\./, 'a JWT reached the renderer');
  });

  test('carol (no group): the archive refuses her in words', async () => {
    const page = t.page;
    await page.getByTestId('signout-button').click();
    await page.getByTestId('signin-screen').waitFor();
    const carol = stack.users.find((u) => u.username === 'carol')!;
    await signIn(t, browser, carol);
    // Her buckets fail (no storage policy), the archive is still offered: it decides for itself.
    const archiveRow = page.locator(`[data-testid=entry][data-kind=archive][data-name="${stack.dicomweb!.label}"]`);
    await archiveRow.getByTestId('open-archive').click();
    const error = page.getByTestId('dicomweb-error');
    await error.waitFor();
    assert.equal(await error.getAttribute('data-code'), 'DICOMWEB_ACCESS_DENIED');
    assert.equal(await error.getByTestId('error-title').textContent(), 'The image archive refused access');
    assert.match((await error.textContent()) ?? '', /The image archive “Pathology PACS” refused access to its studies for your account\./);
    assert.equal(await page.getByTestId('dw-study').count(), 0);
    await screenshot(page, 'dicomweb-carol-refused');
  });

  async function compareWithPydicom(page: Page, name: string): Promise<{ view: View; mae: number; psnr: number; compared: number }> {
    const view = await page.evaluate(() => (globalThis as WithHook).__viewer!.getView());
    assert.ok(view.drawnLevel >= 0, 'tiles are drawn');
    mkdirSync(SCREENSHOTS, { recursive: true });
    const shot = decodePng(await page.getByTestId('viewer-canvas').screenshot({ path: join(SCREENSHOTS, `${name}.png`) }));
    // The scale bar floats over the canvas: its pixels are not the slide's.
    const canvasBox = await page.getByTestId('viewer-canvas').boundingBox();
    const barBox = await page.getByTestId('scale-bar').boundingBox();
    assert.ok(canvasBox && barBox);
    const covered = (i: number, j: number): boolean =>
      i >= Math.floor(barBox.x - canvasBox.x) - 1 && i <= Math.ceil(barBox.x + barBox.width - canvasBox.x) && j >= Math.floor(barBox.y - canvasBox.y) - 1 && j <= Math.ceil(barBox.y + barBox.height - canvasBox.y);
    const level = pyramid.levels[view.drawnLevel]!;
    const base = pyramid.levels[0]!;
    // One scale per level, from the widths (as OSD places tiles).
    const s = level.width / base.width;
    const i0 = Math.max(0, Math.ceil(-view.x * view.zoom) + 1);
    const j0 = Math.max(0, Math.ceil(-view.y * view.zoom) + 1);
    const i1 = Math.min(shot.width, view.canvasWidth, Math.floor((base.width - view.x) * view.zoom) - 1);
    const j1 = Math.min(shot.height, view.canvasHeight, Math.floor((base.height - view.y) * view.zoom) - 1);
    assert.ok(i1 > i0 && j1 > j0, 'part of the slide is on screen');
    const lx = (i: number): number => (view.x + (i + 0.5) / view.zoom) * s - 0.5;
    const ly = (j: number): number => (view.y + (j + 0.5) / view.zoom) * s - 0.5;
    const rx = Math.max(0, Math.floor(lx(i0)) - 1);
    const ry = Math.max(0, Math.floor(ly(j0)) - 1);
    const rw = Math.min(level.width, Math.ceil(lx(i1)) + 2) - rx;
    const rh = Math.min(level.height, Math.ceil(ly(j1)) + 2) - ry;
    const ref = pydicomRegion(level.file, rx, ry, rw, rh);
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
    writeFileSync(join(SCREENSHOTS, `${name}-pydicom.png`), await encodePng({ width: shot.width, height: shot.height, data: expected }));
    return { view, mae, psnr, compared: n / 3 };
  }

  function pydicomRegion(file: string, x: number, y: number, width: number, height: number): RgbaImage {
    const out = join(refDir, `region-${x}-${y}-${width}-${height}.rgb`);
    const r = spawnSync('/usr/bin/python3', [PYDICOM_REGION, out, file, String(x), String(y), String(width), String(height)], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    const rgb = readFileSync(out);
    assert.equal(rgb.length, width * height * 3);
    const data = new Uint8Array(width * height * 4);
    for (let p = 0; p < width * height; p++) {
      data[p * 4] = rgb[p * 3]!;
      data[p * 4 + 1] = rgb[p * 3 + 1]!;
      data[p * 4 + 2] = rgb[p * 3 + 2]!;
      data[p * 4 + 3] = 255;
    }
    return { width, height, data };
  }
});

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
