/**
 * Generic pyramidal TIFF / BigTIFF: every tiled directory of the main chain is a level
 * (vips, tifffile and bfconvert write them this way), and so are the SubIFDs of the first
 * directory (`vips tiffsave --subifd` and tifffile's `subifds=` put the pyramid there), sorted
 * largest first. MPP comes
 * from the resolution tags when their unit is cm or inch.
 */
import { buildLevels, finalizeDescriptor, sortLevels } from './descriptor.js';
import { no, tiffOf, yes, type Detection } from './probe.js';
import { gridOf } from './tiff/grid.js';
import { mppFromResolution, tiffProperties } from './tiff/metadata.js';
import { TiffSlideReader } from './tiff/reader.js';
import type { FormatProbe, SlideFormat, SlideReader } from './types.js';

function detect(probe: FormatProbe): Detection {
  const tiff = tiffOf(probe);
  if (!tiff) return no('Not a TIFF file');
  if (!tiff.ifds[0]!.tiled) return no('TIFF is not tiled');
  return yes;
}

async function open(probe: FormatProbe): Promise<SlideReader> {
  const tiff = tiffOf(probe)!;
  const first = tiff.ifds[0]!;
  // Levels must share the sample layout of level 0 (a tiled RGB thumbnail beside a gray pyramid is not a level).
  // Only level 0's SubIFDs: another main-chain directory's SubIFDs would be its own pyramid, not this one's.
  const candidates = [...tiff.ifds, ...first.subIfds];
  const same = candidates.filter((d) => d.tiled && d.samplesPerPixel === first.samplesPerPixel && d.bitsPerSample === first.bitsPerSample);
  const grids = sortLevels(same.map(gridOf));
  const spp = first.samplesPerPixel;
  const bits = first.bitsPerSample as 8 | 16 | 32;
  const rgb = spp >= 3;
  const descriptor = finalizeDescriptor({
    format: 'generic-tiff',
    vendor: 'generic-tiff',
    identity: probe.identity,
    levels: buildLevels(grids),
    mpp: mppFromResolution(first),
    objectivePower: undefined,
    pixelKind: rgb ? 'rgb' : 'channels',
    channels: rgb
      ? [{ name: 'RGB', bitsPerSample: 8, sampleFormat: 'uint' }]
      : [{ name: 'Gray', bitsPerSample: bits, sampleFormat: first.sampleFormat === 2 ? 'int' : first.sampleFormat === 3 ? 'float' : 'uint' }],
    associated: [],
    properties: { ...tiffProperties(first), 'tiff.BigTIFF': String(tiff.bigTiff) },
  });
  return new TiffSlideReader(tiff, descriptor, grids.map((g) => [g]), new Map());
}

export const genericTiffFormat: SlideFormat = { name: 'generic-tiff', detect, open };
