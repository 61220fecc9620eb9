/**
 * Worker-side helpers for compositing raw channel tiles (fluorescence): the sample range
 * of a tile, and a tile mapped to 8-bit grey through one window for the whole region,
 * so tiles are not each stretched on their own (which shows as seams). Pure.
 */
import type { EncodedTile } from '../formats/types.js';

type RawEncoding = Extract<EncodedTile['encoding'], { kind: 'raw' }>;

function sampler(tile: EncodedTile): { n: number; get: (i: number) => number } {
  const enc = tile.encoding as RawEncoding;
  const n = tile.width * tile.height;
  const b = tile.bytes;
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const spp = enc.samplesPerPixel;
  const bits = enc.bitsPerSample;
  const sf = enc.sampleFormat;
  const get = (p: number): number => {
    const i = p * spp; // sample 0 of pixel p: a channel plane holds one sample per pixel
    if (bits === 8) return sf === 'int' ? dv.getInt8(i) : b[i]!;
    if (bits === 16) return sf === 'int' ? dv.getInt16(i * 2, true) : dv.getUint16(i * 2, true);
    if (sf === 'float') return dv.getFloat32(i * 4, true);
    return sf === 'int' ? dv.getInt32(i * 4, true) : dv.getUint32(i * 4, true);
  };
  const available = Math.floor(b.byteLength / ((bits / 8) * spp));
  return { n: Math.min(n, available), get };
}

/** Min and max of sample 0 over the tile's pixels [x0, x1) × [y0, y1) (the part inside the region and the slide). */
export function rawRange(tile: EncodedTile, x0: number, y0: number, x1: number, y1: number): { min: number; max: number } {
  const { n, get } = sampler(tile);
  let min = Infinity;
  let max = -Infinity;
  for (let y = Math.max(0, y0); y < Math.min(y1, tile.height); y++) {
    for (let x = Math.max(0, x0); x < Math.min(x1, tile.width); x++) {
      const p = y * tile.width + x;
      if (p >= n) break;
      const v = get(p);
      if (v < min) min = v;
      if (v > max) max = v;
    }
  }
  return { min, max };
}

/** Sample 0 mapped to 0–255 through [lo, hi]: one byte per pixel. */
export function rawToGrey(tile: EncodedTile, lo: number, hi: number): { width: number; height: number; data: Uint8Array } {
  const { n, get } = sampler(tile);
  const out = new Uint8Array(tile.width * tile.height);
  const scale = hi > lo ? 255 / (hi - lo) : 0;
  for (let p = 0; p < n; p++) {
    const v = Math.round((get(p) - lo) * scale);
    out[p] = v < 0 ? 0 : v > 255 ? 255 : v;
  }
  return { width: tile.width, height: tile.height, data: out };
}
