/**
 * Any EncodedTile to RGBA pixels, for the CLI `region` command, pixel checks and
 * thumbnails. JPEG goes through jpeg-js (pure JS, so it also runs in a worker thread);
 * raw 8/16-bit samples are scaled to 8 bits by their min/max and composited.
 */
import jpeg from 'jpeg-js';
import { adobeTransform } from '../jpeg/markers.js';
import type { EncodedTile } from '../types.js';
import { MAX_DECODED_TILE_BYTES, MAX_TILE_PIXELS } from '../bounds.js';
import { formatErrors } from '../errors.js';

export interface RgbaImage {
  width: number;
  height: number;
  data: Uint8Array;
}

export async function decodeTileToRgba(tile: EncodedTile): Promise<RgbaImage> {
  const enc = tile.encoding;
  if (enc.kind === 'jpeg') return decodeJpeg(tile.bytes);
  if (enc.kind === 'raw') return rawToRgba(tile.bytes, tile.width, tile.height, enc.samplesPerPixel, enc.bitsPerSample, enc.sampleFormat);
  throw formatErrors.make('FORMAT_UNSUPPORTED', `Decoding ${enc.kind} tiles in the main process is not supported.`, { details: { format: enc.kind } });
}

export function decodeJpeg(bytes: Uint8Array): RgbaImage {
  try {
    // jpeg-js ignores an Adobe transform of 0 unless told (it would apply YCbCr→RGB to RGB data).
    const transform = adobeTransform(bytes);
    const img = jpeg.decode(bytes, {
      useTArray: true,
      formatAsRGBA: true,
      // The decompression bounds (formats/bounds.ts): a JPEG header may claim more than its tile.
      maxResolutionInMP: MAX_TILE_PIXELS / 1e6,
      maxMemoryUsageInMB: (2 * MAX_DECODED_TILE_BYTES) / 2 ** 20,
      ...(transform === 0 ? { colorTransform: false } : {}),
    });
    return { width: img.width, height: img.height, data: img.data };
  } catch (err) {
    throw formatErrors.make('FORMAT_CORRUPT', `A JPEG tile could not be decoded: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  }
}

export function rawToRgba(
  bytes: Uint8Array,
  width: number,
  height: number,
  spp: number,
  bits: 8 | 16 | 32,
  sampleFormat: 'uint' | 'int' | 'float',
): RgbaImage {
  const n = width * height;
  const bpsBytes = bits / 8;
  if (bytes.length < n * spp * bpsBytes) {
    throw formatErrors.make('FORMAT_CORRUPT', `A raw tile holds ${bytes.length} bytes, fewer than ${width}×${height}×${spp} samples.`);
  }
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const sample = (i: number): number => {
    if (bits === 8) return sampleFormat === 'int' ? dv.getInt8(i) : bytes[i]!;
    if (bits === 16) return sampleFormat === 'int' ? dv.getInt16(i * 2, true) : dv.getUint16(i * 2, true);
    if (sampleFormat === 'float') return dv.getFloat32(i * 4, true);
    return sampleFormat === 'int' ? dv.getInt32(i * 4, true) : dv.getUint32(i * 4, true);
  };
  const out = new Uint8Array(n * 4);
  const shown = Math.min(spp, 3);
  for (let c = 0; c < shown; c++) {
    // 8-bit samples are shown as they are; deeper ones are stretched to their own range.
    let lo = 0, hi = 255;
    if (!(bits === 8 && sampleFormat === 'uint')) {
      lo = Infinity; hi = -Infinity;
      for (let p = 0; p < n; p++) {
        const v = sample(p * spp + c);
        if (v < lo) lo = v;
        if (v > hi) hi = v;
      }
      if (!(hi > lo)) hi = lo + 1;
    }
    const scale = 255 / (hi - lo);
    for (let p = 0; p < n; p++) {
      const v = Math.round((sample(p * spp + c) - lo) * scale);
      const b = v < 0 ? 0 : v > 255 ? 255 : v;
      if (spp === 1) { out[p * 4] = b; out[p * 4 + 1] = b; out[p * 4 + 2] = b; }
      else if (spp === 2) out[p * 4 + (c === 0 ? 2 : 1)] = b; // two fluorescence channels: blue + green
      else out[p * 4 + c] = b;
    }
  }
  for (let p = 0; p < n; p++) out[p * 4 + 3] = spp === 4 && bits === 8 ? bytes[p * 4 + 3]! : 255;
  return { width, height, data: out };
}
