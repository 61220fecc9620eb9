/** Partial tile tables: big TileOffsets/TileByteCounts are read in slices, small ones whole. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isAppError } from '../../../main/common/errors.js';
import { openSlide, readTile } from '../../../main/formats/open.js';
import { CountingReader } from './counting-reader.js';
import { MemoryReader, TiffBuilder, type BIfd } from './tiff-builder.js';

const DISTINCT = 7;

/** A tiled 8-bit gray level whose tiles point at DISTINCT stored 16×16 tiles (i % DISTINCT). */
function bigGrid(b: TiffBuilder, columns: number, rows: number): { ifd: BIfd; tiles: Uint8Array[] } {
  const tiles = Array.from({ length: DISTINCT }, (_, k) => Uint8Array.from({ length: 256 }, (_, i) => (i * 3 + k * 41) & 0xff));
  const at = tiles.map((t) => b.addData(t));
  const n = columns * rows;
  const ifd: BIfd = {
    entries: [
      { tag: 256, type: 4, values: [columns * 16] },
      { tag: 257, type: 4, values: [rows * 16] },
      { tag: 258, type: 3, values: [8] },
      { tag: 259, type: 3, values: [1] },
      { tag: 262, type: 3, values: [1] },
      { tag: 277, type: 3, values: [1] },
      { tag: 322, type: 3, values: [16] },
      { tag: 323, type: 3, values: [16] },
      { tag: 324, type: b.bigTiff ? 16 : 4, values: Array.from({ length: n }, (_, i) => at[i % DISTINCT]!) },
      { tag: 325, type: 4, values: Array(n).fill(256) },
    ],
  };
  return { ifd, tiles };
}

describe('TIFF tile tables', () => {
  it('a 40-tile viewport on a level with 40 KB tables reads a few KiB of them, one read per block, shared by concurrent callers', async () => {
    const b = new TiffBuilder();
    const { ifd, tiles } = bigGrid(b, 100, 100); // 10,000 tiles: 40 KB per table
    const reader = new CountingReader(new MemoryReader(b.build([ifd])));
    const slide = await openSlide(reader, { headSize: 4096 });
    reader.reset();
    const wanted: [number, number][] = [];
    for (let row = 22; row < 27; row++) for (let col = 10; col < 18; col++) wanted.push([col, row]);
    const locs = await Promise.all(wanted.map(([c, r]) => slide.locateTile(0, c, r, 0)));
    // Rows 22..26 touch two blocks of 5 rows (500 entries, 2 KB per table).
    assert.equal(reader.reads, 2, `${reader.reads} reads`);
    assert.equal(reader.ranges, 4, 'offsets and counts slices go out in the same read');
    assert.ok(reader.bytes <= 8 * 1024, `${reader.bytes} bytes of tables`);
    // Same blocks again: from the reader's cache.
    await slide.locateTile(0, 11, 23, 0);
    assert.equal(reader.reads, 2);
    for (let i = 0; i < wanted.length; i++) {
      const [c, r] = wanted[i]!;
      assert.ok(locs[i]);
      const tile = await readTile(slide, reader, 0, c, r);
      assert.deepEqual(tile?.bytes, tiles[(r * 100 + c) % DISTINCT]);
    }
  });

  it('BigTIFF rows wider than a block are read in column chunks', async () => {
    const b = new TiffBuilder({ bigTiff: true });
    const { ifd, tiles } = bigGrid(b, 600, 8); // 4,800 tiles, 38 KB of 8-byte offsets
    const reader = new CountingReader(new MemoryReader(b.build([ifd])));
    const slide = await openSlide(reader, { headSize: 4096 });
    reader.reset();
    const tile = await readTile(slide, reader, 0, 599, 7);
    assert.deepEqual(tile?.bytes, tiles[(7 * 600 + 599) % DISTINCT]);
    // Block: row 7, columns 512..599: 88 offsets (8 B) + 88 counts (4 B).
    assert.deepEqual(reader.log[0]?.map((r) => r.length), [88 * 8, 88 * 4]);
  });

  it('small tables are still read whole', async () => {
    const b = new TiffBuilder();
    const { ifd } = bigGrid(b, 20, 20); // 1.6 KB per table
    const reader = new CountingReader(new MemoryReader(b.build([ifd])));
    const slide = await openSlide(reader, { headSize: 64 });
    reader.reset();
    await slide.locateTile(0, 3, 3, 0);
    assert.ok(reader.log.flat().some((r) => r.length === 1600), 'whole table read');
    const before = reader.reads;
    await Promise.all([slide.locateTile(0, 19, 19, 0), slide.locateTile(0, 0, 10, 0)]);
    assert.equal(reader.reads, before);
  });

  it('a table shorter than the grid is corrupt, not an out-of-bounds read', async () => {
    const b = new TiffBuilder();
    const { ifd } = bigGrid(b, 100, 100);
    const offsets = ifd.entries.find((e) => e.tag === 324)!;
    const counts = ifd.entries.find((e) => e.tag === 325)!;
    offsets.values = (offsets.values as number[]).slice(0, 9_990);
    counts.values = (counts.values as number[]).slice(0, 9_990);
    const slide = await openSlide(new MemoryReader(b.build([ifd])), { headSize: 4096 });
    assert.ok(await slide.locateTile(0, 0, 99, 0));
    await assert.rejects(slide.locateTile(0, 99, 99, 0), (e) => isAppError(e, 'FORMAT_CORRUPT'));
    // The last block is clipped at the table's end, not refused for the tiles it holds.
  });

  it('an aborted caller does not cancel the block read shared with another caller', async () => {
    const b = new TiffBuilder();
    const { ifd } = bigGrid(b, 100, 100);
    const reader = new CountingReader(new MemoryReader(b.build([ifd])));
    const slide = await openSlide(reader, { headSize: 4096 });
    const ac = new AbortController();
    const first = slide.locateTile(0, 1, 1, 0, ac.signal);
    const second = slide.locateTile(0, 2, 1, 0);
    ac.abort();
    await assert.rejects(first, (e) => isAppError(e, 'ABORTED'));
    assert.ok(await second);
  });
});
