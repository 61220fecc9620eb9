/**
 * The ZISRAW container (Zeiss CZI): segments of a 32-byte header (16-byte id, allocated
 * and used size) and their data. The file header names where the subblock directory,
 * the XML metadata and the attachment directory are, so an open is the head read plus one
 * batched read of those three, never a walk over the segments. Pure parsing over bytes
 * already read; every count and offset is checked against the file size first.
 */
import type { RangeReader } from '../../sources/types.js';
import { ascii, decodeText } from '../bytes.js';
import { corrupt, unsupported } from '../errors.js';

export const SEGMENT_HEADER = 32;

/** Dimension of a subblock: X/Y in level-0 pixels, the others as plane indices. */
export interface CziDimension {
  start: number;
  size: number;
  storedSize: number;
}

export interface CziSubblockEntry {
  pixelType: number;
  /** Position of the subblock segment (its header) in the file. */
  filePosition: number;
  compression: number;
  pyramidType: number;
  dims: Record<string, CziDimension>;
  /** Size of the entry as stored (it is repeated in the subblock segment). */
  entrySize: number;
  /** Order in the directory (ties of the M index are drawn in this order). */
  index: number;
}

export interface CziAttachmentEntry {
  filePosition: number;
  contentType: string;
  name: string;
}

export interface CziHeader {
  major: number;
  minor: number;
  directoryPosition: number;
  metadataPosition: number;
  attachmentDirectoryPosition: number;
  filePart: number;
}

/** Directory entries beyond this are a lying header (a 100 000-tile slide has ~1 M with all planes). */
const MAX_ENTRIES = 4_000_000;
const MAX_DIMS = 16;
const MAX_XML = 64 << 20;

function view(b: Uint8Array): DataView {
  return new DataView(b.buffer, b.byteOffset, b.byteLength);
}

function i64(dv: DataView, at: number): number {
  const v = dv.getBigInt64(at, true);
  if (v < 0n || v > BigInt(Number.MAX_SAFE_INTEGER)) return -1;
  return Number(v);
}

export function segmentId(bytes: Uint8Array, at = 0): string {
  return ascii(bytes, at, 16).replace(/\0.*$/s, '');
}

export function isCzi(head: Uint8Array): boolean {
  return head.length >= 16 && segmentId(head) === 'ZISRAWFILE';
}

export function parseFileHeader(head: Uint8Array, fileSize: number): CziHeader {
  if (head.length < SEGMENT_HEADER + 80) throw corrupt('the CZI file header is cut short', 0);
  const dv = view(head);
  const d = SEGMENT_HEADER;
  const h: CziHeader = {
    major: dv.getInt32(d, true),
    minor: dv.getInt32(d + 4, true),
    filePart: dv.getInt32(d + 48, true),
    directoryPosition: i64(dv, d + 52),
    metadataPosition: i64(dv, d + 60),
    attachmentDirectoryPosition: i64(dv, d + 72),
  };
  if (h.major !== 1) throw unsupported('zeiss-czi', `This Zeiss CZI file has container version ${h.major}.${h.minor}; only version 1 is known.`, { major: h.major });
  if (h.filePart !== 0) {
    throw unsupported('zeiss-czi-multipart', 'This CZI file is one part of a multi-file CZI; open the first part (the file without a number suffix).', { filePart: h.filePart });
  }
  if (!(h.directoryPosition > 0 && h.directoryPosition < fileSize)) throw corrupt('the CZI subblock directory is outside the file', h.directoryPosition);
  if (h.metadataPosition !== 0 && !(h.metadataPosition > 0 && h.metadataPosition < fileSize)) throw corrupt('the CZI metadata is outside the file', h.metadataPosition);
  if (h.attachmentDirectoryPosition !== 0 && !(h.attachmentDirectoryPosition > 0 && h.attachmentDirectoryPosition < fileSize)) {
    throw corrupt('the CZI attachment directory is outside the file', h.attachmentDirectoryPosition);
  }
  return h;
}

/** The used size a segment header declares, checked against the segment id it must carry. */
export function segmentUsedSize(bytes: Uint8Array, expectedId: string, offset: number, fileSize: number): number {
  if (bytes.length < SEGMENT_HEADER) throw corrupt(`the CZI ${expectedId} segment is cut short`, offset);
  const id = segmentId(bytes);
  if (id !== expectedId) throw corrupt(`expected a ${expectedId} segment, found "${id.replace(/[^\x20-\x7e]/g, '?')}"`, offset);
  const dv = view(bytes);
  const allocated = i64(dv, 16);
  let used = i64(dv, 24);
  if (used === 0) used = allocated; // ZEN writes 0 for "same as allocated" in some versions
  if (!(used > 0) || offset + SEGMENT_HEADER + used > fileSize) throw corrupt(`the CZI ${expectedId} segment claims ${used} bytes`, offset);
  return used;
}

/** Parse a DV directory entry at `at`; returns the entry and its size. */
export function parseEntry(bytes: Uint8Array, at: number, index: number, where: number): CziSubblockEntry {
  if (at + 32 > bytes.length) throw corrupt('a CZI directory entry is cut short', where + at);
  const dv = view(bytes);
  if (ascii(bytes, at, 2) !== 'DV') throw corrupt('a CZI directory entry has no DV schema', where + at);
  const count = dv.getInt32(at + 28, true);
  if (!(count >= 0 && count <= MAX_DIMS)) throw corrupt(`a CZI directory entry claims ${count} dimensions`, where + at);
  const entrySize = 32 + 20 * count;
  if (at + entrySize > bytes.length) throw corrupt('a CZI directory entry is cut short', where + at);
  const dims: Record<string, CziDimension> = {};
  for (let i = 0; i < count; i++) {
    const p = at + 32 + 20 * i;
    const name = ascii(bytes, p, 4).replace(/\0.*$/s, '');
    dims[name] = { start: dv.getInt32(p + 4, true), size: dv.getInt32(p + 8, true), storedSize: dv.getInt32(p + 16, true) };
  }
  return {
    pixelType: dv.getInt32(at + 2, true),
    filePosition: i64(dv, at + 6),
    compression: dv.getInt32(at + 18, true),
    pyramidType: bytes[at + 22]!,
    dims,
    entrySize,
    index,
  };
}

/** ZISRAWDIRECTORY data: entry count, 124 reserved bytes, then the entries. */
export function parseDirectory(segment: Uint8Array, offset: number, fileSize: number): CziSubblockEntry[] {
  const used = segmentUsedSize(segment, 'ZISRAWDIRECTORY', offset, fileSize);
  const data = segment.subarray(SEGMENT_HEADER, SEGMENT_HEADER + used);
  if (data.length < 128) throw corrupt('the CZI subblock directory is cut short', offset);
  const count = view(data).getInt32(0, true);
  if (!(count >= 0 && count <= MAX_ENTRIES) || 128 + count * 32 > data.length) throw corrupt(`the CZI subblock directory claims ${count} entries`, offset);
  const entries: CziSubblockEntry[] = [];
  let at = 128;
  for (let i = 0; i < count; i++) {
    const e = parseEntry(data, at, i, offset + SEGMENT_HEADER);
    if (!(e.filePosition > 0 && e.filePosition + SEGMENT_HEADER < fileSize)) throw corrupt(`CZI subblock ${i} is outside the file`, e.filePosition);
    entries.push(e);
    at += e.entrySize;
  }
  return entries;
}

/** ZISRAWMETADATA data: XML size, attachment size, 248 reserved bytes, then the XML. */
export function parseMetadata(segment: Uint8Array, offset: number, fileSize: number): string {
  const used = segmentUsedSize(segment, 'ZISRAWMETADATA', offset, fileSize);
  const data = segment.subarray(SEGMENT_HEADER, SEGMENT_HEADER + used);
  if (data.length < 256) throw corrupt('the CZI metadata segment is cut short', offset);
  const size = view(data).getInt32(0, true);
  if (!(size >= 0 && size <= MAX_XML && 256 + size <= data.length)) throw corrupt(`the CZI metadata claims ${size} bytes of XML`, offset);
  return decodeText(data.subarray(256, 256 + size));
}

/** ZISRAWATTDIR data: entry count, 252 reserved bytes, then 128-byte A1 entries. */
export function parseAttachmentDirectory(segment: Uint8Array, offset: number, fileSize: number): CziAttachmentEntry[] {
  const used = segmentUsedSize(segment, 'ZISRAWATTDIR', offset, fileSize);
  const data = segment.subarray(SEGMENT_HEADER, SEGMENT_HEADER + used);
  if (data.length < 256) throw corrupt('the CZI attachment directory is cut short', offset);
  const dv = view(data);
  const count = dv.getInt32(0, true);
  if (!(count >= 0 && 256 + count * 128 <= data.length)) throw corrupt(`the CZI attachment directory claims ${count} entries`, offset);
  const out: CziAttachmentEntry[] = [];
  for (let i = 0; i < count; i++) {
    const at = 256 + i * 128;
    const pos = i64(dv, at + 12);
    if (!(pos > 0 && pos < fileSize)) throw corrupt(`CZI attachment ${i} is outside the file`, pos);
    out.push({ filePosition: pos, contentType: ascii(data, at + 40, 8).replace(/\0.*$/s, ''), name: ascii(data, at + 48, 80).replace(/\0.*$/s, '') });
  }
  return out;
}

/**
 * Read a segment whose length is only known from its header: one read of `guess` bytes
 * (most directories and metadata fit), a second only for the rest when it is larger.
 */
export async function readSegment(reader: RangeReader, offset: number, first: Uint8Array, fileSize: number, signal?: AbortSignal): Promise<Uint8Array> {
  if (first.length < SEGMENT_HEADER) throw corrupt('a CZI segment is cut short by the end of the file', offset);
  const used = i64(view(first), 24) || i64(view(first), 16);
  const total = SEGMENT_HEADER + Math.max(0, used);
  if (!(used > 0) || offset + total > fileSize) return first; // the parser names the problem
  if (first.length >= total) return first;
  const { buffers } = await reader.read([{ offset: offset + first.length, length: total - first.length }], signal);
  const rest = buffers[0] ?? new Uint8Array(0);
  const all = new Uint8Array(first.length + rest.length);
  all.set(first, 0);
  all.set(rest, first.length);
  return all;
}
