/**
 * DICOM JSON (PS3.18 Annex F) → the Part 10 parser's dataset shape, so the DICOM WSI
 * logic and its tag dictionary read DICOMweb metadata the same way as files. The source
 * (main/sources/dicomweb) only fetches the JSON; this is where it is parsed as DICOM.
 */
import type { DicomJson } from '../../sources/dicomweb/json.js';
import type { DicomDataset, DicomElement } from './parser.js';

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
