/**
 * JPEG byte surgery for pass-through tiles: TIFF keeps the quantisation and Huffman
 * tables once per directory (JPEGTables) and each tile holds only its scan; browsers
 * need one complete JPEG. NDPI keeps one JPEG per level, cut here into restart intervals.
 */
import { concat } from '../bytes.js';
import { corrupt } from '../errors.js';

const SOI = 0xd8;
const EOI = 0xd9;

function isMarker(b: Uint8Array, i: number, m: number): boolean {
  return b[i] === 0xff && b[i + 1] === m;
}

/** Insert the tables (SOI … EOI) after the tile's SOI. */
export function spliceTables(tables: Uint8Array | undefined, tile: Uint8Array): Uint8Array {
  if (!tables || tables.length < 4) return tile;
  if (!isMarker(tile, 0, SOI)) throw corrupt('a JPEG tile does not start with a JPEG header', undefined);
  if (!isMarker(tables, 0, SOI)) throw corrupt('the JPEG tables are damaged', undefined);
  const end = isMarker(tables, tables.length - 2, EOI) ? tables.length - 2 : tables.length;
  return concat([tile.subarray(0, 2), tables.subarray(2, end), tile.subarray(2)]);
}

/** True when an APP14 "Adobe" segment appears before the first scan. */
export function hasAdobeMarker(jpeg: Uint8Array): boolean {
  return adobeTransform(jpeg) !== undefined;
}

/** The transform byte of the APP14 "Adobe" segment (0 = no colour transform), if any. */
export function adobeTransform(jpeg: Uint8Array): number | undefined {
  let i = 2;
  while (i + 4 <= jpeg.length) {
    if (jpeg[i] !== 0xff) return undefined;
    const m = jpeg[i + 1]!;
    if (m === 0xda || m === EOI) return undefined;
    if (m === 0xff) { i++; continue; }
    const len = (jpeg[i + 2]! << 8) | jpeg[i + 3]!;
    if (m === 0xee && len >= 12 && jpeg[i + 4] === 0x41 && jpeg[i + 5] === 0x64 && jpeg[i + 6] === 0x6f && jpeg[i + 7] === 0x62 && jpeg[i + 8] === 0x65) {
      return jpeg[i + 2 + len - 1] ?? 0;
    }
    if (len < 2) return undefined;
    i += 2 + len;
  }
  return undefined;
}

/** APP14 Adobe, version 100, transform 0: the three components are RGB, not YCbCr. */
const ADOBE_RGB = Uint8Array.of(0xff, 0xee, 0x00, 0x0e, 0x41, 0x64, 0x6f, 0x62, 0x65, 0x00, 0x64, 0x00, 0x00, 0x00, 0x00, 0x00);

/**
 * Aperio (and some other writers) store RGB samples in JPEG without an Adobe marker;
 * decoders then assume YCbCr and shift colours. Add the marker that says "no transform".
 */
export function markRgb(jpeg: Uint8Array): Uint8Array {
  if (!isMarker(jpeg, 0, SOI) || hasAdobeMarker(jpeg)) return jpeg;
  return concat([jpeg.subarray(0, 2), ADOBE_RGB, jpeg.subarray(2)]);
}

export interface JpegHeaderInfo {
  width: number;
  height: number;
  mcuWidth: number;
  mcuHeight: number;
  restartInterval: number;
  /** Offset of the SOF payload's height field. */
  sofDimsAt: number;
  /** Offset of the first byte of entropy-coded data. */
  scanStart: number;
  components: number;
}

/** Read the markers up to the first scan. */
export function readJpegHeader(jpeg: Uint8Array): JpegHeaderInfo {
  if (!isMarker(jpeg, 0, SOI)) throw corrupt('a JPEG stream does not start with a JPEG header', undefined);
  let i = 2;
  let info: Partial<JpegHeaderInfo> = { restartInterval: 0 };
  while (i + 4 <= jpeg.length) {
    if (jpeg[i] !== 0xff) throw corrupt('a JPEG header is damaged', i);
    const m = jpeg[i + 1]!;
    if (m === 0xff) { i++; continue; }
    if (m >= 0xd0 && m <= 0xd7) { i += 2; continue; }
    const len = (jpeg[i + 2]! << 8) | jpeg[i + 3]!;
    if (len < 2 || i + 2 + len > jpeg.length) throw corrupt('a JPEG segment runs past its end', i);
    const p = i + 4;
    if (m === 0xdd && len >= 4) info.restartInterval = (jpeg[p]! << 8) | jpeg[p + 1]!;
    if ((m >= 0xc0 && m <= 0xc3) || (m >= 0xc5 && m <= 0xc7) || (m >= 0xc9 && m <= 0xcb) || (m >= 0xcd && m <= 0xcf)) {
      if (len < 8) throw corrupt('a JPEG frame header is too short', i);
      const nc = jpeg[p + 5]!;
      if (len < 8 + 3 * nc) throw corrupt('a JPEG frame header is too short', i);
      let hmax = 1, vmax = 1;
      for (let c = 0; c < nc; c++) {
        const f = jpeg[p + 6 + c * 3 + 1]!;
        hmax = Math.max(hmax, f >> 4);
        vmax = Math.max(vmax, f & 15);
      }
      info = { ...info, height: (jpeg[p + 1]! << 8) | jpeg[p + 2]!, width: (jpeg[p + 3]! << 8) | jpeg[p + 4]!, sofDimsAt: p + 1, mcuWidth: 8 * hmax, mcuHeight: 8 * vmax, components: nc };
    }
    if (m === 0xda) {
      if (info.sofDimsAt === undefined) throw corrupt('a JPEG scan comes before its frame header', i);
      return { ...(info as JpegHeaderInfo), scanStart: i + 2 + len };
    }
    i += 2 + len;
  }
  throw corrupt('a JPEG header ends before its scan', i);
}

/**
 * Build one JPEG from a header (SOI … SOS) and whole restart intervals: the frame size is
 * patched, restart markers are renumbered so they run 0..7 in order, and EOI closes it.
 */
export function joinRestartIntervals(header: Uint8Array, info: JpegHeaderInfo, width: number, height: number, segments: Uint8Array[]): Uint8Array {
  const head = header.slice(0, info.scanStart);
  head[info.sofDimsAt] = (height >> 8) & 0xff;
  head[info.sofDimsAt + 1] = height & 0xff;
  head[info.sofDimsAt + 2] = (width >> 8) & 0xff;
  head[info.sofDimsAt + 3] = width & 0xff;
  const parts: Uint8Array[] = [head];
  segments.forEach((seg, k) => {
    let end = seg.length;
    if (end >= 2 && seg[end - 2] === 0xff && (seg[end - 1]! & 0xf8) === 0xd0) end -= 2; // trailing RSTn
    else if (end >= 2 && seg[end - 2] === 0xff && seg[end - 1] === EOI) end -= 2;
    parts.push(seg.subarray(0, end));
    if (k < segments.length - 1) parts.push(Uint8Array.of(0xff, 0xd0 + (k % 8)));
  });
  parts.push(Uint8Array.of(0xff, EOI));
  return concat(parts);
}
