/**
 * DICOM frames against pydicom (frame extraction) + Pillow/libjpeg (decode) of the same
 * frame; OpenSlide 3.4 has no DICOM reader. Native frames must be identical.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decodeTileToRgba } from '../../../main/formats/codecs/decode.js';
import { localSiblings } from '../../../main/sources/siblings.js';
import { openSlide, readTile } from '../../../main/formats/open.js';
import { FileRangeReader } from '../../../main/sources/file.js';
import { psnrRgba, reference, TESTDATA, toRgba } from './reference.js';

interface Case { file: string; level: number; tiles: [number, number, number][]; lossless: boolean }

const CASES: Case[] = [
  { file: 'dicom-wsi/wsi2dcm-single-level/jpeg-baseline.dcm', level: 0, tiles: [[0, 0, 0], [1, 1, 0], [3, 2, 0]], lossless: false },
  // JPEG 2000 lossless (OpenJPEG/WebAssembly here, OpenJPEG via Pillow there): identical.
  { file: 'dicom-wsi/wsi2dcm-single-level/jpeg2000-lossless.dcm', level: 0, tiles: [[0, 0, 0], [2, 1, 0], [3, 2, 0]], lossless: true },
  { file: 'dicom-wsi/wsi2dcm-single-level/raw-explicit-le.dcm', level: 0, tiles: [[0, 0, 0], [2, 1, 0], [3, 2, 0]], lossless: true },
  { file: 'dicom-wsi/highdicom-sm_image-50x50.dcm', level: 0, tiles: [[0, 0, 0], [4, 4, 0]], lossless: true },
  { file: 'dicom-wsi/pathml-small_dicom-tcga.dcm', level: 0, tiles: [[0, 0, 0], [3, 2, 0], [6, 5, 0]], lossless: false },
  { file: 'dicom-wsi/cmu1-small-region-wsi2dcm-pyramid/level-0-frames-0-30.dcm', level: 0, tiles: [[0, 0, 0], [4, 5, 0]], lossless: false },
  // Three optical paths, one frame per path per tile (frame = plane × tiles + tile).
  { file: 'dicom-wsi/wg26-bpaec-3dhistech-partial/5_0.dcm', level: 0, tiles: [[0, 0, 0], [2, 1, 1], [1, 2, 2]], lossless: false },
];

describe('DICOM frames match pydicom + Pillow', () => {
  for (const c of CASES) {
    it(c.file, async () => {
      const path = `${TESTDATA}/${c.file}`;
      const reader = new FileRangeReader(path);
      const slide = await openSlide(reader, { siblings: localSiblings(path) });
      try {
        const l = slide.descriptor.levels[c.level]!;
        const frames = c.tiles.map(([col, row, plane]) => ({ frame: plane * l.columns * l.rows + row * l.columns + col }));
        const ref = await reference('dicom', path, frames);
        for (const [i, [col, row, plane]] of c.tiles.entries()) {
          const tile = await readTile(slide, reader, c.level, col, row, plane);
          assert.ok(tile);
          assert.equal(tile.width, l.tileWidth);
          const img = await decodeTileToRgba(tile);
          const shape = ref.shapes[i] as number[];
          const spp = shape.length === 3 ? shape[2]! : 1;
          const expected = toRgba(ref.data[i]!, shape[0]! * shape[1]!, spp);
          assert.equal(img.width * img.height, shape[0]! * shape[1]!);
          const db = psnrRgba(img.data, expected, img.width, img.height);
          if (c.lossless) assert.equal(db, Infinity, `${c.file} tile ${col},${row} differs from pydicom`);
          else assert.ok(db >= 35, `${c.file} tile ${col},${row},${plane}: PSNR ${db.toFixed(1)} dB`);
        }
      } finally {
        await slide.close();
      }
    });
  }
});
