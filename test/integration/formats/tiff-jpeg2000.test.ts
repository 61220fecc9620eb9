/**
 * JPEG 2000 in TIFF (compressions 33004, 33005 and 34712) written reversibly by tifffile +
 * imagecodecs (the PyPI venv) into a temp dir: our OpenJPEG decode in the workers gives
 * exactly tifffile's own decode.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { readRegion } from '../../../main/tiles/region.js';
import { SOURCE, localService } from './written-here.js';
import { pythonVenv } from '../../stack/python-venv.js';


const WRITE = `
import sys, numpy as np, tifffile
raw, out, c = sys.argv[1], sys.argv[2], int(sys.argv[3])
a = np.fromfile(raw, np.uint8).reshape(600, 800, 3)
tifffile.imwrite(out, a, tile=(256, 256), compression=c, compressionargs={'reversible': True}, photometric='rgb')
b = tifffile.imread(out)
sys.stdout.buffer.write(b.tobytes())
`;

test('JPEG 2000 TIFF tiles (33004, 33005, 34712) decode identically to tifffile', async (t) => {
  const py = pythonVenv();
  const { dir, service } = localService(t, 'wsi-j2k-');
  const base = join(dir, 'base.v');
  const raw = join(dir, 'base.raw');
  assert.equal(spawnSync('vips', ['crop', SOURCE, base, '0', '0', '800', '600']).status, 0);
  assert.equal(spawnSync('vips', ['rawsave', base, raw]).status, 0);
  for (const compression of [33004, 33005, 34712]) {
    const file = join(dir, `j${compression}.tif`);
    const w = spawnSync(py.python, ['-c', WRITE, raw, file, String(compression)], { maxBuffer: 64 << 20 });
    assert.equal(w.status, 0, String(w.stderr));
    const ref = new Uint8Array(w.stdout);
    assert.deepEqual(ref, new Uint8Array(readFileSync(raw)), 'reversible JPEG 2000 round-trips in tifffile');
    const slide = await service.open(file);
    const ours = await readRegion(service, slide, { level: 0, x: 0, y: 0, width: 800, height: 600 });
    let diff = 0;
    for (let p = 0; p < 800 * 600; p++) {
      for (let k = 0; k < 3; k++) if (ours.data[p * 4 + k] !== ref[p * 3 + k]) diff++;
    }
    assert.equal(diff, 0, `compression ${compression}: ${diff} samples differ from tifffile`);
  }
});
