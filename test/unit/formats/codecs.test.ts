/** Pure codecs: LZW, PackBits, raw-to-RGBA, JPEG surgery. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import jpeg from 'jpeg-js';
import { decodeJpeg, decodeTileToRgba, rawToRgba } from '../../../main/formats/codecs/decode.js';
import { lzwDecode } from '../../../main/formats/codecs/lzw.js';
import { packbitsDecode } from '../../../main/formats/codecs/packbits.js';
import { decodeRawTile } from '../../../main/formats/codecs/raw.js';
import { adobeTransform, markRgb, readJpegHeader, spliceTables } from '../../../main/formats/jpeg/markers.js';

/** TIFF LZW encoder (MSB first, early change) to round-trip the decoder. */
function lzwEncode(data: Uint8Array): Uint8Array {
  const out: number[] = [];
  let acc = 0, nbits = 0;
  let width = 9;
  const put = (code: number): void => {
    acc = (acc << width) | code;
    nbits += width;
    while (nbits >= 8) { out.push((acc >> (nbits - 8)) & 0xff); nbits -= 8; }
    acc &= (1 << nbits) - 1;
  };
  let dict = new Map<string, number>();
  let next = 258;
  put(256);
  let w = '';
  for (const byte of data) {
    const wc = w + String.fromCharCode(byte);
    if (wc.length === 1 || dict.has(wc)) { w = wc; continue; }
    put(w.length === 1 ? w.charCodeAt(0) : dict.get(w)!);
    dict.set(wc, next++);
    if (next + 1 > (1 << width) && width < 12) width++;
    if (next >= 4094) { put(256); dict = new Map(); next = 258; width = 9; }
    w = String.fromCharCode(byte);
  }
  if (w) put(w.length === 1 ? w.charCodeAt(0) : dict.get(w)!);
  put(257);
  if (nbits > 0) out.push((acc << (8 - nbits)) & 0xff);
  return Uint8Array.from(out);
}

describe('codecs', () => {
  it('LZW round-trips repetitive and random data, including dictionary resets', () => {
    const a = new Uint8Array(20000);
    for (let i = 0; i < a.length; i++) a[i] = (i % 37) ^ (i >> 9);
    let seed = 1;
    const b = Uint8Array.from({ length: 30000 }, () => ((seed = (seed * 1103515245 + 12345) >>> 0) >>> 24));
    for (const data of [a, b, Uint8Array.of(7, 7, 7, 7, 7, 7, 7)]) assert.deepEqual(lzwDecode(lzwEncode(data), data.length), data);
  });

  it('LZW on garbage stops without throwing and never writes past the expected size', () => {
    const out = lzwDecode(Uint8Array.from({ length: 500 }, (_, i) => (i * 97) & 0xff), 100);
    assert.equal(out.length, 100);
  });

  it('PackBits decodes the example of the TIFF 6 specification', () => {
    const input = Uint8Array.of(0xfe, 0xaa, 0x02, 0x80, 0x00, 0x2a, 0xfd, 0xaa, 0x03, 0x80, 0x00, 0x2a, 0x22, 0xf7, 0xaa);
    const expected = [0xaa, 0xaa, 0xaa, 0x80, 0x00, 0x2a, 0xaa, 0xaa, 0xaa, 0xaa, 0x80, 0x00, 0x2a, 0x22, ...Array(10).fill(0xaa)];
    assert.deepEqual(Array.from(packbitsDecode(input, expected.length)), expected);
  });

  it('raw tiles: unknown compression is FORMAT_UNSUPPORTED naming it; absurd sizes are refused', () => {
    assert.throws(() => decodeRawTile({ compression: 34887, predictor: 1, width: 4, height: 4, samplesPerPixel: 1, bitsPerSample: 8, littleEndian: true }, new Uint8Array(16)), (e: { code?: string; details?: Record<string, unknown> }) => e.code === 'FORMAT_UNSUPPORTED' && e.details?.['compression'] === 34887);
    assert.throws(() => decodeRawTile({ compression: 1, predictor: 1, width: 1 << 16, height: 1 << 16, samplesPerPixel: 4, bitsPerSample: 16, littleEndian: true }, new Uint8Array(16)), (e: { code?: string }) => e.code === 'FORMAT_TILE_TOO_LARGE');
    // Inside the pixel cap, but 16-bit RGBA past the 256 MiB decoded cap.
    assert.throws(() => decodeRawTile({ compression: 1, predictor: 1, width: 8192, height: 8192, samplesPerPixel: 4, bitsPerSample: 16, littleEndian: true }, new Uint8Array(16)), (e: { code?: string }) => e.code === 'FORMAT_TILE_TOO_LARGE');
    assert.throws(() => decodeRawTile({ compression: 1, predictor: 1, width: 0, height: 4, samplesPerPixel: 1, bitsPerSample: 8, littleEndian: true }, new Uint8Array(16)), (e: { code?: string }) => e.code === 'FORMAT_CORRUPT');
  });

  it('16-bit gray is stretched min→0, max→255', () => {
    const raw = new Uint8Array(8);
    const dv = new DataView(raw.buffer);
    [100, 200, 300, 1100].forEach((v, i) => dv.setUint16(i * 2, v, true));
    const img = rawToRgba(raw, 2, 2, 1, 16, 'uint');
    assert.deepEqual([img.data[0], img.data[4], img.data[12], img.data[15]], [0, 26, 255, 255]);
  });

  it('JPEG tables spliced into an abbreviated tile decode the same as the full JPEG', async () => {
    const w = 32, h = 16;
    const rgba = new Uint8Array(w * h * 4).map((_, i) => (i * 13) & 0xff);
    const full = new Uint8Array(jpeg.encode({ width: w, height: h, data: rgba }, 90).data);
    // Split the full JPEG into tables (SOI DQT DHT EOI) and a tile (SOI + the rest without DQT/DHT).
    const segs: Uint8Array[] = [];
    const rest: Uint8Array[] = [];
    let i = 2;
    while (full[i] === 0xff && full[i + 1] !== 0xda) {
      const len = (full[i + 2]! << 8) | full[i + 3]!;
      const seg = full.subarray(i, i + 2 + len);
      (full[i + 1] === 0xdb || full[i + 1] === 0xc4 ? segs : rest).push(seg);
      i += 2 + len;
    }
    const cat = (parts: Uint8Array[]): Uint8Array => Uint8Array.from(parts.flatMap((p) => [...p]));
    const tables = cat([Uint8Array.of(0xff, 0xd8), ...segs, Uint8Array.of(0xff, 0xd9)]);
    const tile = cat([Uint8Array.of(0xff, 0xd8), ...rest, full.subarray(i)]);
    const spliced = spliceTables(tables, tile);
    assert.deepEqual(decodeJpeg(spliced).data, decodeJpeg(full).data);
    assert.equal(readJpegHeader(spliced).width, w);
  });

  it('the Adobe RGB marker is added once, and makes the decoder skip YCbCr conversion', async () => {
    const rgba = new Uint8Array(8 * 8 * 4).fill(128);
    const j = new Uint8Array(jpeg.encode({ width: 8, height: 8, data: rgba }, 90).data);
    assert.equal(adobeTransform(j), undefined);
    const marked = markRgb(j);
    assert.equal(adobeTransform(marked), 0);
    assert.equal(markRgb(marked).length, marked.length);
    const tile = await decodeTileToRgba({ level: 0, col: 0, row: 0, plane: 0, width: 8, height: 8, encoding: { kind: 'jpeg' }, mime: 'image/jpeg', bytes: marked });
    assert.equal(tile.width, 8);
  });

  it('a damaged JPEG is FORMAT_CORRUPT', () => {
    assert.throws(() => decodeJpeg(Uint8Array.of(0xff, 0xd8, 0xff, 0xc0, 0, 3)), (e: { code?: string }) => e.code === 'FORMAT_CORRUPT');
  });
});
