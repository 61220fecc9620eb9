/**
 * Decode a non-JPEG TIFF tile or strip to raw samples: decompress, undo the predictor,
 * make 16/32-bit samples little-endian. Pure (bytes in, bytes out) so it can run in a
 * worker thread. Every output size is computed from the tile geometry, never the stream.
 */
import { inflateSync } from 'node:zlib';
import { decompress as zstdDecompress } from 'fzstd';
import { lzwDecode } from './lzw.js';
import { packbitsDecode } from './packbits.js';
import { checkDecode } from '../bounds.js';
import { formatErrors } from '../errors.js';

export interface RawTileSpec {
  compression: number;
  predictor: number;
  width: number;
  height: number;
  samplesPerPixel: number;
  bitsPerSample: 8 | 16 | 32;
  littleEndian: boolean;
}


export function rawTileSize(spec: RawTileSpec): number {
  return spec.width * spec.height * spec.samplesPerPixel * (spec.bitsPerSample / 8);
}

export function decodeRawTile(spec: RawTileSpec, input: Uint8Array): Uint8Array {
  const expected = rawTileSize(spec);
  // Before any allocation: the output size comes from the declared geometry, the input is what is stored.
  checkDecode(spec.width, spec.height, expected, input.length);
  let out: Uint8Array;
  switch (spec.compression) {
    case 1: {
      out = new Uint8Array(expected);
      out.set(input.subarray(0, expected));
      break;
    }
    case 5: out = lzwDecode(input, expected); break;
    case 8: case 32946: {
      try {
        const z = inflateSync(input, { maxOutputLength: expected + 1024 });
        out = new Uint8Array(expected);
        out.set(z.subarray(0, expected));
      } catch (err) {
        throw formatErrors.make('FORMAT_CORRUPT', 'A Deflate-compressed tile could not be decompressed.', { cause: err });
      }
      break;
    }
    case 32773: out = packbitsDecode(input, expected); break;
    case 50000: {
      // fzstd (pure JS): Node 20's zlib has no zstd. Decoding into a buffer of the size the
      // geometry gives caps what a hostile frame header could make it allocate.
      out = new Uint8Array(expected);
      try {
        const z = zstdDecompress(input, out);
        if (z.length < expected) throw new Error(`${z.length} of ${expected} bytes`);
      } catch (err) {
        throw formatErrors.make('FORMAT_CORRUPT', 'A Zstandard-compressed tile could not be decompressed.', { cause: err });
      }
      break;
    }
    default:
      throw formatErrors.make('FORMAT_UNSUPPORTED', `TIFF compression ${spec.compression} is not supported yet.`, {
        details: { format: `tiff-compression-${spec.compression}`, compression: spec.compression },
      });
  }
  const bytes = spec.bitsPerSample / 8;
  if (!spec.littleEndian && bytes > 1) swapBytes(out, bytes);
  if (spec.predictor === 2) undoHorizontalPredictor(out, spec);
  else if (spec.predictor === 3) {
    throw formatErrors.make('FORMAT_UNSUPPORTED', 'The floating-point TIFF predictor is not supported yet.', { details: { format: 'tiff-predictor-3' } });
  }
  return out;
}

function swapBytes(b: Uint8Array, n: number): void {
  for (let i = 0; i + n <= b.length; i += n) {
    for (let a = 0, z = n - 1; a < z; a++, z--) {
      const t = b[i + a]!;
      b[i + a] = b[i + z]!;
      b[i + z] = t;
    }
  }
}

function undoHorizontalPredictor(b: Uint8Array, spec: RawTileSpec): void {
  const spp = spec.samplesPerPixel;
  if (spec.bitsPerSample === 8) {
    for (let y = 0; y < spec.height; y++) {
      const row = y * spec.width * spp;
      for (let i = spp; i < spec.width * spp; i++) b[row + i] = (b[row + i]! + b[row + i - spp]!) & 0xff;
    }
  } else if (spec.bitsPerSample === 16) {
    const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
    for (let y = 0; y < spec.height; y++) {
      const row = y * spec.width * spp * 2;
      for (let i = spp; i < spec.width * spp; i++) {
        v.setUint16(row + i * 2, (v.getUint16(row + i * 2, true) + v.getUint16(row + (i - spp) * 2, true)) & 0xffff, true);
      }
    }
  } else {
    const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
    for (let y = 0; y < spec.height; y++) {
      const row = y * spec.width * spp * 4;
      for (let i = spp; i < spec.width * spp; i++) {
        v.setUint32(row + i * 4, (v.getUint32(row + i * 4, true) + v.getUint32(row + (i - spp) * 4, true)) >>> 0, true);
      }
    }
  }
}
