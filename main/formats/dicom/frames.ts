/**
 * Where each frame of Pixel Data is. Native data: frame i is at a fixed stride.
 * Encapsulated data: the Extended Offset Table, else the Basic Offset Table (each frame
 * is then read from its first item up to the next frame, and its items are unwrapped in
 * `unwrapItems`), else a scan of the fragment item headers in large chunks.
 */
import type { ByteRange, RangeReader } from '../../sources/types.js';
import { concat } from '../bytes.js';
import { corrupt } from '../errors.js';
import type { PixelDataInfo } from './parser.js';

export interface FrameRanges {
  ranges: ByteRange[];
  /** The ranges hold item headers (BOT path) that `unwrapItems` strips. */
  items: boolean;
}

export interface FrameTable {
  count: number;
  frame(i: number): FrameRanges;
}

const MAX_FRAME_BYTES = 256 << 20;
const SCAN_CHUNK = 1 << 20;

export function nativeFrames(pixel: PixelDataInfo, frameBytes: number, count: number, fileSize: number): FrameTable {
  if (!(frameBytes > 0) || frameBytes > MAX_FRAME_BYTES) throw corrupt(`a frame claims ${frameBytes} bytes`, pixel.offset);
  if (pixel.offset + frameBytes * count > fileSize) throw corrupt('Pixel Data is shorter than its frames', pixel.offset);
  return { count, frame: (i) => ({ ranges: [{ offset: pixel.offset + i * frameBytes, length: frameBytes }], items: false }) };
}

/** Read the offset tables; scan fragments only when neither table is there. */
export async function encapsulatedFrames(
  reader: RangeReader,
  pixel: PixelDataInfo,
  count: number,
  fileSize: number,
  eot: { offsets: number[]; lengths: number[] } | undefined,
  head: Uint8Array,
  signal?: AbortSignal,
): Promise<FrameTable> {
  const botHeader = await bytesAt(reader, head, pixel.offset, 8, signal);
  const dv = new DataView(botHeader.buffer, botHeader.byteOffset, 8);
  if (dv.getUint16(0, true) !== 0xfffe || dv.getUint16(2, true) !== 0xe000) throw corrupt('encapsulated Pixel Data has no offset table item', pixel.offset);
  const botLength = dv.getUint32(4, true);
  if (botLength % 4 !== 0 || pixel.offset + 8 + botLength > fileSize) throw corrupt('the Basic Offset Table is damaged', pixel.offset);
  const base = pixel.offset + 8 + botLength;
  if (eot && eot.offsets.length >= count && eot.lengths.length >= count) {
    return {
      count,
      frame: (i) => {
        const offset = base + eot.offsets[i]! + 8;
        const length = eot.lengths[i]!;
        if (!(length > 0) || length > MAX_FRAME_BYTES || offset + length > fileSize) throw corrupt(`frame ${i} lies outside the file`, offset);
        return { ranges: [{ offset, length }], items: false };
      },
    };
  }
  if (botLength > 0) {
    if (botLength / 4 < count) throw corrupt('the Basic Offset Table lists fewer frames than the image has', pixel.offset);
    const bot = await bytesAt(reader, head, pixel.offset + 8, botLength, signal);
    const bdv = new DataView(bot.buffer, bot.byteOffset, bot.byteLength);
    const starts = Array.from({ length: count }, (_, i) => bdv.getUint32(i * 4, true));
    const end = pixel.length > 0 ? pixel.offset + pixel.length : fileSize;
    return {
      count,
      frame: (i) => {
        const offset = base + starts[i]!;
        const next = i + 1 < count ? base + starts[i + 1]! : end;
        const length = next - offset;
        if (!(length > 8) || length > MAX_FRAME_BYTES || next > fileSize) throw corrupt(`frame ${i} lies outside the file`, offset);
        return { ranges: [{ offset, length }], items: true };
      },
    };
  }
  return scanFragments(reader, base, count, fileSize, signal);
}

async function bytesAt(reader: RangeReader, head: Uint8Array, offset: number, length: number, signal?: AbortSignal): Promise<Uint8Array> {
  if (offset + length <= head.length) return head.subarray(offset, offset + length);
  const { buffers } = await reader.read([{ offset, length }], signal);
  const b = buffers[0];
  if (!b || b.length < length) throw corrupt('the file ends inside Pixel Data', offset);
  return b;
}

async function scanFragments(reader: RangeReader, base: number, count: number, fileSize: number, signal?: AbortSignal): Promise<FrameTable> {
  const fragments: { offset: number; length: number; soi: boolean }[] = [];
  let chunk: Uint8Array = new Uint8Array(0);
  let chunkAt = 0;
  let pos = base;
  const get = async (offset: number, length: number): Promise<Uint8Array | undefined> => {
    if (offset >= chunkAt && offset + length <= chunkAt + chunk.length) return chunk.subarray(offset - chunkAt, offset - chunkAt + length);
    if (offset + length > fileSize) return undefined;
    const { buffers } = await reader.read([{ offset, length: Math.max(length, Math.min(SCAN_CHUNK, fileSize - offset)) }], signal);
    chunk = buffers[0] ?? new Uint8Array(0);
    chunkAt = offset;
    return chunk.length >= length ? chunk.subarray(0, length) : undefined;
  };
  const maxFragments = Math.max(count, 1) * 64;
  while (pos + 8 <= fileSize) {
    const h = await get(pos, 10);
    const hh = h ?? (await get(pos, 8));
    if (!hh) break;
    const dv = new DataView(hh.buffer, hh.byteOffset, 8);
    if (dv.getUint16(0, true) !== 0xfffe) throw corrupt('a Pixel Data fragment is damaged', pos);
    const e = dv.getUint16(2, true);
    if (e === 0xe0dd) break;
    if (e !== 0xe000) throw corrupt('a Pixel Data fragment is damaged', pos);
    const length = dv.getUint32(4, true);
    if (pos + 8 + length > fileSize) throw corrupt('a Pixel Data fragment runs past the end of the file', pos);
    fragments.push({ offset: pos + 8, length, soi: h !== undefined && hh.length >= 10 && hh[8] === 0xff && hh[9] === 0xd8 });
    if (fragments.length > maxFragments) throw corrupt('Pixel Data has too many fragments', pos);
    pos += 8 + length;
  }
  let frames: ByteRange[][];
  if (fragments.length === count) frames = fragments.map((f) => [{ offset: f.offset, length: f.length }]);
  else {
    frames = [];
    for (const f of fragments) {
      if (f.soi || frames.length === 0) frames.push([]);
      frames[frames.length - 1]!.push({ offset: f.offset, length: f.length });
    }
  }
  if (frames.length < count) throw corrupt(`Pixel Data holds ${frames.length} frames, the header says ${count}`, base);
  return { count, frame: (i) => ({ ranges: frames[i]!, items: false }) };
}

/** Strip item headers from a BOT-located frame (one or several fragments). */
export function unwrapItems(bytes: Uint8Array, at: number): Uint8Array {
  const parts: Uint8Array[] = [];
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let p = 0;
  while (p + 8 <= bytes.length) {
    if (dv.getUint16(p, true) !== 0xfffe) throw corrupt('a Pixel Data fragment is damaged', at + p);
    const e = dv.getUint16(p + 2, true);
    if (e === 0xe0dd) break;
    if (e !== 0xe000) throw corrupt('a Pixel Data fragment is damaged', at + p);
    const len = dv.getUint32(p + 4, true);
    if (p + 8 + len > bytes.length) throw corrupt('a Pixel Data fragment runs past its frame', at + p);
    parts.push(bytes.subarray(p + 8, p + 8 + len));
    p += 8 + len;
  }
  if (parts.length === 0) throw corrupt('a frame holds no fragment', at);
  return parts.length === 1 ? parts[0]! : concat(parts);
}
