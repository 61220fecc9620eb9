/**
 * Decompression bounds (issue 9 §3): tiny hostile TIFFs that declare huge tiles or strips,
 * or a tile that would expand past the ratio, are refused with FORMAT_TILE_TOO_LARGE
 * through the real open path (openSlide, and TileService + the tile route) without main
 * allocating what they declare. Memory is the bound checked: process RSS growth stays
 * under 200 MB while the file declares tens of gigabytes.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { createTileRoute } from '../../../main/api/tile-route.js';
import { TileCache } from '../../../main/cache/tile-cache.js';
import { isAppError } from '../../../main/common/errors.js';
import { openSlide } from '../../../main/formats/open.js';
import { MAX_TILE_PIXELS } from '../../../main/formats/bounds.js';
import { TileService } from '../../../main/tiles/service.js';
import { MemoryReader, TiffBuilder, type BEntry } from './tiff-builder.js';

const RSS_BOUND = 200 << 20;

/** 8-bit RGB image entries; `piece` is its only stored tile/strip (a few bytes). */
function imageEntries(o: { width: number; height: number; tile?: number; rowsPerStrip?: number; compression?: number; at: number; length: number; description?: string }): BEntry[] {
  return [
    ...(o.description === undefined ? [] : [{ tag: 270, type: 2, values: o.description }]),
    { tag: 256, type: 4, values: [o.width] },
    { tag: 257, type: 4, values: [o.height] },
    { tag: 258, type: 3, values: [8, 8, 8] },
    { tag: 259, type: 3, values: [o.compression ?? 1] },
    { tag: 262, type: 3, values: [2] },
    { tag: 277, type: 3, values: [3] },
    ...(o.tile !== undefined
      ? [
          { tag: 322, type: 4, values: [o.tile] },
          { tag: 323, type: 4, values: [o.tile] },
          { tag: 324, type: 4, values: [o.at] },
          { tag: 325, type: 4, values: [o.length] },
        ]
      : [
          { tag: 273, type: 4, values: [o.at] },
          { tag: 278, type: 4, values: [o.rowsPerStrip!] },
          { tag: 279, type: 4, values: [o.length] },
        ]),
  ].sort((a, b) => a.tag - b.tag);
}

/** A one-image tiled TIFF whose only tile is `piece`. */
function hostileTiff(o: { width: number; height: number; tile: number; compression?: number; piece: Uint8Array }): Uint8Array {
  const b = new TiffBuilder();
  const at = b.addData(o.piece);
  return b.build([{ entries: imageEntries({ ...o, at, length: o.piece.length }) }]);
}

/** An Aperio SVS with a sane 16×16 level and a label stored as one 100000×100000 strip. */
function hostileSvs(): Uint8Array {
  const b = new TiffBuilder();
  const at = b.addData(new Uint8Array(16 * 16 * 3));
  const strip = b.addData(new Uint8Array(16));
  return b.build([
    { entries: imageEntries({ width: 16, height: 16, tile: 16, at, length: 16 * 16 * 3, description: 'Aperio Image Library v12\n16x16 |AppMag = 20' }) },
    { entries: imageEntries({ width: 100_000, height: 100_000, rowsPerStrip: 100_000, at: strip, length: 16, description: 'Aperio Image Library v12\nlabel 100000x100000' }) },
  ]);
}

function tooLarge(err: unknown): boolean {
  assert.ok(isAppError(err), `AppError, got ${String(err)}`);
  assert.equal(err.code, 'FORMAT_TILE_TOO_LARGE', err.message);
  assert.equal(err.kind, 'invalid-input');
  assert.match(err.message, /8192×8192/);
  return true;
}

/** Runs `f` and returns how much the resident set grew meanwhile. */
async function rssGrowth(f: () => Promise<void>): Promise<number> {
  const before = process.memoryUsage().rss;
  await f();
  return process.memoryUsage().rss - before;
}

describe('decompression bounds', () => {
  it('a 100000×100000 tile declared in a few hundred bytes is refused at open', async (t) => {
    const file = hostileTiff({ width: 100_000, height: 100_000, tile: 100_000, piece: new Uint8Array(16) });
    assert.ok(file.length < 1024, `the file is ${file.length} bytes`);
    const grew = await rssGrowth(() => assert.rejects(openSlide(new MemoryReader(file)), tooLarge));
    t.diagnostic(`RSS growth ${(grew / 2 ** 20).toFixed(1)} MiB`);
    assert.ok(grew < RSS_BOUND, `RSS grew ${grew} bytes`);
  });

  it('an SVS whose label is one strip of 100000×100000 pixels is refused at open', async (t) => {
    const file = hostileSvs();
    assert.ok(file.length < 2048, `the file is ${file.length} bytes`);
    const grew = await rssGrowth(() => assert.rejects(openSlide(new MemoryReader(file)), tooLarge));
    t.diagnostic(`RSS growth ${(grew / 2 ** 20).toFixed(1)} MiB`);
    assert.ok(grew < RSS_BOUND, `RSS grew ${grew} bytes`);
  });

  it('a tile at the pixel limit opens, but a 20-byte Deflate piece that would expand to 48 MB is refused before decoding, through the tile route', async (t) => {
    // 4096² RGB is inside the 8192² cap; 48 MiB from 20 stored bytes is past any codec's ratio.
    assert.ok(4096 * 4096 <= MAX_TILE_PIXELS);
    const file = hostileTiff({ width: 4096, height: 4096, tile: 4096, compression: 8, piece: new Uint8Array(20).fill(0x78) });
    const dir = mkdtempSync(join(tmpdir(), 'wsi-bounds-'));
    const cache = TileCache.open(join(dir, 'tiles.db'));
    const tiles = new TileService({ cache, resolve: async () => new MemoryReader(file) });
    try {
      const handle = await tiles.open('memory:///hostile.tif');
      assert.deepEqual([handle.descriptor.levels[0]!.tileWidth, handle.descriptor.levels[0]!.tileHeight], [4096, 4096]);
      const id = 'c'.repeat(32);
      const route = createTileRoute({ tiles, slide: (s) => (s === id ? handle : undefined) });
      let r: Response | undefined;
      const grew = await rssGrowth(async () => {
        r = await route(new Request(`http://127.0.0.1:1/tiles/${id}/0/0/0`));
      });
      assert.equal(r!.status, 422, await r!.clone().text());
      assert.equal(r!.headers.get('x-error-code'), 'FORMAT_TILE_TOO_LARGE');
      assert.equal(r!.headers.get('x-error-kind'), 'invalid-input');
      assert.match(await r!.text(), /expand/);
      t.diagnostic(`RSS growth ${(grew / 2 ** 20).toFixed(1)} MiB`);
    assert.ok(grew < RSS_BOUND, `RSS grew ${grew} bytes`);
    } finally {
      await tiles.close();
      cache.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
