/** Typed access to what `openSlide` shares with every format. */
import { TiffFile } from './tiff/parse.js';
import type { FormatProbe } from './types.js';

export function tiffOf(probe: FormatProbe): TiffFile | undefined {
  return probe.tiff instanceof TiffFile ? probe.tiff : undefined;
}

export type Detection = { ok: true } | { ok: false; reason: string };

export const yes: Detection = { ok: true };
export function no(reason: string): Detection {
  return { ok: false, reason };
}
