import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync, statSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { TileCache } from '../../../main/cache/tile-cache.js';
import { makeTile, tileBytes } from './fixtures/tiles.js';

function tempDir(t: { after: (fn: () => void) => void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'wsi-cache-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

const k = (col: number, row = 0, level = 0, plane = 0) => ({ level, col, row, plane });

test('tiles round-trip, known-empty tiles are remembered, stats count hits, misses and bytes', (t) => {
  const path = join(tempDir(t), 'cache.db');
  let cache = TileCache.open(path);
  const { slide } = cache.putSlide('s3://b/a.svs', 'etag1', undefined);
  assert.ok(slide);
  assert.equal(cache.getTile(slide.id, k(0)), undefined);
  cache.putTile(slide.id, k(0), makeTile(k(0)));
  cache.putTile(slide.id, k(1), null);
  // served from the write queue before the flush
  assert.deepEqual(cache.getTile(slide.id, k(0))?.bytes, tileBytes(k(0)));
  cache.close();

  cache = TileCache.open(path);
  const again = cache.findSlide('s3://b/a.svs', 'etag1');
  assert.equal(again?.id, slide.id);
  const tile = cache.getTile(slide.id, k(0));
  assert.ok(tile);
  assert.deepEqual(new Uint8Array(tile.bytes), tileBytes(k(0)));
  assert.deepEqual(tile.encoding, { kind: 'jpeg' });
  assert.equal(tile.mime, 'image/jpeg');
  assert.equal(cache.getTile(slide.id, k(1)), null);
  assert.equal(cache.getTile(slide.id, k(2)), undefined);
  cache.recordFetched(123);
  const s = cache.stats();
  assert.equal(s.hits, 2);
  assert.equal(s.misses, 1);
  assert.equal(s.bytesServed, tileBytes(k(0)).length);
  assert.equal(s.bytesFetched, 123);
  assert.equal(s.entries, 2);
  assert.equal(s.sizeBytes, tileBytes(k(0)).length);
  assert.equal(s.state, 'ok');
  cache.close();
});

test('LRU eviction keeps the budget, evicts the least recently used, never a pinned slide', (t) => {
  const path = join(tempDir(t), 'cache.db');
  const fixed = (key: ReturnType<typeof k>) => ({ ...makeTile(key), bytes: new Uint8Array(10_000).fill(key.col) });
  const cache = TileCache.open(path, { budgetBytes: 100_000, flushTiles: 100 });
  const pinned = cache.putSlide('s3://b/pinned.svs', 'e', undefined).slide!;
  const loose = cache.putSlide('s3://b/loose.svs', 'e', undefined).slide!;
  cache.setPinned(pinned.id, { minDownsample: 1 });
  for (let i = 0; i < 5; i++) cache.putTile(pinned.id, k(i), fixed(k(i)));
  for (let i = 0; i < 5; i++) cache.putTile(loose.id, k(i), fixed(k(i)));
  cache.flush();
  assert.equal(cache.stats().evictedTiles, 0, 'exactly at budget');
  assert.ok(cache.getTile(loose.id, k(0))); // now the most recently used loose tile
  cache.putTile(loose.id, k(5), fixed(k(5)));
  cache.flush();
  // 110,000 > 100,000: evict down to 90% of the budget = the two least recently used loose tiles
  const s = cache.stats();
  assert.equal(s.evictedTiles, 2);
  assert.equal(s.sizeBytes, 90_000);
  for (let i = 0; i < 5; i++) assert.ok(cache.hasTile(pinned.id, k(i)), `pinned tile ${i} kept`);
  assert.deepEqual([0, 1, 2, 3, 4, 5].map((i) => cache.hasTile(loose.id, k(i))), [true, false, false, true, true, true]);
  cache.close();
});

test('a new etag for the same uri drops the old version and its tiles; a pin carries over', (t) => {
  const path = join(tempDir(t), 'cache.db');
  const cache = TileCache.open(path);
  const v1 = cache.putSlide('s3://b/a.svs', 'v1', { format: 'x' } as never).slide!;
  cache.setPinned(v1.id, { minDownsample: 4 });
  cache.putTile(v1.id, k(0), makeTile(k(0)));
  cache.putTile(v1.id, k(1), makeTile(k(1)));
  cache.flush();
  assert.equal(cache.stats().entries, 2);
  const { slide: v2, invalidated } = cache.putSlide('s3://b/a.svs', 'v2', { format: 'y' } as never);
  assert.equal(invalidated, 1);
  assert.ok(v2 && v2.id !== v1.id);
  assert.equal(cache.findSlide('s3://b/a.svs', 'v1'), undefined);
  assert.equal(cache.getTile(v1.id, k(0)), undefined);
  assert.equal(cache.stats().entries, 0);
  assert.equal(cache.stats().sizeBytes, 0);
  assert.equal(v2.pinned, true);
  assert.deepEqual(v2.pinSpec, { minDownsample: 4 });
  assert.deepEqual(cache.latestSlide('s3://b/a.svs')?.descriptor, { format: 'y' });
  cache.close();
});

test('a row whose bytes do not match its checksum is deleted and counted, never served', (t) => {
  const path = join(tempDir(t), 'cache.db');
  let cache = TileCache.open(path);
  const slide = cache.putSlide('file:///a.tif', 'e', undefined).slide!;
  cache.putTile(slide.id, k(0), makeTile(k(0)));
  cache.putTile(slide.id, k(1), makeTile(k(1)));
  cache.close();
  const raw = new Database(path);
  const row = raw.prepare('SELECT id, size FROM tiles WHERE col = 0').get() as { id: number; size: number };
  raw.prepare('UPDATE tiles SET blob = ? WHERE id = ?').run(Buffer.alloc(row.size, 7), row.id); // same length, other bytes
  raw.prepare('UPDATE tiles SET blob = ? WHERE col = 1').run(Buffer.alloc(10, 1)); // truncated
  raw.close();
  cache = TileCache.open(path);
  assert.equal(cache.getTile(slide.id, k(0)), undefined);
  assert.equal(cache.getTile(slide.id, k(1)), undefined);
  const s = cache.stats();
  assert.equal(s.corruptDropped, 2);
  assert.equal(s.entries, 0);
  assert.equal(cache.hasTile(slide.id, k(0)), false);
  cache.close();
});

test('a corrupt cache file is moved aside and replaced by a working empty cache', (t) => {
  const dir = tempDir(t);
  const path = join(dir, 'cache.db');
  writeFileSync(path, Buffer.alloc(64 * 1024, 0x5a));
  const cache = TileCache.open(path);
  assert.equal(cache.usable, true);
  assert.equal(cache.stats().recoveredFiles, 1);
  assert.ok(readdirSync(dir).some((f) => f.startsWith('cache.db.corrupt-')));
  const slide = cache.putSlide('file:///a.tif', 'e', undefined).slide!;
  cache.putTile(slide.id, k(0), makeTile(k(0)));
  cache.flush();
  assert.ok(cache.getTile(slide.id, k(0)));
  cache.close();
  const check = new Database(path, { readonly: true });
  assert.equal(check.pragma('integrity_check', { simple: true }), 'ok');
  check.close();
});

test('full disk: evicts and retries, then turns the cache off with CACHE_DISK_FULL instead of failing', (t) => {
  const path = join(tempDir(t), 'cache.db');
  // max_page_count makes SQLite answer SQLITE_FULL exactly as on a full disk.
  const cache = TileCache.open(path, { maxDbBytes: 1024 * 1024, budgetBytes: 1024 ** 3, flushTiles: 8 });
  const loose = cache.putSlide('s3://b/loose.svs', 'e', undefined).slide!;
  for (let i = 0; i < 200; i++) cache.putTile(loose.id, k(i), makeTile(k(i), 20_000));
  cache.flush();
  let s = cache.stats();
  assert.equal(s.state, 'ok', 'unpinned tiles make room');
  assert.ok(s.evictedTiles > 0);
  assert.ok(cache.hasTile(loose.id, k(199)));

  const pinned = cache.putSlide('s3://b/pinned.svs', 'e', undefined).slide!;
  cache.setPinned(pinned.id, {});
  cache.setPinned(loose.id, {});
  for (let i = 0; i < 200; i++) cache.putTile(pinned.id, k(i), makeTile(k(i), 20_000));
  cache.flush();
  s = cache.stats();
  assert.equal(s.state, 'disabled');
  assert.equal(s.error?.code, 'CACHE_DISK_FULL');
  assert.equal(cache.getTile(loose.id, k(199)), undefined);
  cache.putTile(pinned.id, k(500), makeTile(k(500))); // dropped, no throw
  cache.close();
});

test('pin jobs persist across a restart', (t) => {
  const path = join(tempDir(t), 'cache.db');
  let cache = TileCache.open(path);
  const slide = cache.putSlide('s3://b/a.svs', 'e', undefined).slide!;
  cache.putPinJob({ slideId: slide.id, uri: 's3://b/a.svs', spec: { minDownsample: 2 }, state: 'running', done: 3, total: 10, bytes: 999, error: undefined });
  cache.close();
  cache = TileCache.open(path);
  assert.deepEqual(cache.pinJobs(), [{ slideId: slide.id, uri: 's3://b/a.svs', spec: { minDownsample: 2 }, state: 'running', done: 3, total: 10, bytes: 999, error: undefined }]);
  cache.deletePinJob(slide.id);
  assert.deepEqual(cache.pinJobs(), []);
  cache.close();
});

test('batched writes keep the WAL bounded and close truncates it', (t) => {
  const path = join(tempDir(t), 'cache.db');
  const cache = TileCache.open(path, { flushTiles: 32 });
  const slide = cache.putSlide('s3://b/a.svs', 'e', undefined).slide!;
  let written = 0;
  let maxWal = 0;
  for (let i = 0; i < 3000; i++) {
    const tile = makeTile(k(i % 100, Math.floor(i / 100)), 12_000);
    written += tile.bytes.length;
    cache.putTile(slide.id, k(i % 100, Math.floor(i / 100)), tile);
    if (i % 200 === 0 && existsSync(`${path}-wal`)) maxWal = Math.max(maxWal, statSync(`${path}-wal`).size);
  }
  cache.close();
  assert.ok(maxWal < written / 2, `WAL peaked at ${maxWal} bytes for ${written} bytes written`);
  assert.equal(existsSync(`${path}-wal`) ? statSync(`${path}-wal`).size : 0, 0);
});
