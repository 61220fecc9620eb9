/**
 * Fluorescence compositing arithmetic (renderer/src/viewer/channels.ts): windowing,
 * tinting, additive blending with saturation, visibility, defaults, automatic windows and
 * the reading of raw planes as the tile route sends them.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  autoWindow,
  composite,
  defaultColours,
  defaultDisplay,
  level,
  parseRawHeader,
  planeFromRaw,
  planeFromRgba,
  sampleRange,
  type ChannelDisplay,
  type ChannelPlane,
  type TilePlanes,
} from '../../../renderer/src/viewer/channels.js';

const u16 = (width: number, height: number, values: number[]): ChannelPlane => ({ width, height, bitsPerSample: 16, sampleFormat: 'uint', data: Uint16Array.from(values) });
const u8 = (width: number, height: number, values: number[]): ChannelPlane => ({ width, height, bitsPerSample: 8, sampleFormat: 'uint', data: Uint8Array.from(values) });
const tile = (width: number, height: number, planes: (ChannelPlane | null)[]): TilePlanes => ({ width, height, validWidth: width, validHeight: height, planes });
const rgb = (out: Uint8Array, i: number): number[] => [out[i * 4]!, out[i * 4 + 1]!, out[i * 4 + 2]!, out[i * 4 + 3]!];

test('a window maps linearly onto 0…1 and clamps; a closed window is a threshold', () => {
  assert.equal(level(100, 100, 200), 0);
  assert.equal(level(150, 100, 200), 0.5);
  assert.equal(level(200, 100, 200), 1);
  assert.equal(level(50, 100, 200), 0);
  assert.equal(level(65535, 100, 200), 1);
  assert.equal(level(99, 100, 100), 0);
  assert.equal(level(100, 100, 100), 1);
});

test('16-bit channels: window, tint and additive blend into RGB, saturating at 255', () => {
  // Pixel 0: blue channel mid-window, red channel off-scale low; pixel 1: both full; pixel 2: blue at a quarter.
  const blue = u16(3, 1, [1000 + 500, 2000, 1000 + 250]);
  const red = u16(3, 1, [0, 60000, 30000]);
  const display: ChannelDisplay[] = [
    { visible: true, color: '#0000ff', min: 1000, max: 2000 },
    { visible: true, color: '#ff8000', min: 10000, max: 60000 },
  ];
  const out = new Uint8Array(3 * 4);
  composite(tile(3, 1, [blue, red]), display, out);
  assert.deepEqual(rgb(out, 0), [0, 0, 128, 255]); // 0.5 × 255 = 127.5 → 128
  assert.deepEqual(rgb(out, 1), [255, 128, 255, 255]); // red full: 255, 128; blue full: 255
  // red at (30000-10000)/50000 = 0.4: 102, 51.2; blue at 0.25: 63.75
  assert.deepEqual(rgb(out, 2), [102, 51, 64, 255]);
});

test('overlapping colours add and saturate; hidden and black channels add nothing', () => {
  const a = u8(2, 1, [255, 200]);
  const b = u8(2, 1, [255, 100]);
  const out = new Uint8Array(8);
  composite(tile(2, 1, [a, b]), [
    { visible: true, color: '#ffff00', min: 0, max: 255 },
    { visible: true, color: '#00ffff', min: 0, max: 255 },
  ], out);
  assert.deepEqual(rgb(out, 0), [255, 255, 255, 255]);
  // g: 200 + 100 = 300 → 255; r: 200; b: 100
  assert.deepEqual(rgb(out, 1), [200, 255, 100, 255]);
  composite(tile(2, 1, [a, b]), [
    { visible: false, color: '#ffff00', min: 0, max: 255 },
    { visible: true, color: '#00ffff', min: 0, max: 255 },
  ], out);
  assert.deepEqual(rgb(out, 1), [0, 100, 100, 255]);
  composite(tile(2, 1, [a, b]), [
    { visible: true, color: '#000000', min: 0, max: 255 },
    { visible: false, color: '#00ffff', min: 0, max: 255 },
  ], out);
  assert.deepEqual(rgb(out, 0), [0, 0, 0, 255], 'nothing visible is opaque black');
});

test('a missing plane (sparse tile) draws as zero; a plane of the wrong size is refused', () => {
  const out = new Uint8Array(4 * 4);
  composite(tile(2, 2, [null, u8(2, 2, [0, 85, 170, 255])]), defaultDisplay([{ name: 'DAPI', bitsPerSample: 8 }, { name: 'x', bitsPerSample: 8 }]), out);
  assert.deepEqual(rgb(out, 1), [0, 85, 0, 255]);
  assert.throws(() => composite(tile(2, 2, [u8(1, 1, [0])]), defaultDisplay([{ name: 'a', bitsPerSample: 8 }]), out), /Channel 0 is 1×1/);
});

test('signed and float samples map through their windows like integers', () => {
  const s16: ChannelPlane = { width: 3, height: 1, bitsPerSample: 16, sampleFormat: 'int', data: Int16Array.from([-32768, 0, 32767]) };
  const f32: ChannelPlane = { width: 3, height: 1, bitsPerSample: 32, sampleFormat: 'float', data: Float32Array.from([-1, 0.5, 2]) };
  const out = new Uint8Array(12);
  composite(tile(3, 1, [s16, f32]), [
    { visible: true, color: '#ff0000', min: -32768, max: 32767 },
    { visible: true, color: '#00ff00', min: 0, max: 1 },
  ], out);
  assert.deepEqual(rgb(out, 0), [0, 0, 0, 255]);
  assert.deepEqual(rgb(out, 1), [128, 128, 0, 255]); // 32768/65535 × 255 = 127.5 → 128
  assert.deepEqual(rgb(out, 2), [255, 255, 0, 255]);
});

test('the lookup path and the direct formula agree on every 16-bit value', () => {
  const n = 65536;
  const values = Array.from({ length: n }, (_, i) => i);
  const plane = u16(256, 256, values);
  const d: ChannelDisplay = { visible: true, color: '#c06030', min: 1234, max: 50321 };
  const out = new Uint8Array(n * 4);
  composite(tile(256, 256, [plane]), [d], out);
  for (let v = 0; v < n; v += 7) {
    const t = level(v, d.min, d.max);
    assert.deepEqual(rgb(out, v).slice(0, 3), [0xc0, 0x60, 0x30].map((c) => Math.min(255, Math.floor(t * c + 0.5))), `value ${v}`);
  }
});

test('default colours: the slide’s own, then the dye’s usual colour, then the palette without repeats', () => {
  assert.deepEqual(defaultColours([{ name: 'DAPI', bitsPerSample: 16 }, { name: 'TRITC', bitsPerSample: 16 }]), ['#0000ff', '#ff0000']);
  assert.deepEqual(defaultColours([{ name: 'c0', color: '#FF00FF', bitsPerSample: 8 }, { name: 'c1', bitsPerSample: 8 }, { name: 'c2', bitsPerSample: 8 }]), ['#ff00ff', '#0000ff', '#00ff00']);
  assert.deepEqual(defaultColours([{ name: 'FITC', bitsPerSample: 8 }, { name: 'unknown', bitsPerSample: 8 }]), ['#00ff00', '#0000ff']);
  assert.deepEqual(defaultColours([{ name: 'Alexa Fluor 647', bitsPerSample: 8 }, { name: 'Cy3', bitsPerSample: 8 }]), ['#ff00ff', '#ff0000']);
});

test('default windows are the sample type’s range', () => {
  assert.deepEqual(sampleRange(8), { min: 0, max: 255 });
  assert.deepEqual(sampleRange(16), { min: 0, max: 65535 });
  assert.deepEqual(sampleRange(16, 'int'), { min: -32768, max: 32767 });
  assert.deepEqual(sampleRange(32, 'float'), { min: 0, max: 1 });
  const d = defaultDisplay([{ name: 'DAPI', bitsPerSample: 16 }]);
  assert.deepEqual(d, [{ visible: true, color: '#0000ff', min: 0, max: 65535 }]);
});

test('the automatic window takes the quantiles of the valid pixels only', () => {
  // 1000 valid pixels 0…999 ×10; the padded column holds 65535s that must not count.
  const w = 11;
  const h = 100;
  const values: number[] = [];
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) values.push(x === 10 ? 65535 : (y * 10 + x) * 10);
  const plane = u16(w, h, values);
  const win = autoWindow([{ plane, validWidth: 10, validHeight: h }], 0.01, 0.99);
  assert.deepEqual(win, { min: 100, max: 9900 });
  // A flat channel still gets a window around its value.
  assert.deepEqual(autoWindow([{ plane: u16(2, 1, [500, 500]), validWidth: 2, validHeight: 1 }]), { min: 499, max: 501 });
  assert.equal(autoWindow([]), undefined);
  const f: ChannelPlane = { width: 4, height: 1, bitsPerSample: 32, sampleFormat: 'float', data: Float32Array.from([0.1, 0.2, 0.3, Number.NaN]) };
  const fw = autoWindow([{ plane: f, validWidth: 4, validHeight: 1 }], 0, 1);
  assert.ok(fw && Math.abs(fw.min - 0.1) < 1e-6 && Math.abs(fw.max - 0.3) < 1e-6);
});

test('raw planes read as the tile route sends them: little-endian samples with x-tile-* headers', () => {
  const headers = new Headers({
    'x-tile-width': '2',
    'x-tile-height': '1',
    'x-tile-bits-per-sample': '16',
    'x-tile-samples-per-pixel': '1',
    'x-tile-sample-format': 'uint',
    'x-tile-byte-order': 'little-endian',
  });
  const h = parseRawHeader((n) => headers.get(n));
  const bytes = Uint8Array.from([0x34, 0x12, 0xff, 0xff]).buffer;
  const plane = planeFromRaw(bytes, h);
  assert.ok(plane.data instanceof Uint16Array);
  assert.deepEqual(Array.from(plane.data), [0x1234, 0xffff]);
  // Interleaved samples: the plane is the first of each pixel.
  const two = planeFromRaw(Uint8Array.from([1, 0, 2, 0, 3, 0, 4, 0]).buffer, { ...h, samplesPerPixel: 2 });
  assert.deepEqual(Array.from(two.data), [1, 3]);
  const f = planeFromRaw(Float32Array.from([0.5, -2]).buffer, { ...h, bitsPerSample: 32, sampleFormat: 'float' });
  assert.deepEqual(Array.from(f.data), [0.5, -2]);
  assert.throws(() => planeFromRaw(new ArrayBuffer(3), h), /has 3 bytes/);
  assert.throws(() => parseRawHeader((n) => (n === 'x-tile-sample-format' ? 'complex' : '1')), /unknown sample format/);
  assert.throws(() => parseRawHeader((n) => (n === 'x-tile-width' ? null : n === 'x-tile-byte-order' ? null : n === 'x-tile-sample-format' ? 'uint' : '1')), /x-tile-width/);
  assert.throws(() => planeFromRaw(new ArrayBuffer(8), { ...h, bitsPerSample: 12 }), /12-bit uint samples are not supported/);
});

test('an 8-bit plane from a decoded greyscale image is its red sample', () => {
  const p = planeFromRgba(Uint8Array.from([10, 10, 10, 255, 200, 200, 200, 255]), 2, 1);
  assert.deepEqual(Array.from(p.data), [10, 200]);
  assert.equal(p.bitsPerSample, 8);
});
