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
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { launchChromium } from '../stack/browser-login.js';
import { orthancUnavailable } from '../stack/orthanc.js';
import { SHARED_TESTDATA, startStack, type RunningStack } from '../stack/stack.js';
import { compareScreen, setViewerView, whenViewerLoaded, type ScreenComparison } from './engine-compare.js';
import { screenshot, signIn, startAppUnderTest, type AppUnderTest } from './helpers.js';
import type { Rgb } from './pixels.js';

const CMU_DIR = join(SHARED_TESTDATA, 'dicom-wsi', 'cmu1-small-region-wsi2dcm-pyramid');
const PYDICOM_REGION = join(import.meta.dirname, '..', 'integration', 'dicomweb', 'pydicom_region.py');

const unavailable = orthancUnavailable();
if (unavailable) console.log(`# skipping the DICOMweb end-to-end test: ${unavailable.reason}`);
const skip = unavailable?.kind === 'netns' ? unavailable.reason : false;

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
  /** Every answer of the contract the page received (to look for tokens in them). */
  const apiBodies: Promise<string>[] = [];

  before(async () => {
    pyramid = readPyramid();
    refDir = mkdtempSync(join(tmpdir(), 'wsi-dicomweb-ref-'));
    stack = await startStack({ dicomweb: true });
    browser = await launchChromium();
    t = await startAppUnderTest(browser, stack.configFile);
    t.page.on('response', (r) => {
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
    await whenViewerLoaded(page);
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
    await setViewerView(page, { x: 300, y: 700, zoom: 1 });
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
    assert.deepEqual(t.failedRequests, []);
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

  /** The viewer canvas against the same region decoded from the DICOM files by pydicom. */
  function compareWithPydicom(page: Page, name: string): Promise<ScreenComparison> {
    return compareScreen(page, { name, label: 'pydicom', levels: pyramid.levels, reference: (level, r) => pydicomRegion(pyramid.levels[level]!.file, r.x, r.y, r.width, r.height) });
  }

  function pydicomRegion(file: string, x: number, y: number, width: number, height: number): Rgb {
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
    return { width, height, data, channels: 4 };
  }
});

