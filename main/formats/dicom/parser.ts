/**
 * Minimal, bounds-checked DICOM Part 10 reader: the file meta group, then the data set in
 * explicit or implicit VR little endian, with sequences of defined and undefined length,
 * up to Pixel Data. Pixel Data itself is only located (offset, length, encapsulated or
 * native); frames are found by `frames.ts`. Every length is checked against the bytes in
 * hand; nesting depth and element count are capped.
 */
import { ascii } from '../bytes.js';
import { corrupt, unsupported } from '../errors.js';

export const TS = {
  ImplicitLE: '1.2.840.10008.1.2',
  ExplicitLE: '1.2.840.10008.1.2.1',
  DeflatedLE: '1.2.840.10008.1.2.1.99',
  ExplicitBE: '1.2.840.10008.1.2.2',
  JpegBaseline: '1.2.840.10008.1.2.4.50',
  JpegExtended: '1.2.840.10008.1.2.4.51',
  Jpeg2000Lossless: '1.2.840.10008.1.2.4.90',
  Jpeg2000: '1.2.840.10008.1.2.4.91',
  HTJ2KLossless: '3.2.840.10008.1.2.4.201',
} as const;

export type DicomValue = string | number[] | Uint8Array | DicomDataset[];

export interface DicomElement {
  tag: number;
  vr: string;
  /** Offset of the value in the file. */
  offset: number;
  length: number;
  value: DicomValue;
}

export type DicomDataset = Map<number, DicomElement>;

export interface PixelDataInfo {
  /** Offset of the value (first item tag for encapsulated data). */
  offset: number;
  /** Undefined length (encapsulated) is -1. */
  length: number;
  encapsulated: boolean;
}

export interface DicomHeader {
  transferSyntax: string;
  dataset: DicomDataset;
  pixelData: PixelDataInfo | undefined;
}

export const tag = (group: number, element: number): number => group * 0x10000 + element;

const LIMITS = { maxDepth: 12, maxElements: 500_000 } as const;

/** Thrown when the header runs past the bytes in hand; the caller reads more and retries. */
export class NeedMoreBytes extends Error {
  constructor(readonly needed: number) {
    super(`DICOM header needs ${needed} bytes`);
  }
}

export function isDicom(head: Uint8Array): boolean {
  return head.length >= 132 && ascii(head, 128, 4) === 'DICM';
}

const LONG_VRS = new Set(['OB', 'OD', 'OF', 'OL', 'OV', 'OW', 'SQ', 'SV', 'UC', 'UN', 'UR', 'UT', 'UV']);
const STRING_VRS = new Set(['AE', 'AS', 'CS', 'DA', 'DS', 'DT', 'IS', 'LO', 'LT', 'PN', 'SH', 'ST', 'TM', 'UC', 'UI', 'UR', 'UT']);

/** VRs of the tags read from implicit-VR files (there the file does not say). */
const IMPLICIT_VR: Record<number, string> = {
  [tag(0x0028, 0x0002)]: 'US', [tag(0x0028, 0x0006)]: 'US', [tag(0x0028, 0x0010)]: 'US', [tag(0x0028, 0x0011)]: 'US',
  [tag(0x0028, 0x0100)]: 'US', [tag(0x0028, 0x0101)]: 'US', [tag(0x0028, 0x0103)]: 'US',
  [tag(0x0048, 0x0006)]: 'UL', [tag(0x0048, 0x0007)]: 'UL', [tag(0x0048, 0x0302)]: 'UL', [tag(0x0048, 0x0303)]: 'UL',
  [tag(0x0048, 0x021e)]: 'SL', [tag(0x0048, 0x021f)]: 'SL', [tag(0x0020, 0x9228)]: 'UL',
  [tag(0x7fe0, 0x0001)]: 'OV', [tag(0x7fe0, 0x0002)]: 'OV',
  [tag(0x0008, 0x0008)]: 'CS', [tag(0x0008, 0x0016)]: 'UI', [tag(0x0008, 0x0070)]: 'LO', [tag(0x0008, 0x1090)]: 'LO',
  [tag(0x0020, 0x000d)]: 'UI', [tag(0x0020, 0x000e)]: 'UI', [tag(0x0020, 0x9311)]: 'CS', [tag(0x0028, 0x0004)]: 'CS',
  [tag(0x0028, 0x0008)]: 'IS', [tag(0x0028, 0x0030)]: 'DS', [tag(0x0040, 0x0512)]: 'LO', [tag(0x0048, 0x0001)]: 'FL',
  [tag(0x0048, 0x0106)]: 'SH', [tag(0x0048, 0x0107)]: 'ST', [tag(0x0048, 0x0112)]: 'DS', [tag(0x0022, 0x0055)]: 'FL',
};
const IMPLICIT_SQ = new Set([
  tag(0x5200, 0x9229), tag(0x5200, 0x9230), tag(0x0048, 0x021a), tag(0x0028, 0x9110), tag(0x0048, 0x0105),
  tag(0x0048, 0x0207), tag(0x0020, 0x9111), tag(0x0020, 0x9221), tag(0x0020, 0x9222), tag(0x0040, 0x0555),
]);

class Cursor {
  pos: number;
  constructor(readonly b: Uint8Array, readonly dv: DataView, pos: number, readonly fileSize: number) {
    this.pos = pos;
  }
  need(n: number): void {
    if (this.pos + n > this.b.length) {
      if (this.pos + n > this.fileSize) throw corrupt('the DICOM header runs past the end of the file', this.pos);
      throw new NeedMoreBytes(this.pos + n);
    }
  }
  u16(): number { this.need(2); const v = this.dv.getUint16(this.pos, true); this.pos += 2; return v; }
  u32(): number { this.need(4); const v = this.dv.getUint32(this.pos, true); this.pos += 4; return v; }
}

/** Parse a Part 10 header from `bytes` (the file from offset 0). */
export function parseDicomHeader(bytes: Uint8Array, fileSize: number): DicomHeader {
  if (!isDicom(bytes)) throw corrupt('not a DICOM Part 10 file (no DICM marker)', 128);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const c = new Cursor(bytes, dv, 132, fileSize);
  const meta: DicomDataset = new Map();
  // File meta group: explicit VR little endian, always.
  while (true) {
    if (c.pos + 2 > bytes.length) throw new NeedMoreBytes(c.pos + 8);
    if (dv.getUint16(c.pos, true) !== 0x0002) break;
    const el = readElement(c, true, 0, { count: 0 });
    if (!el) break;
    meta.set(el.tag, el);
  }
  const tsEl = meta.get(tag(0x0002, 0x0010))?.value;
  const ts = typeof tsEl === 'string' ? tsEl.replace(/\0/g, '').trim() : TS.ImplicitLE;
  if (ts === TS.ExplicitBE) throw unsupported('dicom-big-endian', 'Big-endian DICOM files are not supported.');
  if (ts === TS.DeflatedLE) throw unsupported('dicom-deflated', 'Deflated DICOM files are not supported yet.');
  const explicit = ts !== TS.ImplicitLE;
  const dataset: DicomDataset = new Map();
  const state = { count: 0, pixelData: undefined as PixelDataInfo | undefined };
  while (c.pos < fileSize) {
    if (c.pos + 4 > bytes.length) {
      if (c.pos + 4 > fileSize) break;
      throw new NeedMoreBytes(c.pos + 8);
    }
    const group = dv.getUint16(c.pos, true);
    const element = dv.getUint16(c.pos + 2, true);
    if (group === 0x7fe0 && element === 0x0010) {
      state.pixelData = readPixelDataHeader(c, explicit);
      break;
    }
    const el = readElement(c, explicit, 0, state);
    if (el) dataset.set(el.tag, el);
  }
  for (const [k, v] of meta) dataset.set(k, v);
  return { transferSyntax: ts, dataset, pixelData: state.pixelData };
}

function readPixelDataHeader(c: Cursor, explicit: boolean): PixelDataInfo {
  c.pos += 4;
  let length: number;
  if (explicit) {
    c.need(4);
    c.pos += 4; // VR + reserved
    length = c.u32();
  } else length = c.u32();
  const undefinedLength = length === 0xffffffff;
  if (!undefinedLength && c.pos + length > c.fileSize) throw corrupt('Pixel Data runs past the end of the file', c.pos);
  return { offset: c.pos, length: undefinedLength ? -1 : length, encapsulated: undefinedLength };
}

function readElement(c: Cursor, explicit: boolean, depth: number, state: { count: number }): DicomElement | undefined {
  if (++state.count > LIMITS.maxElements) throw corrupt('too many DICOM elements', c.pos);
  const start = c.pos;
  const group = c.u16();
  const element = c.u16();
  const t = group * 0x10000 + element;
  let vr: string;
  let length: number;
  if (group === 0xfffe) {
    // Item or delimiter outside a sequence (an odd writer): skip it.
    length = c.u32();
    if (length !== 0xffffffff) {
      if (c.pos + length > c.fileSize) throw corrupt('a stray DICOM item runs past the end of the file', start);
      c.pos += length;
    }
    return undefined;
  }
  if (explicit) {
    c.need(2);
    vr = ascii(c.b, c.pos, 2);
    c.pos += 2;
    if (!/^[A-Z]{2}$/.test(vr)) throw corrupt(`an element has an invalid VR "${vr}"`, start);
    if (LONG_VRS.has(vr)) {
      c.need(2);
      c.pos += 2;
      length = c.u32();
    } else length = c.u16();
  } else {
    length = c.u32();
    vr = IMPLICIT_SQ.has(t) || (length === 0xffffffff && t !== tag(0x7fe0, 0x0010)) ? 'SQ' : (IMPLICIT_VR[t] ?? 'UN');
  }
  if (vr === 'SQ' || (vr === 'UN' && length === 0xffffffff)) {
    const items = readSequence(c, explicit && vr === 'SQ', length, depth + 1, state);
    return { tag: t, vr: 'SQ', offset: start, length, value: items };
  }
  if (length === 0xffffffff) throw corrupt(`element ${t.toString(16)} has an undefined length`, start);
  if (c.pos + length > c.fileSize) throw corrupt(`element ${t.toString(16)} runs past the end of the file`, start);
  c.need(length);
  const offset = c.pos;
  const value = decodeValue(c, vr, length);
  c.pos = offset + length;
  return { tag: t, vr, offset, length, value };
}

function readSequence(c: Cursor, explicit: boolean, length: number, depth: number, state: { count: number }): DicomDataset[] {
  if (depth > LIMITS.maxDepth) throw corrupt('DICOM sequences are nested too deeply', c.pos);
  const items: DicomDataset[] = [];
  const end = length === 0xffffffff ? Infinity : c.pos + length;
  if (end !== Infinity && end > c.fileSize) throw corrupt('a DICOM sequence runs past the end of the file', c.pos);
  while (c.pos < end) {
    const at = c.pos;
    const g = c.u16();
    const e = c.u16();
    const itemLength = c.u32();
    if (g !== 0xfffe) throw corrupt('a DICOM sequence holds something that is not an item', at);
    if (e === 0xe0dd) break; // sequence delimiter
    if (e !== 0xe000) throw corrupt('a DICOM sequence item is damaged', at);
    if (++state.count > LIMITS.maxElements) throw corrupt('too many DICOM elements', at);
    const item: DicomDataset = new Map();
    const itemEnd = itemLength === 0xffffffff ? Infinity : c.pos + itemLength;
    if (itemEnd !== Infinity && itemEnd > c.fileSize) throw corrupt('a DICOM item runs past the end of the file', at);
    while (c.pos < itemEnd) {
      c.need(4);
      if (c.dv.getUint16(c.pos, true) === 0xfffe && c.dv.getUint16(c.pos + 2, true) === 0xe00d) {
        c.pos += 8;
        break;
      }
      const el = readElement(c, explicit, depth, state);
      if (el) item.set(el.tag, el);
    }
    if (itemEnd !== Infinity) c.pos = itemEnd;
    items.push(item);
  }
  if (end !== Infinity) c.pos = end;
  return items;
}

function decodeValue(c: Cursor, vr: string, length: number): DicomValue {
  const at = c.pos;
  if (STRING_VRS.has(vr)) return ascii(c.b, at, length).replace(/[\0 ]+$/, '');
  const nums: number[] = [];
  const step = vr === 'US' || vr === 'SS' ? 2 : vr === 'UL' || vr === 'SL' || vr === 'FL' ? 4 : vr === 'FD' || vr === 'OV' || vr === 'SV' || vr === 'UV' ? 8 : 0;
  if (step === 0 || length > 1 << 20) return c.b.slice(at, at + length);
  for (let p = at; p + step <= at + length; p += step) {
    switch (vr) {
      case 'US': nums.push(c.dv.getUint16(p, true)); break;
      case 'SS': nums.push(c.dv.getInt16(p, true)); break;
      case 'UL': nums.push(c.dv.getUint32(p, true)); break;
      case 'SL': nums.push(c.dv.getInt32(p, true)); break;
      case 'FL': nums.push(c.dv.getFloat32(p, true)); break;
      case 'FD': nums.push(c.dv.getFloat64(p, true)); break;
      case 'SV': nums.push(Number(c.dv.getBigInt64(p, true))); break;
      default: nums.push(Number(c.dv.getBigUint64(p, true)));
    }
  }
  return nums;
}

/** Helpers to read typed values from a dataset. */
export function str(ds: DicomDataset | undefined, t: number): string | undefined {
  const v = ds?.get(t)?.value;
  return typeof v === 'string' ? v : undefined;
}

export function num(ds: DicomDataset | undefined, t: number): number | undefined {
  const el = ds?.get(t);
  if (!el) return undefined;
  const v = el.value;
  if (Array.isArray(v) && typeof v[0] === 'number') return v[0];
  if (typeof v === 'string') {
    const n = Number(v.split('\\')[0]);
    return Number.isFinite(n) ? n : undefined;
  }
  if (v instanceof Uint8Array && v.length >= 2 && el.vr === 'UN') {
    // Implicit VR numbers we have no VR for: US/UL by length.
    const dv = new DataView(v.buffer, v.byteOffset, v.byteLength);
    return v.length === 2 ? dv.getUint16(0, true) : v.length === 4 ? dv.getUint32(0, true) : undefined;
  }
  return undefined;
}

export function nums(ds: DicomDataset | undefined, t: number): number[] | undefined {
  const v = ds?.get(t)?.value;
  if (Array.isArray(v) && (v.length === 0 || typeof v[0] === 'number')) return v as number[];
  if (typeof v === 'string') return v.split('\\').map(Number);
  return undefined;
}

export function seq(ds: DicomDataset | undefined, t: number): DicomDataset[] {
  const v = ds?.get(t)?.value;
  return Array.isArray(v) && v.length > 0 && v[0] instanceof Map ? (v as DicomDataset[]) : [];
}

export function strings(ds: DicomDataset | undefined, t: number): string[] {
  return (str(ds, t) ?? '').split('\\').map((s) => s.trim());
}
