import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { threadId } from 'node:worker_threads';
import { sourceErrors } from '../../../main/sources/errors.js';
import { TileCache } from '../../../main/cache/tile-cache.js';
import { FileRangeReader } from '../../../main/sources/file.js';
import type { ObjectIdentity } from '../../../main/sources/types.js';
import { TileService } from '../../../main/tiles/service.js';
import { WorkerPool } from '../../../main/tiles/workers.js';
import { RAW_ASSEMBLER } from '../../../main/formats/codecs/assemble-raw.js';
import { deflateSync } from 'node:zlib';
import { writeFileSync } from 'node:fs';
import { CountingReader } from './fixtures/counting-reader.js';
import { GridReader, tileRange } from './fixtures/grid-reader.js';
import { testdata } from '../../support/paths.js';

const FILE = testdata('derived/generic-tiff/CMU-1-Small-Region.pyramid-jpeg.tif');
const URI = 's3://bucket/slide.tif';
const whole = readFileSync(FILE);
const expectTile = (level: number, col: number, row: number) => {
  const r = tileRange(level, col, row);
  return new Uint8Array(whole.subarray(r.offset, r.offset + r.length));
};

/** A world where the object's etag and reachability can be changed between opens. */
function world(t: { after: (fn: () => unknown) => void }) {
  const dir = mkdtempSync(join(tmpdir(), 'wsi-svc-'));
  const workers = new WorkerPool({ size: 1 });
  t.after(async () => {
    await workers.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const w = {
    etag: 'v1',
    online: true,
    opens: 0,
    readers: [] as CountingReader[],
    worker: undefined as { module: string; export: string } | undefined,
    cachePath: join(dir, 'cache.db'),
    workers,
    service(cache: TileCache): TileService {
      return new TileService({
        cache,
        workers,
        resolve: async () => {
          if (!w.online) throw sourceErrors.make('SOURCE_UNREACHABLE', 'Storage cannot be reached.');
          const inner = new FileRangeReader(FILE);
          const etag = w.etag;
          const stat = async (): Promise<ObjectIdentity> => ({ ...(await inner.stat()), uri: URI, etag });
          const reader = new CountingReader({ uri: URI, stat, read: (r, s) => inner.read(r, s), close: () => inner.close() });
          w.readers.push(reader);
          return reader;
        },
        openSlide: async (reader) => {
          w.opens += 1;
          const id = await reader.stat();
          return new GridReader(reader, id.etag, w.worker);
        },
      });
    },
  };
  return w;
}

const reads = (w: { readers: CountingReader[] }) => w.readers.reduce((n, r) => n + r.calls.length, 0);

test('a miss reads, assembles and caches; the same tile again is a hit with no read', async (t) => {
  const w = world(t);
  const cache = TileCache.open(w.cachePath);
  const svc = w.service(cache);
  t.after(() => svc.close().then(() => cache.close()));
  const slide = await svc.open(URI);
  assert.equal(slide.openedFrom, 'storage');
  const tile = await svc.getTile(slide, 0, 1, 2);
  assert.deepEqual(new Uint8Array(tile!.bytes), expectTile(0, 1, 2));
  assert.equal(reads(w), 1);
  const again = await svc.getTile(slide, 0, 1, 2);
  assert.deepEqual(new Uint8Array(again!.bytes), expectTile(0, 1, 2));
  assert.equal(reads(w), 1);
  assert.equal(await svc.getTile(slide, 0, 3, 3), null, 'an empty tile is null');
  assert.equal(await svc.getTile(slide, 0, 3, 3), null);
  const s = svc.stats();
  assert.equal(s.tilesFromStorage, 1);
  assert.equal(s.tilesFromCache, 2);
  assert.equal(s.cache.hits, 2);
  assert.equal(s.cache.bytesFetched, 6000);
  assert.equal(s.cache.bytesServed, 6000);
  await assert.rejects(svc.getTile(slide, 0, 4, 0), { code: 'TILE_OUT_OF_RANGE' });
  await assert.rejects(svc.getTile(slide, 2, 0, 0), { code: 'TILE_OUT_OF_RANGE' });
});

test('a viewport of tiles requested together is coalesced into few reads', async (t) => {
  const w = world(t);
  const cache = TileCache.open(w.cachePath);
  const svc = w.service(cache);
  t.after(() => svc.close().then(() => cache.close()));
  const slide = await svc.open(URI);
  const tiles = await Promise.all([0, 1, 2, 3].flatMap((row) => [0, 1, 2, 3].map((col) => svc.getTile(slide, 0, col, row))));
  assert.equal(tiles.filter(Boolean).length, 15);
  assert.equal(reads(w), 1, '15 tiles 2 KB apart: one read');
  assert.equal(svc.stats().scheduler.rangesCoalesced, 14);
});

test('a second open of an unchanged slide uses the cached descriptor and tiles: no parse, no reads', async (t) => {
  const w = world(t);
  let cache = TileCache.open(w.cachePath);
  let svc = w.service(cache);
  const first = await svc.open(URI);
  await svc.getTile(first, 1, 0, 0);
  await svc.close();
  cache.close();
  assert.equal(w.opens, 1);
  const readsBefore = reads(w);

  cache = TileCache.open(w.cachePath);
  svc = w.service(cache);
  t.after(() => svc.close().then(() => cache.close()));
  const second = await svc.open(URI);
  assert.equal(second.openedFrom, 'cache');
  assert.deepEqual(second.descriptor.levels, first.descriptor.levels);
  assert.deepEqual(new Uint8Array((await svc.getTile(second, 1, 0, 0))!.bytes), expectTile(1, 0, 0));
  assert.equal(w.opens, 1, 'the slide was not parsed again');
  assert.equal(reads(w), readsBefore, 'no byte range was read');
  // A miss builds the slide reader lazily, then reads.
  await svc.getTile(second, 1, 1, 0);
  assert.equal(w.opens, 2);
  assert.equal(reads(w), readsBefore + 1);
});

test('offline: a network error opens the slide from the cache; uncached tiles say TILE_OFFLINE', async (t) => {
  const w = world(t);
  const cache = TileCache.open(w.cachePath);
  const svc = w.service(cache);
  t.after(() => svc.close().then(() => cache.close()));
  const online = await svc.open(URI);
  await svc.getTile(online, 0, 0, 0);
  await svc.closeSlide(online);
  w.online = false;
  const offline = await svc.open(URI);
  assert.equal(offline.offline, true);
  assert.deepEqual(new Uint8Array((await svc.getTile(offline, 0, 0, 0))!.bytes), expectTile(0, 0, 0));
  await assert.rejects(svc.getTile(offline, 0, 1, 0), { code: 'TILE_OFFLINE' });
  await assert.rejects(svc.open('s3://bucket/never-seen.tif'), { code: 'SOURCE_UNREACHABLE' });
});

test('an object replaced in storage (new etag) is not served from the stale cache', async (t) => {
  const w = world(t);
  const cache = TileCache.open(w.cachePath);
  const svc = w.service(cache);
  t.after(() => svc.close().then(() => cache.close()));
  const v1 = await svc.open(URI);
  await svc.getTile(v1, 0, 0, 0);
  await svc.closeSlide(v1);
  w.etag = 'v2';
  const v2 = await svc.open(URI);
  assert.equal(v2.openedFrom, 'storage');
  assert.notEqual(v2.cacheId, v1.cacheId);
  const before = reads(w);
  await svc.getTile(v2, 0, 0, 0);
  assert.equal(reads(w), before + 1, 'fetched again, not served from the old version');
  assert.equal(cache.findSlide(URI, 'v1'), undefined);
});

test('cancelling a tile request rejects with ABORTED and never reads', async (t) => {
  const w = world(t);
  const cache = TileCache.open(w.cachePath);
  const svc = w.service(cache);
  t.after(() => svc.close().then(() => cache.close()));
  const slide = await svc.open(URI);
  const ac = new AbortController();
  const p = svc.getTile(slide, 0, 2, 2, 0, { signal: ac.signal });
  ac.abort();
  await assert.rejects(p, { code: 'ABORTED' });
  await new Promise((r) => setImmediate(r));
  assert.equal(reads(w), 0);
});

test('a tile whose location names a worker assembler is assembled off the main thread', async (t) => {
  const w = world(t);
  w.worker = { module: new URL('./fixtures/assemble-in-worker.ts', import.meta.url).href, export: 'assemble' };
  const cache = TileCache.open(w.cachePath);
  const svc = w.service(cache);
  t.after(() => svc.close().then(() => cache.close()));
  const slide = await svc.open(URI);
  const tile = (await svc.getTile(slide, 0, 2, 1)) as unknown as { thread: number; bytes: Uint8Array; encoding: { kind: string } };
  assert.notEqual(tile.thread, threadId);
  assert.equal(tile.encoding.kind, 'raw');
  assert.deepEqual(new Uint8Array(tile.bytes), expectTile(0, 2, 1));
  assert.equal(svc.stats().workers.completed, 1);
});

test('with the cache turned off (full disk), tiles still load from storage', async (t) => {
  const w = world(t);
  // A small hard cap and a pinned slide: once full, eviction cannot help and the cache steps aside.
  const cache = TileCache.open(w.cachePath, { maxDbBytes: 64 * 1024, flushTiles: 2 });
  const svc = w.service(cache);
  t.after(() => svc.close().then(() => cache.close()));
  const slide = await svc.open(URI);
  cache.setPinned(slide.cacheId!, {});
  for (let col = 0; col < 4; col++) {
    const tile = await svc.getTile(slide, 0, col, 0);
    assert.deepEqual(new Uint8Array(tile!.bytes), expectTile(0, col, 0));
  }
  cache.flush();
  for (let row = 1; row < 4; row++) for (let col = 0; col < 3; col++) await svc.getTile(slide, 0, col, row);
  const s = svc.stats();
  assert.equal(s.cache.state, 'disabled');
  assert.equal(s.cache.error?.code, 'CACHE_DISK_FULL');
  assert.deepEqual(new Uint8Array((await svc.getTile(slide, 1, 1, 1))!.bytes), expectTile(1, 1, 1));
});

test('a Deflate-compressed 16-bit tile opted into RAW_ASSEMBLER is decoded in the worker pool', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'wsi-raw-'));
  const workers = new WorkerPool({ size: 1 });
  const cache = TileCache.open(join(dir, 'cache.db'));
  // 16×16 uint16 ramp, little-endian, Deflate-compressed, after 100 bytes of padding.
  const samples = new Uint16Array(256).map((_, i) => i * 257);
  const packed = deflateSync(new Uint8Array(samples.buffer));
  const file = join(dir, 'tile.bin');
  writeFileSync(file, Buffer.concat([Buffer.alloc(100), packed]));
  const encoding = { kind: 'raw', bitsPerSample: 16, samplesPerPixel: 1, sampleFormat: 'uint' } as const;
  const service = new TileService({
    cache,
    workers,
    resolve: async () => new FileRangeReader(file),
    openSlide: async (reader) => {
      const grid = new GridReader(reader, (await reader.stat()).etag);
      grid.locateTile = async (level, col, row, plane) => ({
        level, col, row, plane,
        ranges: [{ offset: 100, length: packed.length }],
        meta: { worker: RAW_ASSEMBLER, raw: { compression: 8, predictor: 1, width: 16, height: 16, samplesPerPixel: 1, bitsPerSample: 16, littleEndian: true }, encoding },
      });
      grid.assembleTile = () => Promise.reject(new Error('must not assemble on the main thread'));
      return grid;
    },
  });
  t.after(async () => {
    await service.close();
    cache.close();
    await workers.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const slide = await service.open('file:///raw-test');
  const tile = await service.getTile(slide, 0, 0, 0);
  assert.ok(tile);
  assert.deepEqual(tile.encoding, encoding);
  assert.equal(tile.width, 16);
  assert.deepEqual(new Uint16Array(new Uint8Array(tile.bytes).buffer), samples);
  assert.equal(service.stats().workers.completed, 1);
  // Cached as decoded samples: the next read is a hit with no worker involved.
  await service.getTile(slide, 0, 0, 0);
  assert.equal(service.stats().workers.completed, 1);
});

test('handles on the same slide version share one parse, also after they close', async (t) => {
  const w = world(t);
  const cache = TileCache.open(w.cachePath);
  const svc = w.service(cache);
  t.after(() => svc.close().then(() => cache.close()));
  const a = await svc.open(URI);
  const b = await svc.open(URI);
  assert.equal(w.opens, 1);
  await svc.closeSlide(a);
  await assert.rejects(svc.getTile(a, 0, 0, 0), { code: 'TILE_SLIDE_CLOSED' });
  assert.ok(await svc.getTile(b, 0, 0, 1), 'the other handle keeps working');
  await svc.closeSlide(b);
  const c = await svc.open(URI);
  assert.ok(await svc.getTile(c, 0, 1, 1));
  assert.equal(w.opens, 1, 'reopened without parsing again');
});
