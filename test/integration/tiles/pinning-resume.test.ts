/**
 * Pinning with the real slide parser over a local file: suspended by an app shutdown and
 * resumed after a "restart" (a new cache handle, service and manager on the same DB)
 * without refetching cached tiles; pause/resume/cancel; pinned tiles survive eviction.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TileCache } from '../../../main/cache/tile-cache.js';
import { FileRangeReader } from '../../../main/sources/file.js';
import { PinManager, pinTiles, type PinProgress } from '../../../main/tiles/pinning.js';
import { RangeScheduler } from '../../../main/tiles/scheduler.js';
import { TileService } from '../../../main/tiles/service.js';
import { testdata } from '../../support/paths.js';

const FILE = testdata('derived/generic-tiff/CMU-1-Small-Region.pyramid-jpeg.tif');

function session(path: string) {
  const cache = TileCache.open(path);
  // Little coalescing and one lane, so the job advances tile by tile and can be stopped mid-way.
  const service = new TileService({ cache, resolve: async (uri) => new FileRangeReader(uri), scheduler: new RangeScheduler({ maxMergedBytes: 1 }) });
  const pins = new PinManager(service, { concurrency: 1 });
  return {
    cache, service, pins,
    async close() {
      await pins.close();
      await service.close();
      cache.close();
    },
  };
}

const untilDone = (job: { once: (e: string, f: () => void) => unknown }) => new Promise<void>((r) => job.once('done', () => r()));

test('a pin job interrupted by shutdown resumes after restart and fetches only what is missing', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'wsi-pin-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const db = join(dir, 'cache.db');

  const s1 = session(db);
  const job1 = s1.pins.pin(FILE, { minDownsample: 2 });
  await new Promise<void>((resolve) => job1.on('progress', (p: PinProgress) => p.done >= 10 && resolve()));
  await s1.close(); // app shutdown mid-pin
  const afterFirst = s1.service.stats().tilesFromStorage;

  const s2 = session(db);
  t.after(() => s2.close());
  const [rec] = s2.cache.pinJobs();
  assert.equal(rec?.state, 'running', 'persisted as still wanted');
  assert.ok(rec.done >= 10);
  const [job2] = s2.pins.resumeAll();
  assert.ok(job2);
  await untilDone(job2);
  const p = job2.progress();
  assert.equal(p.state, 'done');
  assert.equal(p.done, p.total);
  const handle = await s2.service.open(FILE);
  const keys = pinTiles(handle.descriptor, { minDownsample: 2 });
  assert.equal(p.total, keys.length);
  assert.ok(keys.every((k) => k.level > 0), 'level 0 (downsample 1) not pinned');
  assert.equal(afterFirst + s2.service.stats().tilesFromStorage, keys.length, 'each tile fetched exactly once across the restart');
  for (const k of keys) assert.ok(s2.service.isCached(handle, k.level, k.col, k.row, k.plane));

  // Pinned tiles are exempt from eviction; an unpinned level-0 tile is not.
  await s2.service.getTile(handle, 0, 0, 0);
  s2.cache.setBudget(0);
  assert.ok(keys.every((k) => s2.service.isCached(handle, k.level, k.col, k.row, k.plane)));
  assert.equal(s2.service.isCached(handle, 0, 0, 0), true, 'same slide: pinned slides are exempt as a whole');
});

test('pause, resume and cancel', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'wsi-pin-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const s = session(join(dir, 'cache.db'));
  t.after(() => s.close());
  const job = s.pins.pin(FILE, { minDownsample: 4 });
  await new Promise<void>((resolve) => job.on('progress', (p: PinProgress) => p.done >= 3 && resolve()));
  await job.pause();
  assert.equal(job.state, 'paused');
  const paused = job.progress().done;
  assert.ok(paused < job.progress().total);
  assert.equal(s.cache.pinJobs()[0]?.state, 'paused');
  const fetchedWhilePaused = s.service.stats().tilesFromStorage;
  await new Promise((r) => setImmediate(r));
  assert.equal(s.service.stats().tilesFromStorage, fetchedWhilePaused, 'nothing fetched while paused');
  const done = untilDone(job);
  job.resume();
  await done;
  assert.equal(job.state, 'done');

  const handle = await s.service.open(FILE);
  assert.equal(s.cache.findSlide(handle.uri, handle.descriptor.identity.etag)?.pinned, true);
  await job.cancel();
  assert.equal(job.state, 'cancelled');
  assert.deepEqual(s.cache.pinJobs(), []);
  assert.equal(s.cache.findSlide(handle.uri, handle.descriptor.identity.etag)?.pinned, false);
  s.cache.setBudget(0);
  assert.equal(s.cache.stats().entries, 0, 'unpinned tiles are evictable again');
  assert.equal(s.pins.get(FILE), undefined);
});
