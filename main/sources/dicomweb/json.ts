/**
 * DICOM JSON (PS3.18 Annex F) as the archive answers it: the wire type and typed reads of
 * the few attributes the client needs (QIDO summaries, the series identity). Reading a
 * dataset as an image is the formats' business (main/formats/dicom/json.ts).
 */

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
