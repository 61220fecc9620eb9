/**
 * TIFF compression 50000 (Zstandard), written by libvips into a temp dir, with and without
 * the horizontal predictor: every level decodes to exactly what libvips itself decodes.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { readRegion } from '../../../main/tiles/region.js';
import { SOURCE, haveVips, vips, localService } from './written-here.js';


test('zstd TIFFs written by libvips decode identically to libvips', { skip: !haveVips && 'vips missing' }, async (t) => {
  const { dir, service } = localService(t, 'wsi-zstd-');
  const base = join(dir, 'base.v');
  vips('crop', SOURCE, base, '100', '100', '1200', '900');
  for (const predictor of ['none', 'horizontal']) {
    const file = join(dir, `zstd-${predictor}.tif`);
    vips('tiffsave', base, file, '--tile', '--pyramid', '--compression', 'zstd', '--predictor', predictor, '--tile-width', '256', '--tile-height', '256');
    const slide = await service.open(file);
    assert.equal(slide.descriptor.levels.length, 4); // 1200, 600, 300, 150 wide
    for (const c of [
      { level: 0, x: 200, y: 150, width: 400, height: 300 },
      { level: 1, x: 300, y: 200, width: 300, height: 250 },
      { level: 2, x: 0, y: 0, width: 300, height: 225 },
    ]) {
      const ours = await readRegion(service, slide, c);
      const crop = join(dir, 'c.v');
      const raw = join(dir, 'c.raw');
      vips('crop', `${file}[page=${c.level}]`, crop, String(c.x), String(c.y), String(c.width), String(c.height));
      vips('rawsave', crop, raw);
      const ref = readFileSync(raw);
      let diff = 0;
      for (let p = 0; p < c.width * c.height; p++) {
        for (let k = 0; k < 3; k++) if (ours.data[p * 4 + k] !== ref[p * 3 + k]) diff++;
      }
      assert.equal(diff, 0, `${predictor} level ${c.level}: ${diff} samples differ from libvips`);
    }
  }
});
