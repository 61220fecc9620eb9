/**
 * Words and numbers for the offline UI, without React or the API (unit-tested under Node):
 * progress percentages, pin states in words, and the "keep down to" choices of a slide.
 */
import type { OpenedSlide, PinInfo } from '../../main/api/contract.js';
import { formatMagnification, magnification } from './viewer/scale.js';

export interface Extent {
  minDownsample: number;
  label: string;
}

/** One choice per distinct level, finest first; labelled by magnification when the slide gives its pixel size. */
export function extentChoices(slide: OpenedSlide): Extent[] {
  const s = slide.summary;
  const seen = new Set<number>();
  const out: Extent[] = [];
  const sorted = [...s.levels].sort((a, b) => a.downsample - b.downsample);
  for (const [i, l] of sorted.entries()) {
    const key = Number(l.downsample.toPrecision(3));
    if (seen.has(key)) continue;
    seen.add(key);
    const mag = magnification(s.mpp?.x, s.objectivePower, 1 / l.downsample);
    const size = `${l.width.toLocaleString('en')} × ${l.height.toLocaleString('en')} px`;
    const label =
      i === 0
        ? `Whole slide at full resolution${mag ? ` (${formatMagnification(mag)})` : ''}`
        : mag
          ? `Down to ${formatMagnification(mag)} (${size})`
          : `Down to ${size}`;
    out.push({ minDownsample: i === 0 ? 1 : l.downsample, label });
  }
  return out;
}

export function pinPercent(p: PinInfo): number {
  if (p.state === 'done') return 100;
  if (p.total <= 0) return 0;
  return Math.min(100, Math.floor((p.done / p.total) * 100));
}

export function pinStateText(p: PinInfo): string {
  switch (p.state) {
    case 'done':
      return 'Available offline';
    case 'running':
      return p.total > 0 ? `Downloading… ${pinPercent(p)} %` : 'Preparing…';
    case 'paused':
      return `Paused at ${pinPercent(p)} %`;
    case 'error':
      return `Stopped at ${pinPercent(p)} %: ${p.error?.message ?? 'an error occurred'}`;
  }
}

/** "down to 10×" when the levels kept stop short of full resolution. */
export function pinExtentText(minDownsample: number | undefined, objectivePower?: number): string {
  if (!minDownsample || minDownsample <= 1) return 'full resolution';
  if (objectivePower) return `down to ${formatMag(objectivePower / minDownsample)}`;
  return `down to 1/${Number(minDownsample.toPrecision(3))} of full resolution`;
}

function formatMag(m: number): string {
  return `${m >= 10 ? Math.round(m) : Number(m.toPrecision(2))}×`;
}
