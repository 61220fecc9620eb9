/** The TIFF core on hand-made files: byte orders, BigTIFF, SubIFDs, laziness, hostile structures. */
import assert from 'node:assert/strict';
import { deflateSync } from 'node:zlib';
import { describe, it } from 'node:test';
import { isAppError } from '../../../main/common/errors.js';
import { openSlide, readTile } from '../../../main/formats/open.js';
import { parseTiff } from '../../../main/formats/tiff/parse.js';
import { MemoryReader, TiffBuilder, tiledIfd, type BIfd } from './tiff-builder.js';

function gradient(w: number, h: number, seed: number): Uint8Array {
  const out = new Uint8Array(w * h);
  for (let i = 0; i < out.length; i++) out[i] = (i * 7 + seed * 31) & 0xff;
  return out;
}

async function corruptAt(bytes: Uint8Array, pattern: RegExp): Promise<void> {
  await assert.rejects(openSlide(new MemoryReader(bytes)), (err) => {
    assert.ok(isAppError(err), `AppError, got ${String(err)}`);
    assert.equal(err.code, 'FORMAT_CORRUPT', err.message);
    assert.match(err.message, pattern);
    assert.ok('offset' in (err.details ?? {}), 'details.offset is set');
    return true;
  });
}

describe('TIFF core', () => {
  for (const bigTiff of [false, true]) {
    for (const littleEndian of [true, false]) {
      it(`${bigTiff ? 'BigTIFF' : 'classic TIFF'} ${littleEndian ? 'little' : 'big'} endian: two-level pyramid, raw tiles`, async () => {
        const b = new TiffBuilder({ bigTiff, littleEndian });
        const t = [gradient(16, 16, 1), gradient(16, 16, 2), gradient(16, 16, 3), gradient(16, 16, 4)];
        const l0 = tiledIfd(b, { width: 32, height: 20, tile: 16, tiles: t });
        const l1 = tiledIfd(b, { width: 16, height: 10, tile: 16, tiles: [gradient(16, 16, 9)], extra: [{ tag: 254, type: 4, values: [1] }] });
        const file = b.build([l0, l1]);
        const reader = new MemoryReader(file);
        const slide = await openSlide(reader);
        const d = slide.descriptor;
        assert.equal(d.format, 'generic-tiff');
        assert.deepEqual(d.levels.map((l) => [l.width, l.height, l.columns, l.rows, l.downsample]), [[32, 20, 2, 2, 1], [16, 10, 1, 1, 2]]);
        assert.equal(d.pixelKind, 'channels');
        for (let i = 0; i < 4; i++) {
          const tile = await readTile(slide, reader, 0, i % 2, Math.floor(i / 2));
          assert.ok(tile);
          assert.deepEqual(tile.bytes, t[i]);
          assert.deepEqual([tile.width, tile.height], [16, 16]);
        }
      });
    }
  }

  it('16-bit big-endian Deflate tiles with horizontal predictor come out little-endian', async () => {
    const b = new TiffBuilder({ littleEndian: false });
    const values = Array.from({ length: 64 }, (_, i) => i * 1000 + 7);
    // Predictor 2 on 16-bit: store differences, big-endian.
    const diff = new Uint8Array(128);
    for (let y = 0; y < 8; y++) {
      for (let x = 0; x < 8; x++) {
        const i = y * 8 + x;
        const v = x === 0 ? values[i]! : (values[i]! - values[i - 1]!) & 0xffff;
        diff[i * 2] = v >> 8;
        diff[i * 2 + 1] = v & 0xff;
      }
    }
    const ifd = tiledIfd(b, { width: 8, height: 8, tile: 8, bits: 16, compression: 8, tiles: [deflateSync(diff)], extra: [{ tag: 317, type: 3, values: [2] }] });
    const reader = new MemoryReader(b.build([ifd]));
    const slide = await openSlide(reader);
    const tile = await readTile(slide, reader, 0, 0, 0);
    assert.ok(tile && tile.encoding.kind === 'raw' && tile.encoding.bitsPerSample === 16);
    const dv = new DataView(tile.bytes.buffer, tile.bytes.byteOffset, tile.bytes.byteLength);
    assert.deepEqual(Array.from({ length: 64 }, (_, i) => dv.getUint16(i * 2, true)), values);
  });

  it('reads SubIFDs, all in one batched request when they are outside the head', async () => {
    const b = new TiffBuilder();
    const sub = (w: number): BIfd => tiledIfd(b, { width: w, height: w, tile: 16, tiles: Array(Math.ceil(w / 16) ** 2).fill(gradient(16, 16, w)) , extra: [{ tag: 254, type: 4, values: [1] }] });
    const top = tiledIfd(b, { width: 64, height: 64, tile: 16, tiles: Array(16).fill(gradient(16, 16, 0)) });
    top.subIfds = [sub(32), sub(16)];
    const file = b.build([top]);
    const reader = new MemoryReader(file);
    const identity = await reader.stat();
    // Head of 16 bytes: nothing but the header is in hand.
    const tiff = await parseTiff(reader, file.subarray(0, 16), identity.size);
    assert.ok(tiff);
    assert.deepEqual(tiff.ifds[0]!.subIfds.map((d) => d.width), [32, 16]);
    // IFD 0 (+ tail prefetch), then both SubIFDs together; the big tile tables stay on disk.
    assert.ok(reader.reads <= 2, `${reader.reads} reads`);
    assert.equal(tiff.ifds[0]!.entries.get(324)!.value, undefined, 'TileOffsets not fetched while opening');
  });

  it('tile offset tables: one read each on first need, then cached', async () => {
    const b = new TiffBuilder();
    const ifd = tiledIfd(b, { width: 64, height: 64, tile: 16, tiles: Array.from({ length: 16 }, (_, i) => gradient(16, 16, i)) });
    const file = b.build([ifd]);
    const reader = new MemoryReader(file);
    const slide = await openSlide(reader, { headSize: 64 }); // header only: tables must be fetched later
    const before = reader.reads;
    await slide.locateTile(0, 1, 1, 0);
    assert.equal(reader.reads - before, 2);
    await slide.locateTile(0, 3, 3, 0);
    assert.equal(reader.reads - before, 2);
  });

  it('an empty tile (byte count 0) is reported as missing, not as an error', async () => {
    const b = new TiffBuilder();
    const ifd = tiledIfd(b, { width: 32, height: 16, tile: 16, tiles: [gradient(16, 16, 1), new Uint8Array(0)], counts: [256, 0] });
    const slide = await openSlide(new MemoryReader(b.build([ifd])));
    assert.equal(await slide.locateTile(0, 1, 0, 0), null);
    await assert.rejects(slide.locateTile(0, 2, 0, 0), (e) => isAppError(e, 'FORMAT_TILE_MISSING'));
  });

  it('rejects an IFD loop', async () => {
    const b = new TiffBuilder();
    const a = tiledIfd(b, { width: 16, height: 16, tile: 16, tiles: [gradient(16, 16, 1)] });
    a.next = 'self';
    await corruptAt(b.build([a]), /loop/);
  });

  it('rejects a two-IFD loop', async () => {
    const b = new TiffBuilder();
    const x = tiledIfd(b, { width: 16, height: 16, tile: 16, tiles: [gradient(16, 16, 1)] });
    const y = tiledIfd(b, { width: 8, height: 8, tile: 16, tiles: [gradient(16, 16, 1)] });
    const file = b.build([x, y]);
    // Point the second IFD's link back at the first.
    const firstIfd = new DataView(file.buffer).getUint32(4, true);
    const n = new DataView(file.buffer).getUint16(firstIfd, true);
    const secondIfd = new DataView(file.buffer).getUint32(firstIfd + 2 + n * 12, true);
    const n2 = new DataView(file.buffer).getUint16(secondIfd, true);
    new DataView(file.buffer).setUint32(secondIfd + 2 + n2 * 12, firstIfd, true);
    await corruptAt(file, /loop/);
  });

  it('rejects value counts near 2^32 without allocating', async () => {
    const b = new TiffBuilder();
    const ifd = tiledIfd(b, { width: 16, height: 16, tile: 16, tiles: [gradient(16, 16, 1)] });
    ifd.entries.push({ tag: 270, type: 2, values: 'x'.repeat(10), count: 0xfffffff0 });
    await corruptAt(b.build([ifd]), /claims 4294967280 values/);
  });

  it('rejects a value offset past the end of the file', async () => {
    const b = new TiffBuilder();
    const ifd = tiledIfd(b, { width: 16, height: 16, tile: 16, tiles: [gradient(16, 16, 1)] });
    ifd.entries.push({ tag: 270, type: 2, values: 'x'.repeat(10), offset: 0x7ffffff0 });
    await corruptAt(b.build([ifd]), /past the end/);
  });

  it('rejects a directory offset past the end of the file', async () => {
    const b = new TiffBuilder();
    const ifd = tiledIfd(b, { width: 16, height: 16, tile: 16, tiles: [gradient(16, 16, 1)] });
    ifd.next = 0x7ffffff0;
    await corruptAt(b.build([ifd]), /outside the file/);
  });

  it('caps the number of entries in a directory', async () => {
    const b = new TiffBuilder();
    const ifd = tiledIfd(b, { width: 16, height: 16, tile: 16, tiles: [gradient(16, 16, 1)] });
    for (let i = 0; i < 4100; i++) ifd.entries.push({ tag: 40000 + i, type: 3, values: [1] });
    await corruptAt(b.build([ifd]), /claims 41\d\d entries/);
  });

  it('caps the number of directories', async () => {
    const b = new TiffBuilder();
    const tile = b.addData(gradient(16, 16, 1));
    const many: BIfd[] = Array.from({ length: 1100 }, () => ({
      entries: [
        { tag: 256, type: 3, values: [16] }, { tag: 257, type: 3, values: [16] }, { tag: 322, type: 3, values: [16] },
        { tag: 323, type: 3, values: [16] }, { tag: 324, type: 4, values: [tile] }, { tag: 325, type: 4, values: [256] },
      ],
    }));
    await corruptAt(b.build(many), /more than 1024 directories/);
  });

  it('tile offsets past the end fail when the tile is located, with the offset', async () => {
    const b = new TiffBuilder();
    const ifd = tiledIfd(b, { width: 16, height: 16, tile: 16, tiles: [gradient(16, 16, 1)], counts: [0x10000000] });
    const slide = await openSlide(new MemoryReader(b.build([ifd])));
    await assert.rejects(slide.locateTile(0, 0, 0, 0), (e) => isAppError(e, 'FORMAT_CORRUPT') && typeof e.details?.['offset'] === 'number');
  });

  it('a tile table shorter than the grid is corrupt, not an out-of-bounds read', async () => {
    const b = new TiffBuilder();
    const ifd = tiledIfd(b, { width: 64, height: 16, tile: 16, tiles: [gradient(16, 16, 1), gradient(16, 16, 2)] });
    const slide = await openSlide(new MemoryReader(b.build([ifd])));
    await assert.rejects(slide.locateTile(0, 3, 0, 0), (e) => isAppError(e, 'FORMAT_CORRUPT'));
  });

  it('a truncated file is corrupt with the offset', async () => {
    const b = new TiffBuilder();
    const ifd = tiledIfd(b, { width: 16, height: 16, tile: 16, tiles: [gradient(16, 16, 1)] });
    const file = b.build([ifd]);
    await corruptAt(file.subarray(0, file.length - 20), /.+/);
  });
});
