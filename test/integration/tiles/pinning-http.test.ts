/**
 * Pinning over a real HTTP range server that drops connections: the job reports the
 * error, resumes, completes, and no tile cached before the cut is fetched again.
 * Uses the real slide parser (main/formats/open.ts) on a real pyramidal TIFF.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TileCache } from '../../../main/cache/tile-cache.js';
import { openSlide } from '../../../main/formats/open.js';
import { FileRangeReader } from '../../../main/sources/file.js';
import { PinManager, pinTiles, type PinProgress } from '../../../main/tiles/pinning.js';
import { TileService } from '../../../main/tiles/service.js';
import { HttpRangeReader } from '../../../main/sources/http.js';
import { RangeServer } from './fixtures/http-range.js';
import { testdata } from '../../support/paths.js';

const FILE = testdata('derived/generic-tiff/CMU-1-Small-Region.pyramid-jpeg.tif');

test('a network cut during pinning is reported; resume completes without refetching cached tiles', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'wsi-pin-http-'));
  const server = new RangeServer(FILE);
  await server.start();
  const cache = TileCache.open(join(dir, 'cache.db'));
  // Small merged reads so the pin takes many requests and the cut lands mid-way.
  const { RangeScheduler } = await import('../../../main/tiles/scheduler.js');
  const service = new TileService({ cache, // The real HTTP reader, with short retries so the cut surfaces quickly.
    resolve: async (uri) => new HttpRangeReader(uri, { retry: { maxAttempts: 2, baseDelayMs: 1, maxDelayMs: 5 } }), scheduler: new RangeScheduler({ maxMergedBytes: 64 * 1024, maxParallelPerHost: 2 }) });
  const pins = new PinManager(service, { concurrency: 4 });
  t.after(async () => {
    await pins.close();
    await service.close();
    cache.close();
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  // Ground truth for tile byte ranges: the same parser over the same bytes, read locally.
  const local = await openSlide(new FileRangeReader(FILE));
  t.after(() => local.close());
  const keys = pinTiles(local.descriptor, {});
  const rangeOf = new Map<string, { offset: number; length: number }>();
  for (const k of keys) {
    const loc = await local.locateTile(k.level, k.col, k.row, k.plane);
    if (loc) rangeOf.set(`${k.level}/${k.col}/${k.row}`, loc.ranges[0]!);
  }

  server.phase = 'first';
  const progress: PinProgress[] = [];
  const job = pins.pin(server.url, {});
  let cut = false;
  job.on('progress', (p: PinProgress) => {
    progress.push(p);
    // Cut the network once a few tiles are in: decided by progress, not by time.
    if (p.done >= 8 && !cut) {
      cut = true;
      server.dropAfter = server.requests;
    }
  });
  const error = await new Promise<Error>((resolve) => job.once('error', resolve));
  await job.settled();
  assert.equal(job.state, 'error');
  assert.match((error as { code?: string }).code ?? '', /SOURCE_UNREACHABLE/);
  assert.equal(job.progress().error?.code, (error as { code?: string }).code);
  assert.ok(server.dropped > 0);

  // What was cached at the cut must not be fetched again.
  const handle = await service.open(server.url).catch(() => undefined); // offline now: comes from the cache
  assert.ok(handle?.offline, 'with the network down the slide opens from the cache');
  const cachedAtCut = keys.filter((k) => service.isCached(handle!, k.level, k.col, k.row, k.plane));
  assert.ok(cachedAtCut.length >= 8 && cachedAtCut.length < keys.length, `${cachedAtCut.length} of ${keys.length} cached at the cut`);

  server.dropAfter = undefined;
  server.phase = 'resumed';
  const done = new Promise<void>((resolve) => job.once('done', () => resolve()));
  job.resume();
  await done;
  const final = job.progress();
  assert.equal(final.state, 'done');
  assert.equal(final.done, keys.length);
  assert.equal(final.total, keys.length);
  assert.ok(progress.length > 0 && progress.every((p) => p.done <= p.total));

  const afterResume = server.served.filter((s) => s.phase === 'resumed');
  // (A stat may be a tiny GET at offset 0; the parser's header read is 256 KiB.)
  assert.ok(!afterResume.some((s) => s.offset === 0 && s.length > 1024), 'the resumed job reused the parsed slide (no second header read)');
  for (const k of cachedAtCut) {
    const r = rangeOf.get(`${k.level}/${k.col}/${k.row}`);
    if (!r) continue;
    const refetched = afterResume.some((s) => s.offset <= r.offset && s.offset + s.length >= r.offset + r.length);
    assert.ok(!refetched, `tile ${k.level}/${k.col}/${k.row} was cached before the cut and fetched again`);
  }
  // Every tile is now readable offline.
  const reopened = await service.open(server.url);
  for (const k of keys) assert.ok(service.isCached(reopened, k.level, k.col, k.row, k.plane), `tile ${JSON.stringify(k)} cached`);
  const tileBytes = [...rangeOf.values()].reduce((n, r) => n + r.length, 0);
  const fetched = server.served.filter((s) => s.length < 200_000).reduce((n, s) => n + s.length, 0);
  t.diagnostic(`tiles ${keys.length}, tile bytes ${tileBytes}, bytes served ${server.bytesServed} in ${server.served.length} responses, dropped ${server.dropped}`);
  assert.ok(fetched < tileBytes * 1.5, 'no wholesale refetch');
});
