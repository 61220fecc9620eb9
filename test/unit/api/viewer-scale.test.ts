/**
 * Scale bar and magnification arithmetic of the viewer (renderer/src/viewer/scale.ts).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatLength, formatMagnification, magnification, scaleBar } from '../../../renderer/src/viewer/scale.js';

test('the scale bar is the longest 1-2-5 length that fits', () => {
  // 0.25 µm per screen pixel (40× at 1:1): 150 px = 37.5 µm → 20 µm over 80 px.
  assert.deepEqual(scaleBar(0.25), { pixels: 80, label: '20 µm' });
  // 1.245 µm per pixel: 186.75 µm fit → 100 µm.
  const b = scaleBar(1.245);
  assert.equal(b?.label, '100 µm');
  assert.ok(Math.abs(b!.pixels - 100 / 1.245) < 1e-9);
  assert.equal(scaleBar(20)?.label, '2 mm');
  assert.equal(scaleBar(0.001)?.label, '100 nm');
  assert.equal(scaleBar(0), undefined);
  assert.equal(scaleBar(Number.NaN), undefined);
});

test('lengths read naturally', () => {
  assert.equal(formatLength(1500), '1.5 mm');
  assert.equal(formatLength(5), '5 µm');
  assert.equal(formatLength(0.5), '500 nm');
});

test('magnification: 0.25 µm/px at 1:1 is 40×; objective power when mpp is unknown', () => {
  assert.equal(magnification(0.25, undefined, 1), 40);
  assert.equal(magnification(0.5, 20, 1), 20);
  assert.equal(magnification(0.25, undefined, 0.5), 20);
  assert.equal(magnification(undefined, 40, 0.25), 10);
  assert.equal(magnification(undefined, undefined, 1), undefined);
  assert.equal(formatMagnification(40), '40×');
  assert.equal(formatMagnification(8.03), '8×');
  assert.equal(formatMagnification(2.54), '2.5×');
  assert.equal(formatMagnification(undefined), '—');
});
