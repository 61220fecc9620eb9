/** TIFF metadata shared by the TIFF-based formats: tiff.* properties and MPP from resolution tags. */
import type { TiffIfd } from './ifd.js';
import { Tag } from './tags.js';

export function tiffProperties(ifd: TiffIfd): Record<string, string> {
  const p: Record<string, string> = {};
  const s = (tag: number, name: string): void => {
    const v = ifd.string(tag);
    if (v !== undefined && v.length > 0) p[`tiff.${name}`] = v;
  };
  s(Tag.ImageDescription, 'ImageDescription');
  s(Tag.Make, 'Make');
  s(Tag.Model, 'Model');
  s(Tag.Software, 'Software');
  s(Tag.DateTime, 'DateTime');
  const x = ifd.number(Tag.XResolution);
  const y = ifd.number(Tag.YResolution);
  if (x !== undefined) p['tiff.XResolution'] = String(x);
  if (y !== undefined) p['tiff.YResolution'] = String(y);
  const unit = ifd.number(Tag.ResolutionUnit);
  if (unit !== undefined) p['tiff.ResolutionUnit'] = unit === 3 ? 'centimeter' : unit === 2 ? 'inch' : 'none';
  return p;
}

/** Microns per pixel from XResolution/YResolution (pixels per unit), when the unit is cm or inch. */
export function mppFromResolution(ifd: TiffIfd): { x: number; y: number } | undefined {
  const unit = ifd.number(Tag.ResolutionUnit, 2);
  const per = unit === 3 ? 10_000 : unit === 2 ? 25_400 : 0;
  const x = ifd.number(Tag.XResolution);
  const y = ifd.number(Tag.YResolution);
  if (!per || !x || !y || !(x > 0) || !(y > 0)) return undefined;
  const mpp = { x: per / x, y: per / y };
  // 72 dpi and friends are screen defaults, not a microscope calibration.
  if (mpp.x > 100 || mpp.y > 100) return undefined;
  return mpp;
}
