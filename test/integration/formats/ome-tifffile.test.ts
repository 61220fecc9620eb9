/** OME-TIFF SubIFD levels against tifffile (OpenSlide 3.4 ignores SubIFDs); lossless, so identical. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { openSlide, readTile } from '../../../main/formats/open.js';
import { FileRangeReader } from '../../../main/sources/file.js';
import { reference, TESTDATA } from './reference.js';

const FILES = [
  'derived/ome-tiff/CMU-1-Small-Region.rgb-pyramid-subifds.ome.tif',
  'derived/ome-tiff/NDPI-DAPI-TRITC.2ch-uint16-pyramid-subifds.ome.tif',
];

describe('OME-TIFF tiles match tifffile', () => {
  for (const file of FILES) {
    it(file, async () => {
      const path = `${TESTDATA}/${file}`;
      const reader = new FileRangeReader(path);
      const slide = await openSlide(reader);
      try {
        const d = slide.descriptor;
        const picks: { level: number; col: number; row: number; plane: number }[] = [];
        d.levels.forEach((l, level) => {
          for (let plane = 0; plane < d.channels.length; plane++) {
            picks.push({ level, col: 0, row: 0, plane }, { level, col: l.columns - 1, row: l.rows - 1, plane });
          }
        });
        const regions = picks.map((p) => {
          const l = d.levels[p.level]!;
          const x = p.col * l.tileWidth, y = p.row * l.tileHeight;
          return { level: p.level, plane: p.plane, x, y, w: Math.min(l.tileWidth, l.width - x), h: Math.min(l.tileHeight, l.height - y) };
        });
        const ref = await reference('tifffile', path, regions);
        for (const [i, p] of picks.entries()) {
          const r = regions[i]!;
          const tile = await readTile(slide, reader, p.level, p.col, p.row, p.plane);
          assert.ok(tile && tile.encoding.kind === 'raw');
          const bpp = (tile.encoding.bitsPerSample / 8) * tile.encoding.samplesPerPixel;
          const expected = ref.data[i]!;
          assert.equal(expected.length, r.w * r.h * bpp);
          for (let y = 0; y < r.h; y++) {
            const ours = tile.bytes.subarray(y * tile.width * bpp, (y * tile.width + r.w) * bpp);
            const theirs = expected.subarray(y * r.w * bpp, (y + 1) * r.w * bpp);
            assert.ok(Buffer.from(ours).equals(Buffer.from(theirs)), `${file} level ${p.level} plane ${p.plane} tile ${p.col},${p.row} row ${y} differs`);
          }
        }
      } finally {
        await slide.close();
      }
    });
  }
});

describe('LZW strips of a real file decode as Pillow/libtiff does', () => {
  it('vectra-qptiff/small_vectra.qptiff channel 0, first and last strip', async () => {
    const { parseTiff } = await import('../../../main/formats/tiff/parse.js');
    const { gridOf, pieceRange, pieceSize } = await import('../../../main/formats/tiff/grid.js');
    const { decodeRawTile } = await import('../../../main/formats/codecs/raw.js');
    const path = `${TESTDATA}/vectra-qptiff/small_vectra.qptiff`;
    const reader = new FileRangeReader(path);
    try {
      const identity = await reader.stat();
      const head = (await reader.read([{ offset: 0, length: 1 << 18 }])).buffers[0]!;
      const tiff = (await parseTiff(reader, head, identity.size))!;
      const grid = gridOf(tiff.ifds[0]!);
      assert.equal(tiff.ifds[0]!.compression, 5);
      for (const row of [0, grid.rows - 1]) {
        const range = (await pieceRange(tiff, grid, 0, row, 0))!;
        const bytes = (await reader.read([range])).buffers[0]!;
        const { width, height } = pieceSize(grid, row);
        const raw = decodeRawTile({ compression: 5, predictor: tiff.ifds[0]!.number(317, 1), width, height, samplesPerPixel: 1, bitsPerSample: 8, littleEndian: tiff.littleEndian }, bytes);
        const ref = await reference('pillow', path, [{ page: 0, x: 0, y: row * grid.tileHeight, w: width, h: height }]);
        assert.ok(Buffer.from(raw).equals(Buffer.from(ref.data[0]!)), `strip ${row} differs`);
      }
    } finally {
      await reader.close();
    }
  });
});
