/**
 * One viewer tile of a CZI slide, composed from the subblock segments it overlaps: each
 * segment is decoded (uncompressed, or zstd with the optional hi/lo byte packing) and
 * drawn in the directory's order (mosaic index M ascending, as ZEN and libCZI draw, so a
 * later tile covers the overlap of an earlier one). Every output pixel takes the stored
 * pixel under its centre, which at full resolution is a plain copy and below it a nearest-
 * neighbour scaling of the pyramid layer used, with libCZI's rounding (see PHASE). Pure (plain data in, an EncodedTile out)
 * so the tile service runs it in its worker pool.
 */
import { decompress as zstdDecompress } from 'fzstd';
import { corrupt, unsupported } from '../errors.js';
import type { EncodedTile, TileLocation } from '../types.js';
import { SEGMENT_HEADER, segmentId } from './structure.js';
import { formatErrors } from '../errors.js';

/** Names this module to the worker pool (see BUILTIN in main/tiles/worker.ts). */
export const CZI_COMPOSER = { module: 'builtin:czi-compose', export: 'composeCziTile' } as const;

export const enum CziCompression {
  None = 0,
  JpgFile = 1,
  Lzw = 2,
  JpegXr = 4,
  Zstd0 = 5,
  Zstd1 = 6,
}

/** CZI pixel types this reader composes; the others are refused at open with their name. */
export const PIXEL_TYPES: Record<number, { name: string; bytes: number; samples: 1 | 3; bits: 8 | 16 | 32; format: 'uint' | 'float' }> = {
  0: { name: 'Gray8', bytes: 1, samples: 1, bits: 8, format: 'uint' },
  1: { name: 'Gray16', bytes: 2, samples: 1, bits: 16, format: 'uint' },
  2: { name: 'Gray32Float', bytes: 4, samples: 1, bits: 32, format: 'float' },
  3: { name: 'Bgr24', bytes: 3, samples: 3, bits: 8, format: 'uint' },
  4: { name: 'Bgr48', bytes: 6, samples: 3, bits: 16, format: 'uint' },
};

export const PIXEL_TYPE_NAMES: Record<number, string> = {
  0: 'Gray8', 1: 'Gray16', 2: 'Gray32Float', 3: 'Bgr24', 4: 'Bgr48', 8: 'Bgr96Float', 9: 'Bgra32', 10: 'Gray64ComplexFloat', 11: 'Bgr192ComplexFloat', 12: 'Gray32', 13: 'Gray64',
};

export const COMPRESSION_NAMES: Record<number, string> = { 0: 'uncompressed', 1: 'JPEG', 2: 'LZW', 4: 'JPEG XR', 5: 'zstd', 6: 'zstd (with byte packing)' };

/** Refuse, in words, a subblock compression that `decodeSubblock` cannot handle. */
export function checkCompression(compression: number): void {
  if (compression === CziCompression.None || compression === CziCompression.Zstd0 || compression === CziCompression.Zstd1) return;
  if (compression === CziCompression.JpegXr) {
    throw unsupported('zeiss-czi-jpegxr', 'This Zeiss CZI slide is compressed with JPEG XR, which the workstation cannot decode yet (no maintained JPEG XR decoder exists for it).', { compression });
  }
  const name = COMPRESSION_NAMES[compression] ?? `code ${compression}`;
  throw unsupported(`zeiss-czi-compression-${compression}`, `This Zeiss CZI slide uses ${name} compression, which the workstation cannot decode yet.`, { compression });
}

/** One subblock drawn into the tile: its rectangle in level-0 pixels and its stored size. */
export interface CziBlock {
  x: number;
  y: number;
  w: number;
  h: number;
  storedW: number;
  storedH: number;
  compression: number;
  pixelType: number;
}

export interface CziTileSpec {
  /** The tile's top-left in level-0 pixels, and level-0 pixels per output pixel. */
  x0: number;
  y0: number;
  scale: number;
  width: number;
  height: number;
  pixelType: number;
  /** In drawing order; `location.ranges[i]` holds the segment of `blocks[i]`. */
  blocks: CziBlock[];
}

export interface CziAssemblyMeta {
  worker: typeof CZI_COMPOSER;
  czi: CziTileSpec;
}

/** A decoded subblock beyond this is a lying header. */
/**
 * Nearest-neighbour rules measured against libCZI (pylibCZIrw 6.1, identical on both test
 * files at every level): an output pixel belongs to a block when the point just before its
 * centre is inside it (libCZI rounds a block's scaled left edge half down), a scaled block
 * also covers the pixel its right/bottom edge falls on, and the stored pixel drawn is the
 * one under the output pixel's top-left corner.
 */
const PHASE = 0.49;
const MAX_BLOCK_BYTES = 512 << 20;

/** The pixel data of a ZISRAWSUBBLOCK segment: after the header, the 256-byte (or longer) entry block and the metadata. */
export function subblockData(segment: Uint8Array, offset: number): Uint8Array {
  if (segment.length < SEGMENT_HEADER + 16 + 32) throw corrupt('a CZI subblock is cut short', offset);
  if (segmentId(segment) !== 'ZISRAWSUBBLOCK') throw corrupt(`expected a subblock segment, found "${segmentId(segment).replace(/[^\x20-\x7e]/g, '?')}"`, offset);
  const dv = new DataView(segment.buffer, segment.byteOffset, segment.byteLength);
  const metadataSize = dv.getInt32(SEGMENT_HEADER, true);
  const dataSize = Number(dv.getBigInt64(SEGMENT_HEADER + 8, true));
  const dims = dv.getInt32(SEGMENT_HEADER + 16 + 28, true);
  if (!(dims >= 0 && dims <= 16)) throw corrupt(`a CZI subblock claims ${dims} dimensions`, offset);
  const entrySize = 32 + 20 * dims;
  const start = SEGMENT_HEADER + Math.max(256, 16 + entrySize) + metadataSize;
  if (!(metadataSize >= 0) || !(dataSize >= 0) || start + dataSize > segment.length) throw corrupt('a CZI subblock is cut short by the end of the file', offset);
  return segment.subarray(start, start + dataSize);
}

/** Stored pixels of one subblock, row-major, `storedW × bytes` per row. */
export function decodeSubblock(block: CziBlock, data: Uint8Array, offset: number): Uint8Array {
  const px = PIXEL_TYPES[block.pixelType];
  if (!px) throw unsupported('zeiss-czi-pixel-type', `CZI pixel type ${PIXEL_TYPE_NAMES[block.pixelType] ?? block.pixelType} is not supported yet.`);
  const expected = block.storedW * block.storedH * px.bytes;
  if (!(block.storedW > 0 && block.storedH > 0) || expected > MAX_BLOCK_BYTES) throw corrupt(`a CZI subblock claims ${block.storedW}×${block.storedH} pixels`, offset);
  let pixels: Uint8Array;
  if (block.compression === CziCompression.None) {
    pixels = data;
  } else if (block.compression === CziCompression.Zstd0 || block.compression === CziCompression.Zstd1) {
    let payload = data;
    let hiLo = false;
    if (block.compression === CziCompression.Zstd1) {
      // Header: its own size, then (type 1) a byte whose bit 0 says hi/lo byte packing.
      const size = data[0] ?? 0;
      if (size < 1 || size > data.length) throw corrupt('a zstd CZI subblock has a damaged header', offset);
      for (let i = 1; i + 1 < size; i += 2) if (data[i] === 1) hiLo = (data[i + 1]! & 1) === 1;
      payload = data.subarray(size);
    }
    pixels = inflateZstd(payload, expected, offset);
    if (hiLo) pixels = unpackHiLo(pixels);
  } else {
    checkCompression(block.compression);
    throw corrupt('unreachable compression', offset);
  }
  if (pixels.length < expected) throw corrupt(`a CZI subblock holds ${pixels.length} of ${expected} bytes`, offset);
  return pixels;
}

function inflateZstd(payload: Uint8Array, expected: number, offset: number): Uint8Array {
  try {
    // A fixed output buffer bounds memory whatever the stream claims.
    return zstdDecompress(payload, new Uint8Array(expected));
  } catch (err) {
    throw corrupt(`a zstd CZI subblock cannot be decompressed (${err instanceof Error ? err.message : String(err)})`, offset);
  }
}

/** Zeiss' byte packing for 16-bit samples: all low bytes first, then all high bytes. */
export function unpackHiLo(packed: Uint8Array): Uint8Array {
  const half = packed.length >> 1;
  const out = new Uint8Array(half * 2);
  for (let i = 0; i < half; i++) {
    out[2 * i] = packed[i]!;
    out[2 * i + 1] = packed[half + i]!;
  }
  return out;
}

export function composeCziTile(location: TileLocation, buffers: Uint8Array[]): EncodedTile {
  const spec = (location.meta as Partial<CziAssemblyMeta> | undefined)?.czi;
  if (!spec || !Array.isArray(spec.blocks) || spec.blocks.length !== location.ranges.length) {
    throw formatErrors.make('TILE_ASSEMBLY_INVALID', 'A tile was sent for decoding without the description of how to decode it.', {
      details: { level: location.level, col: location.col, row: location.row },
    });
  }
  const px = PIXEL_TYPES[spec.pixelType];
  if (!px) throw unsupported('zeiss-czi-pixel-type', `CZI pixel type ${PIXEL_TYPE_NAMES[spec.pixelType] ?? spec.pixelType} is not supported yet.`);
  const { width, height, scale, x0, y0 } = spec;
  const bpp = px.bytes;
  const out = new Uint8Array(width * height * bpp);
  const sx = new Int32Array(width);
  for (let i = 0; i < spec.blocks.length; i++) {
    const b = spec.blocks[i]!;
    const range = location.ranges[i]!;
    const segment = buffers[i];
    if (!segment) throw corrupt('a CZI subblock read returned nothing', range.offset);
    if (b.pixelType !== spec.pixelType) throw corrupt('CZI subblocks of one plane have different pixel types', range.offset);
    const stored = decodeSubblock(b, subblockData(segment, range.offset), range.offset);
    const rowBytes = b.storedW * bpp;
    // Output columns whose centre falls in the block, and the stored column under each.
    let cFirst = -1;
    let cLast = -1;
    for (let ox = 0; ox < width; ox++) {
      const cx = x0 + (ox + PHASE) * scale;
      if (cx < b.x || (scale === 1 ? cx >= b.x + b.w : x0 + ox * scale > b.x + b.w)) continue;
      if (cFirst < 0) cFirst = ox;
      cLast = ox;
      sx[ox] = Math.max(0, Math.min(b.storedW - 1, Math.floor(((x0 + ox * scale - b.x) * b.storedW) / b.w)));
    }
    if (cFirst < 0) continue;
    for (let oy = 0; oy < height; oy++) {
      const cy = y0 + (oy + PHASE) * scale;
      if (cy < b.y || (scale === 1 ? cy >= b.y + b.h : y0 + oy * scale > b.y + b.h)) continue;
      const syRow = Math.max(0, Math.min(b.storedH - 1, Math.floor(((y0 + oy * scale - b.y) * b.storedH) / b.h))) * rowBytes;
      const dstRow = oy * width * bpp;
      if (scale === 1 && b.storedW === b.w) {
        const s = syRow + sx[cFirst]! * bpp;
        out.set(stored.subarray(s, s + (cLast - cFirst + 1) * bpp), dstRow + cFirst * bpp);
        continue;
      }
      for (let ox = cFirst; ox <= cLast; ox++) {
        const s = syRow + sx[ox]! * bpp;
        const d = dstRow + ox * bpp;
        for (let k = 0; k < bpp; k++) out[d + k] = stored[s + k]!;
      }
    }
  }
  if (px.samples === 3) bgrToRgb(out, px.bits / 8);
  return {
    level: location.level, col: location.col, row: location.row, plane: location.plane, width, height,
    encoding: { kind: 'raw', bitsPerSample: px.bits, samplesPerPixel: px.samples, sampleFormat: px.format },
    mime: 'application/octet-stream',
    bytes: out,
  };
}

/** CZI stores colour as B, G, R; the tile contract is R, G, B. */
function bgrToRgb(data: Uint8Array, sampleBytes: number): void {
  const step = 3 * sampleBytes;
  for (let p = 0; p + step <= data.length; p += step) {
    for (let k = 0; k < sampleBytes; k++) {
      const t = data[p + k]!;
      data[p + k] = data[p + 2 * sampleBytes + k]!;
      data[p + 2 * sampleBytes + k] = t;
    }
  }
}
