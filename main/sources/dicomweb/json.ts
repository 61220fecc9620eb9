/**
 * DICOM JSON (PS3.18 Annex F) helpers: typed reads of a QIDO/WADO-RS answer, and the
 * conversion to the Part 10 parser's dataset shape so the DICOM WSI logic and its tag
 * dictionary (main/formats/dicom) read DICOMweb metadata the same way as files.
 */
import type { DicomDataset, DicomElement } from '../../formats/dicom/parser.js';

export interface DicomJsonElement {
  vr?: string;
  Value?: unknown[];
  InlineBinary?: string;
  BulkDataURI?: string;
}
export type DicomJson = Record<string, DicomJsonElement>;

/** Tag key as DICOM JSON writes it: 8 upper-case hex digits. */
export const key = (group: number, element: number): string => ((group << 16) | element).toString(16).toUpperCase().padStart(8, '0');

export function jsonString(ds: DicomJson | undefined, k: string): string | undefined {
  const v = ds?.[k]?.Value?.[0];
  if (v === undefined || v === null) return undefined;
  if (typeof v === 'object') {
    const pn = v as { Alphabetic?: string };
    return pn.Alphabetic;
  }
  return String(v);
}

export function jsonStrings(ds: DicomJson | undefined, k: string): string[] {
  return (ds?.[k]?.Value ?? []).map((v) => (typeof v === 'object' && v !== null ? ((v as { Alphabetic?: string }).Alphabetic ?? '') : String(v)));
}

export function jsonNumber(ds: DicomJson | undefined, k: string): number | undefined {
  const v = ds?.[k]?.Value?.[0];
  const n = typeof v === 'number' ? v : typeof v === 'string' ? Number(v) : NaN;
  return Number.isFinite(n) ? n : undefined;
}

const MAX_DEPTH = 12;

/** DICOM JSON → the Part 10 parser's dataset (values as its `str`/`num`/`seq` helpers expect). */
export function toDataset(ds: DicomJson, depth = 0): DicomDataset {
  const out: DicomDataset = new Map();
  if (depth > MAX_DEPTH) return out;
  for (const [k, el] of Object.entries(ds)) {
    if (!/^[0-9A-Fa-f]{8}$/.test(k) || !el || typeof el !== 'object') continue;
    const tagNum = parseInt(k, 16);
    const vr = el.vr ?? 'UN';
    let value: DicomElement['value'];
    const vals = Array.isArray(el.Value) ? el.Value : [];
    if (vr === 'SQ') value = vals.filter((v): v is DicomJson => typeof v === 'object' && v !== null).map((v) => toDataset(v, depth + 1));
    else if (vals.length > 0 && vals.every((v) => typeof v === 'number')) value = vals as number[];
    else if (vals.length > 0) value = vals.map((v) => (typeof v === 'object' && v !== null ? ((v as { Alphabetic?: string }).Alphabetic ?? '') : String(v ?? ''))).join('\\');
    else if (typeof el.InlineBinary === 'string') value = Uint8Array.from(Buffer.from(el.InlineBinary, 'base64'));
    else continue; // empty: absent, so `num` never reads it as 0
    out.set(tagNum, { tag: tagNum, vr, offset: 0, length: 0, value });
  }
  return out;
}
