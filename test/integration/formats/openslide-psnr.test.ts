/**
 * Tiles from our readers against OpenSlide 3.4.1's read_region of the same pixels, for
 * every test file OpenSlide reads (SVS, generic TIFF, BigTIFF, NDPI). JPEG decoders differ
 * (jpeg-js here, libjpeg-turbo there), so the bar is PSNR ≥ 35 dB.
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { decodeTileToRgba } from '../../../main/formats/codecs/decode.js';
import { openSlide, readTile } from '../../../main/formats/open.js';
import type { SlideReader } from '../../../main/formats/types.js';
import { FileRangeReader } from '../../../main/sources/file.js';
import { pythonVenv } from '../../stack/python-venv.js';
import { psnrRgba, reference, TESTDATA } from './reference.js';

const FILES = [
  'aperio-svs/CMU-1-Small-Region.svs',
  'aperio-svs/aperio-16x16-crop.svs',
  'derived/generic-tiff/CMU-1-Small-Region.pyramid-jpeg.tif',
  'derived/generic-tiff/CMU-1-Small-Region.pyramid-jpeg.bigtiff.tif',
  'hamamatsu-ndpi/test3-DAPI-2-387.ndpi',
  'hamamatsu-ndpi/test3-TRITC-2-560.ndpi',
];

interface Pick { level: number; col: number; row: number; x: number; y: number; w: number; h: number; osLevel: number; ds: number }

function picks(slide: SlideReader): Pick[] {
  const d = slide.descriptor;
  const l0 = d.levels[0]!;
  const out: Pick[] = [];
  d.levels.forEach((l, level) => {
    // OpenSlide 3.4's downsample is the mean of the two axis ratios.
    const ds = (l0.width / l.width + l0.height / l.height) / 2;
    const integral = Math.abs(ds - Math.round(ds)) < 1e-9;
    const cells = integral
      ? [[0, 0], [Math.floor(l.columns / 2), Math.floor(l.rows / 2)], [l.columns - 1, l.rows - 1]]
      : [[0, 0]];
    const seen = new Set<string>();
    for (const [col, row] of cells as [number, number][]) {
      if (seen.has(`${col},${row}`)) continue;
      seen.add(`${col},${row}`);
      const x = col * l.tileWidth;
      const y = row * l.tileHeight;
      out.push({ level, col, row, x, y, w: Math.min(l.tileWidth, l.width - x), h: Math.min(l.tileHeight, l.height - y), osLevel: -1, ds });
    }
  });
  return out;
}

/**
 * OpenSlide 4 (openslide-bin from PyPI, in the test stack's venv) as a second oracle: it reads
 * DICOM WSI, which Debian's 3.4.1 cannot, and NDPI with its newer code.
 */
const OPENSLIDE4_FILES = [
  'hamamatsu-ndpi/test3-DAPI-2-387.ndpi',
  'hamamatsu-ndpi/test3-TRITC-2-560.ndpi',
  'dicom-wsi/wsi2dcm-single-level/jpeg-baseline.dcm',
  'dicom-wsi/wsi2dcm-single-level/raw-explicit-le.dcm',
];

for (const [title, files, python] of [
  ['tiles match OpenSlide 3.4 read_region (PSNR ≥ 35 dB)', FILES, () => '/usr/bin/python3'],
  ['tiles match OpenSlide 4 read_region (PSNR ≥ 35 dB)', OPENSLIDE4_FILES, () => pythonVenv().python],
] as const) describe(title, () => {
  const readers: FileRangeReader[] = [];
  after(async () => {
    await Promise.all(readers.map((r) => r.close()));
  });

  for (const file of files) {
    it(file, async (t) => {
      const path = `${TESTDATA}/${file}`;
      const reader = new FileRangeReader(path);
      readers.push(reader);
      const slide = await openSlide(reader);
      const ps = picks(slide);
      // First ask OpenSlide for its levels, then map ours to its by downsample.
      const probe = await reference('openslide', path, [{ x: 0, y: 0, level: 0, w: 1, h: 1 }], python());
      const osDs = (probe.shapes.at(-1) as { downsamples: number[] }).downsamples;
      for (const p of ps) {
        p.osLevel = osDs.findIndex((v) => Math.abs(v - p.ds) / p.ds < 1e-6);
        assert.ok(p.osLevel >= 0, `OpenSlide has a level with downsample ${p.ds} (${osDs.join(', ')})`);
      }
      const ref = await reference('openslide', path, ps.map((p) => ({ x: Math.round(p.x * p.ds), y: Math.round(p.y * p.ds), level: p.osLevel, w: p.w, h: p.h })), python());
      assert.equal(ref.data.length, ps.length);
      let worst = Infinity;
      for (const [i, p] of ps.entries()) {
        const tile = await readTile(slide, reader, p.level, p.col, p.row);
        assert.ok(tile, `tile ${p.level}/${p.col}/${p.row} exists`);
        const img = await decodeTileToRgba(tile);
        assert.ok(img.width >= p.w && img.height >= p.h, `decoded tile ${img.width}×${img.height} covers ${p.w}×${p.h}`);
        const db = psnrRgba(img.data, ref.data[i]!, p.w, p.h, img.width, p.w);
        assert.ok(db >= 35, `${file} level ${p.level} tile ${p.col},${p.row}: PSNR ${db.toFixed(1)} dB < 35`);
        worst = Math.min(worst, db);
      }
      t.diagnostic(`${ps.length} tiles, lowest PSNR ${worst.toFixed(1)} dB`);
      await slide.close();
    });
  }
});
