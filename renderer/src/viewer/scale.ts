/**
 * Scale bar and magnification from the slide's microns per pixel and the current zoom.
 * Pure functions (unit-tested under Node).
 *
 * Magnification follows the scanner convention that 0.25 µm per pixel is "40×": what a
 * 10× eyepiece shows of a 1 µm/px at 10×. With a known objective power and no mpp, the
 * objective power times the zoom is used instead.
 */

/** µm per screen pixel that corresponds to 1× (so 0.25 µm/px is 40×). */
const MICRONS_AT_1X = 10;

export interface ScaleBar {
  /** Length of the bar in CSS pixels. */
  pixels: number;
  label: string;
}

/** The longest 1-2-5 step length that fits in `maxPixels`. */
export function scaleBar(micronsPerScreenPixel: number, maxPixels = 150): ScaleBar | undefined {
  if (!(micronsPerScreenPixel > 0) || !Number.isFinite(micronsPerScreenPixel)) return undefined;
  const maxMicrons = micronsPerScreenPixel * maxPixels;
  const exp = Math.floor(Math.log10(maxMicrons));
  let best = 0;
  for (const e of [exp - 1, exp]) for (const m of [1, 2, 5]) {
    const v = m * 10 ** e;
    if (v <= maxMicrons * (1 + 1e-9) && v > best) best = v;
  }
  if (best === 0) return undefined;
  return { pixels: best / micronsPerScreenPixel, label: formatLength(best) };
}

export function formatLength(microns: number): string {
  if (microns >= 1000) return `${trim(microns / 1000)} mm`;
  if (microns >= 1) return `${trim(microns)} µm`;
  return `${trim(microns * 1000)} nm`;
}

function trim(v: number): string {
  return String(Number(v.toPrecision(3)));
}

/**
 * Magnification at `screenPixelsPerImagePixel` (level-0 pixels), or undefined when the
 * slide says neither its mpp nor its objective power.
 */
export function magnification(mppX: number | undefined, objectivePower: number | undefined, screenPixelsPerImagePixel: number): number | undefined {
  if (!(screenPixelsPerImagePixel > 0)) return undefined;
  if (mppX && mppX > 0) return (MICRONS_AT_1X / mppX) * screenPixelsPerImagePixel;
  if (objectivePower && objectivePower > 0) return objectivePower * screenPixelsPerImagePixel;
  return undefined;
}

export function formatMagnification(m: number | undefined): string {
  if (m === undefined) return '—';
  if (m >= 10) return `${Math.round(m)}×`;
  return `${Number(m.toPrecision(2))}×`;
}
