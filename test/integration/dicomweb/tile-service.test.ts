/**
 * DICOMweb series through the app's own tile path: `resolveSource` (dicomweb://<archive>/…
 * by settings name) → TileService → FrameScheduler → SQLite cache → pinning → offline, on a
 * real Orthanc behind the HealthImaging-style token gate with tokens signed by the real
 * test IdP. Tiles are checked against pydicom's reading of the Part 10 files; request
 * counts come from the gate's own log of what reached the archive.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TileCache } from '../../../main/cache/tile-cache.js';
import { localSiblings } from '../../../main/sources/siblings.js';
import { openSlide, readTile } from '../../../main/formats/open.js';
import { FileRangeReader } from '../../../main/sources/file.js';
import { isAppError } from '../../../main/common/errors.js';
import { DEFAULTS, type Settings } from '../../../main/config/schema.js';
import { AddressCheck } from '../../../main/app/address-check.js';
import { OpenSlides } from '../../../main/app/slides.js';
import { dicomwebSeriesUri } from '../../../main/sources/dicomweb/address.js';
import { DicomwebClient, type TokenSource } from '../../../main/sources/dicomweb/client.js';
import { resolveSource } from '../../../main/sources/resolve.js';
import { PinManager } from '../../../main/tiles/pinning.js';
import { TileService } from '../../../main/tiles/service.js';
import { startIdp, type RunningIdp } from '../../stack/idp.js';
import { orthancUnavailable, startOrthanc, type RunningOrthanc } from '../../stack/orthanc.js';
import { startTokenGate, type RunningTokenGate } from '../../stack/token-gate.js';

const TESTDATA = join(import.meta.dirname, '..', '..', '..', '..', 'shared', 'testdata', 'dicom-wsi');
const CMU_DIR = join(TESTDATA, 'cmu1-small-region-wsi2dcm-pyramid');
const CMU_L0 = join(CMU_DIR, 'level-0-frames-0-30.dcm');
const CMU_L1 = join(CMU_DIR, 'level-1-frames-0-9.dcm');
const CMU_L11 = join(CMU_DIR, 'level-11-frames-0-1.dcm');
const RAW = join(TESTDATA, 'wsi2dcm-single-level', 'raw-explicit-le.dcm');
const J2K = join(TESTDATA, 'wsi2dcm-single-level', 'jpeg2000-lossless.dcm');
const WG26_DIR = join(TESTDATA, 'wg26-bpaec-3dhistech-partial');
const WG26_L0 = join(WG26_DIR, '5_0.dcm');
const PYDICOM = join(import.meta.dirname, 'pydicom_frames.py');
const AUDIENCE = 'dicomweb-datastore';
const ARCHIVE = 'hospital-archive';

const unavailable = orthancUnavailable();
if (unavailable) console.log(`# skipping DICOMweb tile service tests: ${unavailable.reason}`);
const skip = unavailable?.kind === 'netns' ? unavailable.reason : false;

function pydicomFrames(file: string, frames: number[]): Buffer[] {
  const r = spawnSync('/usr/bin/python3', [PYDICOM, file, ...frames.map(String)], { encoding: 'utf8', maxBuffer: 256 << 20 });
  assert.equal(r.status, 0, r.stderr);
  return (JSON.parse(r.stdout) as { frames: string[] }).frames.map((b) => Buffer.from(b, 'base64'));
}

/** Mints a token per call with the IdP's key; `expireNext` makes un-forced calls hand out an expired token (a token that lapsed mid-session). */
class Tokens implements TokenSource {
  calls: { forced: boolean }[] = [];
  expireNext = false;
  constructor(private readonly idp: RunningIdp) {}
  async getAccessToken(opts?: { forceRefresh?: boolean }): Promise<string> {
    const forced = opts?.forceRefresh === true;
    this.calls.push({ forced });
    const now = Math.floor(Date.now() / 1000);
    const stale = this.expireNext && !forced;
    return this.idp.signJwt({ iss: this.idp.issuer, aud: AUDIENCE, sub: 'alice', groups: ['pathology'], iat: stale ? now - 700 : now, exp: stale ? now - 100 : now + 600 });
  }
}

describe('DICOMweb series through the tile service', { skip }, () => {
  let idp: RunningIdp;
  let orthanc: RunningOrthanc;
  let gate: RunningTokenGate;
  let dir: string;
  let tokens: Tokens;
  let settings: Settings;
  let cmu: { study: string; series: string; uri: string };
  let raw: { study: string; series: string; uri: string };
  let j2k: { study: string; series: string; uri: string };
  let wg26: { study: string; series: string; uri: string };
  const services: { service: TileService; cache: TileCache }[] = [];

  /** What the app's composition root does: one client per archive, with the user's token source. */
  const newService = (cacheFile = 'tiles.db'): { service: TileService; cache: TileCache } => {
    const cache = TileCache.open(join(dir, cacheFile));
    const clients = new Map<string, DicomwebClient>();
    const dicomweb = (name: string): DicomwebClient => {
      const root = `${gate.url}/dicom-web`;
      let c = clients.get(name);
      if (!c || c.root !== root) {
        c = new DicomwebClient({ root, token: tokens, retry: { maxAttempts: 2, baseDelayMs: 10, maxDelayMs: 50 } });
        clients.set(name, c);
      }
      return c;
    };
    const service = new TileService({ cache, resolve: async (uri) => resolveSource(uri, { settings, dicomweb }) });
    const s = { service, cache };
    services.push(s);
    return s;
  };
  const closeService = async (s: { service: TileService; cache: TileCache }): Promise<void> => {
    await s.service.close();
    s.cache.close();
    services.splice(services.indexOf(s), 1);
  };
  const startGate = async (): Promise<void> => {
    gate = await startTokenGate({ upstream: orthanc.baseUrl, issuer: idp.issuer, audience: AUDIENCE });
    settings.storage.dicomweb = [{ name: ARCHIVE, url: `${gate.url}/dicom-web` }];
  };
  /** Requests that reached the gate since the mark, by kind. */
  const mark = (): (() => { metadata: number; frames: number; refused: number; paths: string[] }) => {
    const start = gate.decisions.length;
    return () => {
      const d = gate.decisions.slice(start);
      return {
        metadata: d.filter((x) => x.path.endsWith('/metadata') && x.status === 200).length,
        frames: d.filter((x) => x.path.includes('/frames/') && x.status === 200).length,
        refused: d.filter((x) => x.status === 401).length,
        paths: d.map((x) => x.path),
      };
    };
  };

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'wsi-dicomweb-tiles-'));
    idp = await startIdp();
    orthanc = await startOrthanc({ dicom: [CMU_DIR, RAW, J2K, WG26_DIR], dicomize: [] });
    settings = structuredClone(DEFAULTS);
    await startGate();
    tokens = new Tokens(idp);
    const qido = new DicomwebClient({ root: orthanc.dicomwebRoot });
    const series = await qido.searchSeries();
    const find = async (file: string): Promise<{ study: string; series: string; uri: string }> => {
      const sop = orthanc.loaded.find((l) => l.file === file)!.sopInstanceUid;
      for (const s of series) {
        const md = await qido.seriesMetadata(s.studyInstanceUid, s.seriesInstanceUid);
        if (md.some((m) => m['00080018']?.Value?.[0] === sop)) return { study: s.studyInstanceUid, series: s.seriesInstanceUid, uri: dicomwebSeriesUri(ARCHIVE, s.studyInstanceUid, s.seriesInstanceUid) };
      }
      throw new Error(`no series holds ${file}`);
    };
    cmu = await find(CMU_L0);
    raw = await find(RAW);
    j2k = await find(J2K);
    wg26 = await find(WG26_L0);
  });
  after(async () => {
    for (const s of [...services]) await closeService(s).catch(() => undefined);
    await gate?.stop();
    await orthanc?.stop();
    await idp?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test('first open: one metadata request; a viewport of 30 tiles asked one by one = a few multi-frame requests; tiles = pydicom frames', async () => {
    const s = newService();
    const since = mark();
    const handle = await s.service.open(cmu.uri);
    assert.equal(handle.openedFrom, 'storage');
    assert.equal(handle.descriptor.format, 'dicomweb');
    assert.equal(handle.descriptor.levels.length, 12);
    assert.match(handle.descriptor.identity.etag ?? '', /^series-sha256:[0-9a-f]{40}$/);
    assert.equal(handle.descriptor.identity.uri, cmu.uri);
    assert.equal(since().metadata, 1, 'identity and layout come from one /metadata request');

    const l0 = handle.descriptor.levels[0]!;
    const keys: { col: number; row: number }[] = [];
    for (let row = 0; row < l0.rows; row++) for (let col = 0; col < l0.columns; col++) keys.push({ col, row });
    assert.equal(keys.length, 30);
    const tiles = await Promise.all(keys.map((k) => s.service.getTile(handle, 0, k.col, k.row)));
    const counts = since();
    assert.ok(counts.frames >= 1 && counts.frames <= 6, `30 tiles took ${counts.frames} frame requests`);
    assert.equal(counts.metadata, 1);
    const stats = s.service.stats().frames;
    assert.equal(stats.framesRequested, 30);
    assert.equal(stats.requests, counts.frames);
    // Frame n of level 0 is tile (n-1) in row-major order (TILED_FULL).
    const reference = pydicomFrames(CMU_L0, keys.map((_, i) => i + 1));
    tiles.forEach((t, i) => {
      assert.ok(t);
      assert.equal(t.mime, 'image/jpeg');
      assert.ok(Buffer.from(t.bytes).equals(reference[i]!), `tile ${keys[i]!.col},${keys[i]!.row} differs from pydicom's frame ${i + 1}`);
    });
    // Asked again: all from the cache, nothing more reaches the archive.
    const again = mark();
    await Promise.all(keys.map((k) => s.service.getTile(handle, 0, k.col, k.row)));
    assert.deepEqual(again().paths, []);
    await s.service.closeSlide(handle);
    await closeService(s);
  });

  test('native frames: tiles equal pydicom\'s pixel_array', async () => {
    // A cache of its own: the offline test below needs this series mostly uncached.
    const s = newService('native.db');
    const handle = await s.service.open(raw.uri);
    const l0 = handle.descriptor.levels[0]!;
    const keys: { col: number; row: number }[] = [];
    for (let row = 0; row < l0.rows; row++) for (let col = 0; col < l0.columns; col++) keys.push({ col, row });
    const since = mark();
    const tiles = await Promise.all(keys.map((k) => s.service.getTile(handle, 0, k.col, k.row)));
    assert.ok(since().frames < keys.length, `${keys.length} tiles, ${since().frames} requests`);
    const reference = pydicomFrames(RAW, keys.map((_, i) => i + 1));
    tiles.forEach((t, i) => {
      assert.deepEqual(t!.encoding, { kind: 'raw', bitsPerSample: 8, samplesPerPixel: 3, sampleFormat: 'uint' });
      assert.ok(Buffer.from(t!.bytes).equals(reference[i]!), `tile ${i} pixels differ from pydicom's`);
    });
    await closeService(s);
  });

  test('JPEG 2000 frames arrive as stored and are decoded in the worker pool: the same samples as the Part 10 reader of the file', async () => {
    const s = newService('j2k.db');
    const handle = await s.service.open(j2k.uri);
    const l0 = handle.descriptor.levels[0]!;
    const keys: { col: number; row: number }[] = [];
    for (let row = 0; row < l0.rows; row++) for (let col = 0; col < l0.columns; col++) keys.push({ col, row });
    const decoded = s.service.stats().workers.completed;
    const tiles = await Promise.all(keys.map((k) => s.service.getTile(handle, 0, k.col, k.row)));
    assert.equal(s.service.stats().workers.completed - decoded, keys.length, 'every frame decoded off the main thread');
    const file = new FileRangeReader(J2K);
    const local = await openSlide(file, { siblings: localSiblings(J2K) });
    try {
      for (const [i, k] of keys.entries()) {
        const expected = (await readTile(local, file, 0, k.col, k.row))!;
        assert.deepEqual(tiles[i]!.encoding, expected.encoding);
        assert.deepEqual([tiles[i]!.width, tiles[i]!.height], [expected.width, expected.height]);
        assert.ok(Buffer.from(tiles[i]!.bytes).equals(Buffer.from(expected.bytes)), `tile ${k.col},${k.row}`);
      }
    } finally {
      await local.close();
      await file.close().catch(() => undefined);
    }
    await closeService(s);
  });

  test('second open (a restarted app): the cached descriptor after one metadata request; cached tiles need no archive; a miss parses without fetching metadata again', async () => {
    const s = newService();
    const since = mark();
    const handle = await s.service.open(cmu.uri);
    assert.equal(handle.openedFrom, 'cache');
    assert.equal(handle.offline, false);
    assert.equal(since().metadata, 1, 'the version check');
    const cached = await s.service.getTile(handle, 0, 2, 3);
    assert.ok(cached);
    assert.equal(since().frames, 0);
    // Level 1 was never read: frames are fetched, and the layout reuses the metadata of the version check.
    const l1 = handle.descriptor.levels[1]!;
    const keys: { col: number; row: number }[] = [];
    for (let row = 0; row < l1.rows; row++) for (let col = 0; col < l1.columns; col++) keys.push({ col, row });
    const tiles = await Promise.all(keys.map((k) => s.service.getTile(handle, 1, k.col, k.row)));
    const counts = since();
    assert.equal(counts.metadata, 1, 'no second metadata request');
    assert.ok(counts.frames >= 1 && counts.frames < keys.length);
    const reference = pydicomFrames(CMU_L1, keys.map((_, i) => i + 1));
    tiles.forEach((t, i) => assert.ok(Buffer.from(t!.bytes).equals(reference[i]!), `level 1 tile ${i}`));
    await closeService(s);
  });

  test('a token that expires mid-session is renewed once and the tile still arrives', async () => {
    const s = newService();
    const handle = await s.service.open(cmu.uri);
    const callsBefore = tokens.calls.length;
    tokens.expireNext = true;
    try {
      const since = mark();
      const tile = await s.service.getTile(handle, 2, 0, 0);
      assert.ok(tile);
      const counts = since();
      assert.equal(counts.refused, 1, 'the archive refused the lapsed token once');
      assert.equal(counts.frames, 1, 'then answered with the renewed one');
      const calls = tokens.calls.slice(callsBefore);
      assert.deepEqual(calls.map((c) => c.forced), [false, true]);
    } finally {
      tokens.expireNext = false;
    }
    await closeService(s);
  });

  test('the viewer opens dicomweb:// addresses; a malformed one is refused before any request', async () => {
    const s = newService();
    const slides = new OpenSlides(s.service, new AddressCheck({ buckets: () => [], archives: () => [ARCHIVE] }));
    const opened = await slides.open(cmu.uri);
    assert.equal(opened.uri, cmu.uri);
    assert.equal(opened.summary.format, 'dicomweb');
    assert.ok(opened.name.length > 0);
    assert.match(opened.tileUrlTemplate, /^\/tiles\/[0-9a-f]{32}\//);
    const since = mark();
    await assert.rejects(slides.open(`dicomweb://${ARCHIVE}/studies/1.2/series/x`), (e) => isAppError(e, 'ADDRESS_BAD_SERIES'));
    await assert.rejects(slides.open(dicomwebSeriesUri('no-such-archive', cmu.study, cmu.series)), (e) => isAppError(e, 'ADDRESS_UNKNOWN_ARCHIVE'));
    assert.deepEqual(since().paths, []);
    await slides.closeAll();
    await closeService(s);
  });

  test('pinned series open offline with every tile; an unpinned one serves what it cached and says TILE_OFFLINE for the rest; a never-opened one is unreachable', async () => {
    const s = newService();
    const pins = new PinManager(s.service);
    const job = pins.pin(cmu.uri);
    await job.settled();
    const p = job.progress();
    assert.equal(p.state, 'done', JSON.stringify(p.error));
    const handle = await s.service.open(cmu.uri);
    const all = handle.descriptor.levels.reduce((n, l) => n + l.columns * l.rows, 0);
    assert.equal(p.total, all);
    assert.ok(s.service.stats().frames.requests < all, 'pinning batches frames too');
    await s.service.closeSlide(handle);
    // The fluorescence series, coarsest level only: its label and map come along.
    const overview = pins.pin(wg26.uri, { minDownsample: 1e9 });
    await overview.settled();
    assert.equal(overview.progress().state, 'done', JSON.stringify(overview.progress().error));
    // The native series: opened and one tile viewed, not pinned.
    const rawHandle = await s.service.open(raw.uri);
    const seen = await s.service.getTile(rawHandle, 0, 0, 0);
    await pins.close();
    await closeService(s);

    await gate.stop();
    try {
      const off = newService();
      const h = await off.service.open(cmu.uri);
      assert.equal(h.offline, true);
      assert.equal(h.openedFrom, 'cache');
      const reference = pydicomFrames(CMU_L0, [1, 30]);
      const l0 = h.descriptor.levels[0]!;
      assert.ok(Buffer.from((await off.service.getTile(h, 0, 0, 0))!.bytes).equals(reference[0]!));
      assert.ok(Buffer.from((await off.service.getTile(h, 0, l0.columns - 1, l0.rows - 1))!.bytes).equals(reference[1]!));
      for (let level = 0; level < h.descriptor.levels.length; level++) {
        const l = h.descriptor.levels[level]!;
        for (let row = 0; row < l.rows; row++) for (let col = 0; col < l.columns; col++) assert.ok(off.service.isCached(h, level, col, row), `L${level} ${col},${row} pinned`);
      }
      const w = await off.service.open(wg26.uri);
      assert.equal(w.offline, true);
      assert.deepEqual(w.descriptor.associated.map((a) => a.name).sort(), ['label', 'map']);
      const label = await off.service.getAssociated(w, 'label');
      assert.equal(label.mime, 'image/jpeg');
      assert.equal(label.width, 579);
      const coarsest = w.descriptor.levels.length - 1;
      assert.ok(await off.service.getTile(w, coarsest, 0, 0, 2), 'the third channel of the pinned level');
      await assert.rejects(off.service.getTile(w, 0, 0, 0, 0), (e) => isAppError(e, 'TILE_OFFLINE'));
      const r = await off.service.open(raw.uri);
      assert.equal(r.offline, true);
      assert.ok(Buffer.from((await off.service.getTile(r, 0, 0, 0))!.bytes).equals(Buffer.from(seen!.bytes)));
      await assert.rejects(off.service.getTile(r, 0, 1, 0), (e) => isAppError(e, 'TILE_OFFLINE'));
      const never = dicomwebSeriesUri(ARCHIVE, cmu.study, '1.2.826.0.1.3680043.99.1');
      await assert.rejects(off.service.open(never), (e) => isAppError(e, 'DICOMWEB_UNREACHABLE'));
      await closeService(off);
    } finally {
      await startGate();
    }
  });

  test('a changed series (an instance deleted in the archive) gets a new version: parsed again, old tiles dropped, the pin carried over', async () => {
    const s = newService();
    const before = await s.service.open(cmu.uri);
    const oldEtag = before.descriptor.identity.etag;
    assert.equal(before.descriptor.levels.length, 12);
    await s.service.closeSlide(before);
    // Delete the 1×1 level in Orthanc itself (not through the gate).
    const sop = orthanc.loaded.find((l) => l.file === CMU_L11)!.sopInstanceUid;
    const found = (await (await fetch(`${orthanc.baseUrl}/tools/lookup`, { method: 'POST', body: sop })).json()) as { ID: string; Type: string }[];
    const id = found.find((f) => f.Type === 'Instance')!.ID;
    assert.equal((await fetch(`${orthanc.baseUrl}/instances/${id}`, { method: 'DELETE' })).status, 200);

    const since = mark();
    const after = await s.service.open(cmu.uri);
    assert.equal(after.openedFrom, 'storage');
    assert.notEqual(after.descriptor.identity.etag, oldEtag);
    assert.equal(after.descriptor.levels.length, 11);
    assert.equal(since().metadata, 1, 'the version check\'s metadata is the one the new layout is built from');
    assert.equal(s.cache.findSlide(cmu.uri, oldEtag), undefined);
    assert.equal(s.service.isCached(after, 0, 0, 0), false, 'tiles of the old version are gone');
    assert.ok(s.cache.findSlide(cmu.uri, after.descriptor.identity.etag)?.pinned, 'still pinned');
    const tile = await s.service.getTile(after, 0, 0, 0);
    assert.ok(Buffer.from(tile!.bytes).equals(pydicomFrames(CMU_L0, [1])[0]!));
    await closeService(s);
  });
});
