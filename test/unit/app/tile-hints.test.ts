/**
 * Tile hints (main/app/tile-hints.ts) over the real TileService, scheduler and SQLite
 * cache, reading a real file through a counting reader: a hinted view is read at once in
 * merged requests and the viewer's own tile requests then cost nothing; a new hint
 * cancels what is no longer wanted before it reaches storage; cached tiles start nothing;
 * closing the slide drops its hints.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AddressCheck } from '../../../main/app/address-check.js';
import { OpenSlides } from '../../../main/app/slides.js';
import { TileCache } from '../../../main/cache/tile-cache.js';
import { FileRangeReader } from '../../../main/sources/file.js';
import type { ObjectIdentity } from '../../../main/sources/types.js';
import { TileService } from '../../../main/tiles/service.js';
import { WorkerPool } from '../../../main/tiles/workers.js';
import { CountingReader } from '../tiles/fixtures/counting-reader.js';
import { GridReader } from '../tiles/fixtures/grid-reader.js';
import { testdata } from '../../support/paths.js';

const FILE = testdata('derived/generic-tiff/CMU-1-Small-Region.pyramid-jpeg.tif');
const URI = 's3://bucket/slide.tif';

function setup(t: { after: (fn: () => unknown) => void }) {
  const dir = mkdtempSync(join(tmpdir(), 'wsi-hints-'));
  const cache = TileCache.open(join(dir, 'cache.db'));
  const workers = new WorkerPool({ size: 1 });
  const readers: CountingReader[] = [];
  const tiles = new TileService({
    cache,
    workers,
    resolve: async () => {
      const inner = new FileRangeReader(FILE);
      const stat = async (): Promise<ObjectIdentity> => ({ ...(await inner.stat()), uri: URI, etag: 'v1' });
      const reader = new CountingReader({ uri: URI, stat, read: (r, s) => inner.read(r, s), close: () => inner.close() });
      readers.push(reader);
      return reader;
    },
    openSlide: async (reader) => new GridReader(reader, (await reader.stat()).etag),
  });
  const slides = new OpenSlides(tiles, new AddressCheck({ buckets: () => ['bucket'], archives: () => [] }));
  t.after(async () => {
    await slides.closeAll();
    await tiles.close();
    cache.close();
    await workers.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const reads = (): number => readers.reduce((n, r) => n + r.calls.length, 0);
  return { tiles, slides, readers, reads };
}

const row = (r: number): [number, number, number][] => [0, 1, 2].map((c) => [0, c, r]);
const hints = (list: [number, number, number][]) => list.map(([level, col, row]) => ({ level, col, row }));
const until = async (ok: () => boolean): Promise<void> => {
  for (let i = 0; i < 500 && !ok(); i++) await new Promise((r) => setTimeout(r, 5));
  assert.ok(ok(), 'condition reached');
};

test('a hinted view is read at once in merged requests; the viewer then reads nothing more', async (t) => {
  const s = setup(t);
  const opened = await s.slides.open(URI);
  const handle = s.slides.get(opened.id)!;
  const before = s.reads();
  const view = [...row(0), ...row(1)];
  assert.equal(s.slides.want(opened.id, hints(view)), 6);
  await until(() => view.every(([l, c, r]) => s.tiles.isCached(handle, l, c, r)));
  const hintReads = s.reads() - before;
  assert.ok(hintReads <= 2, `6 neighbouring tiles in ${hintReads} reads`);
  for (const [l, c, r] of view) assert.ok(await s.tiles.getTile(handle, l, c, r));
  assert.equal(s.reads() - before, hintReads, "the viewer's own requests are answered from the cache");
  assert.equal(s.slides.want(opened.id, hints(view)), 0, 'cached tiles start nothing');
});

test('a new hint cancels the tiles no longer wanted before they reach storage', async (t) => {
  const s = setup(t);
  const opened = await s.slides.open(URI);
  const handle = s.slides.get(opened.id)!;
  const reader = s.readers.at(-1)!;
  reader.close_gate();
  s.slides.want(opened.id, hints(row(0)));
  await until(() => reader.held > 0);
  // The user moved on: row 3 instead of row 0.
  assert.equal(s.slides.want(opened.id, hints(row(3))), 3);
  await until(() => reader.aborted > 0);
  reader.open();
  await until(() => row(3).every(([l, c, r]) => s.tiles.isCached(handle, l, c, r)));
  assert.ok(row(0).every(([l, c, r]) => !s.tiles.isCached(handle, l, c, r)), 'row 0 was dropped, not cached');
});

test('closing the slide drops its hints; a hint for a closed slide is ignored', async (t) => {
  const s = setup(t);
  const opened = await s.slides.open(URI);
  const reader = s.readers.at(-1)!;
  reader.close_gate();
  s.slides.want(opened.id, hints(row(2)));
  await until(() => reader.held > 0);
  await s.slides.close(opened.id);
  await until(() => reader.aborted > 0);
  reader.open();
  assert.equal(s.slides.want(opened.id, hints(row(1))), 0);
});
