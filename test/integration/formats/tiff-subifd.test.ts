/**
 * A generic TIFF whose pyramid is in SubIFDs (`vips tiffsave --subifd`, written here into a
 * temp dir) opens with every level, and each level's pixels are identical to libvips' own
 * decode of that SubIFD (deflate is lossless, so nothing may differ).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { readRegion } from '../../../main/tiles/region.js';
import { SOURCE, haveVips, vips, localService } from './written-here.js';


test('a SubIFD pyramid written by libvips opens with every level, pixels identical to libvips', { skip: !haveVips && 'vips missing' }, async (t) => {
  const { dir, service } = localService(t, 'wsi-subifd-');
  const base = join(dir, 'base.v');
  const file = join(dir, 'subifd.tif');
  vips('crop', SOURCE, base, '0', '0', '2000', '1500');
  vips('tiffsave', base, file, '--tile', '--pyramid', '--subifd', '--compression', 'deflate', '--tile-width', '256', '--tile-height', '256');

  const slide = await service.open(file);
  const sizes = slide.descriptor.levels.map((l) => `${l.width}x${l.height}`);
  // libvips halves with rounding down until a level fits one tile: 2000, 1000, 500, 250.
  assert.deepEqual(sizes, ['2000x1500', '1000x750', '500x375', '250x187']);

  const cases = [
    { level: 0, x: 250, y: 240, width: 300, height: 200 },
    { level: 1, x: 700, y: 500, width: 300, height: 250 }, // to the bottom-right edge
    { level: 2, x: 0, y: 0, width: 500, height: 375 },
    { level: 3, x: 17, y: 9, width: 200, height: 150 },
  ];
  for (const c of cases) {
    const ours = await readRegion(service, slide, c);
    const crop = join(dir, `l${c.level}.v`);
    const raw = join(dir, `l${c.level}.raw`);
    // subifd=-1 is the main directory, 0.. the SubIFDs in order.
    vips('crop', `${file}[subifd=${c.level - 1}]`, crop, String(c.x), String(c.y), String(c.width), String(c.height));
    vips('rawsave', crop, raw);
    const ref = readFileSync(raw);
    assert.equal(ref.length, c.width * c.height * 3);
    let diff = 0;
    for (let p = 0; p < c.width * c.height; p++) {
      for (let k = 0; k < 3; k++) if (ours.data[p * 4 + k] !== ref[p * 3 + k]) diff++;
    }
    assert.equal(diff, 0, `level ${c.level}: ${diff} samples differ from libvips`);
  }
});
