// formats decides what counts as a slide by name (the S3 layer is handed this test).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isSlideName } from '../../../main/formats/slide-names.js';

test('slide names', () => {
  for (const n of ['a.svs', 'B.TIFF', 'x.ome.tif', 'y.ndpi', 'z.dcm', 'w.mrxs', 'q.qptiff', 'c.czi', 'v.vsi', 's.scn', 'b.bif']) assert.equal(isSlideName(n), true, n);
  for (const n of ['README.txt', 'index.csv', 'svs', 'a.svs.bak']) assert.equal(isSlideName(n), false, n);
});
