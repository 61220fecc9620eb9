/**
 * Aperio SVS: tiled JPEG (or JPEG 2000) levels in the main IFD chain, then a striped
 * thumbnail and "label"/"macro" images named on the second line of their description.
 * Metadata is `key = value` pairs separated by `|` in the first description.
 * Aperio stores RGB (not YCbCr) samples in its JPEG tiles without saying so in the JPEG;
 * the reader adds the Adobe marker that tells decoders.
 */
import { buildLevels, finalizeDescriptor, sortLevels } from './descriptor.js';
import { no, tiffOf, yes, type Detection } from './probe.js';
import { gridOf, type TiffGrid } from './tiff/grid.js';
import { tiffProperties } from './tiff/metadata.js';
import { TiffSlideReader } from './tiff/reader.js';
import type { AssociatedImageName, FormatProbe, SlideFormat, SlideReader } from './types.js';

export function parseAperioDescription(desc: string): Record<string, string> {
  const props: Record<string, string> = {};
  const parts = desc.split('|');
  for (const part of parts.slice(1)) {
    const eq = part.indexOf('=');
    if (eq <= 0) continue;
    const key = part.slice(0, eq).trim();
    if (key) props[`aperio.${key}`] = part.slice(eq + 1).trim();
  }
  return props;
}

function detect(probe: FormatProbe): Detection {
  const tiff = tiffOf(probe);
  if (!tiff) return no('Not a TIFF file');
  const desc = tiff.ifds[0]!.description;
  if (!desc?.startsWith('Aperio')) return no('Not an Aperio slide (ImageDescription does not start with "Aperio")');
  if (!tiff.ifds[0]!.tiled) return no('Aperio TIFF is not tiled');
  return yes;
}

async function open(probe: FormatProbe): Promise<SlideReader> {
  const tiff = tiffOf(probe)!;
  const first = tiff.ifds[0]!;
  const levelGrids: TiffGrid[] = [];
  const associated = new Map<AssociatedImageName, TiffGrid>();
  for (const ifd of tiff.ifds) {
    if (ifd.tiled) {
      levelGrids.push(gridOf(ifd));
      continue;
    }
    const line2 = (ifd.description ?? '').split('\n')[1] ?? '';
    if (line2.startsWith('label')) associated.set('label', gridOf(ifd));
    else if (line2.startsWith('macro')) associated.set('macro', gridOf(ifd));
    else if (!associated.has('thumbnail') && levelGrids.length > 0) associated.set('thumbnail', gridOf(ifd));
  }
  const grids = sortLevels(levelGrids);
  const levels = buildLevels(grids);
  const props = { ...tiffProperties(first), ...parseAperioDescription(first.description ?? '') };
  const mpp = Number(props['aperio.MPP']);
  const mag = Number(props['aperio.AppMag']);
  const descriptor = finalizeDescriptor({
    format: 'aperio',
    vendor: 'aperio',
    identity: probe.identity,
    levels,
    mpp: mpp > 0 ? { x: mpp, y: mpp } : undefined,
    objectivePower: mag > 0 ? mag : undefined,
    pixelKind: 'rgb',
    channels: [{ name: 'RGB', bitsPerSample: 8, sampleFormat: 'uint' }],
    associated: [...associated].map(([name, g]) => ({ name, width: g.width, height: g.height })),
    properties: props,
  });
  // Aperio's JPEG tiles carry RGB samples whatever the photometric tag says elsewhere.
  return new TiffSlideReader(tiff, descriptor, grids.map((g) => [g]), associated, {
    jpegRgb: (g) => g.ifd.photometric === 2 && g.ifd.samplesPerPixel === 3,
  });
}

export const aperioFormat: SlideFormat = { name: 'aperio', detect, open };
