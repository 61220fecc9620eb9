/**
 * OME-TIFF: the OME-XML in the first ImageDescription says what the directories are.
 * Image 0 is the slide; each channel plane (Z=0, T=0) is a main-chain directory and its
 * SubIFDs are the lower pyramid levels. Interleaved RGB (SamplesPerPixel 3) is brightfield;
 * anything else is fluorescence delivered as raw planes with the channel names and colours.
 */
import { XMLParser } from 'fast-xml-parser';
import { buildLevels, finalizeDescriptor } from './descriptor.js';
import { corrupt } from './errors.js';
import { no, tiffOf, yes, type Detection } from './probe.js';
import { gridOf, type TiffGrid } from './tiff/grid.js';
import { tiffProperties } from './tiff/metadata.js';
import { TiffSlideReader } from './tiff/reader.js';
import type { ChannelInfo, FormatProbe, SlideFormat, SlideReader } from './types.js';

type XmlNode = Record<string, unknown>;

function list(v: unknown): XmlNode[] {
  if (Array.isArray(v)) return v.filter((x): x is XmlNode => typeof x === 'object' && x !== null);
  return typeof v === 'object' && v !== null ? [v as XmlNode] : [];
}

function attr(n: XmlNode | undefined, name: string): string | undefined {
  const v = n?.[`@_${name}`];
  return v === undefined || v === null ? undefined : String(v);
}

function detect(probe: FormatProbe): Detection {
  const tiff = tiffOf(probe);
  if (!tiff) return no('Not a TIFF file');
  const desc = tiff.ifds[0]!.description ?? '';
  if (!/<OME[\s>]/.test(desc)) return no('No OME-XML in the first ImageDescription');
  if (!tiff.ifds[0]!.tiled) return no('OME-TIFF is not tiled');
  return yes;
}

/** OME colours are signed 32-bit RGBA integers. */
function omeColor(v: string | undefined): string | undefined {
  if (v === undefined || !/^-?\d+$/.test(v)) return undefined;
  const rgba = Number(v) >>> 0;
  return `#${(rgba >>> 8).toString(16).padStart(6, '0')}`;
}

const UNIT_TO_UM: Record<string, number> = { 'µm': 1, 'um': 1, 'nm': 1e-3, 'mm': 1e3, 'cm': 1e4, 'm': 1e6, 'Å': 1e-4 };

async function open(probe: FormatProbe): Promise<SlideReader> {
  const tiff = tiffOf(probe)!;
  const first = tiff.ifds[0]!;
  const xml = first.description ?? '';
  let doc: XmlNode;
  try {
    doc = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: '@_', removeNSPrefix: true }).parse(xml) as XmlNode;
  } catch (err) {
    throw corrupt(`the OME-XML metadata cannot be parsed (${err instanceof Error ? err.message : String(err)})`, first.offset);
  }
  const ome = list(doc['OME'])[0];
  const image = list(ome?.['Image'])[0];
  const pixels = list(image?.['Pixels'])[0];
  if (!pixels) throw corrupt('the OME-XML has no Pixels element', first.offset);
  const sizeC = Math.max(1, Number(attr(pixels, 'SizeC') ?? 1) || 1);
  const sizeZ = Math.max(1, Number(attr(pixels, 'SizeZ') ?? 1) || 1);
  const order = attr(pixels, 'DimensionOrder') ?? 'XYCZT';
  const channelsXml = list(pixels['Channel']);
  const spp = first.samplesPerPixel;
  const rgb = spp >= 3;
  const planeCount = rgb ? 1 : Math.min(sizeC, 64);

  // IFD of channel c at Z=0,T=0: DimensionOrder gives the stride of C among planes.
  const cStride = order.indexOf('C') < order.indexOf('Z') ? 1 : sizeZ;
  const tiffData = list(pixels['TiffData']);
  const firstIfd = Number(attr(tiffData[0], 'IFD') ?? 0) || 0;
  const planeIfds = [];
  for (let c = 0; c < planeCount; c++) {
    const ifd = tiff.ifds[firstIfd + c * cStride];
    if (!ifd) throw corrupt(`channel ${c} has no image directory`, first.offset);
    planeIfds.push(ifd);
  }
  // Levels: the plane's directory, then its SubIFDs (all planes must agree).
  const levelCount = Math.min(...planeIfds.map((d) => 1 + d.subIfds.length));
  const levels: TiffGrid[][] = [];
  for (let l = 0; l < levelCount; l++) {
    levels.push(planeIfds.map((d) => gridOf(l === 0 ? d : d.subIfds[l - 1]!)));
  }
  const type = attr(pixels, 'Type') ?? 'uint8';
  const bits = (first.bitsPerSample === 16 ? 16 : first.bitsPerSample === 32 ? 32 : 8) as 8 | 16 | 32;
  const sampleFormat = type.startsWith('int') ? 'int' : type.startsWith('float') ? 'float' : 'uint';
  const channels: ChannelInfo[] = rgb
    ? [{ name: 'RGB', bitsPerSample: 8, sampleFormat: 'uint' }]
    : planeIfds.map((_, c) => {
        const ch = channelsXml[c];
        const color = omeColor(attr(ch, 'Color'));
        return { name: attr(ch, 'Name') ?? `Channel ${c}`, ...(color ? { color } : {}), bitsPerSample: bits, sampleFormat };
      });
  const px = Number(attr(pixels, 'PhysicalSizeX'));
  const py = Number(attr(pixels, 'PhysicalSizeY'));
  const ux = UNIT_TO_UM[attr(pixels, 'PhysicalSizeXUnit') ?? 'µm'] ?? 1;
  const uy = UNIT_TO_UM[attr(pixels, 'PhysicalSizeYUnit') ?? 'µm'] ?? 1;
  const objective = list(list(ome?.['Instrument'])[0]?.['Objective'])[0];
  const mag = Number(attr(objective, 'NominalMagnification'));
  const props = tiffProperties(first);
  props['ome.Image.Name'] = attr(image, 'Name') ?? '';
  props['ome.Pixels.Type'] = type;
  props['ome.Pixels.SizeC'] = String(sizeC);
  const descriptor = finalizeDescriptor({
    format: 'ome-tiff',
    vendor: 'ome-tiff',
    identity: probe.identity,
    levels: buildLevels(levels.map((planes) => planes[0]!)),
    mpp: px > 0 && py > 0 ? { x: px * ux, y: py * uy } : undefined,
    objectivePower: mag > 0 ? mag : undefined,
    pixelKind: rgb ? 'rgb' : 'channels',
    channels,
    associated: [],
    properties: props,
  });
  return new TiffSlideReader(tiff, descriptor, levels, new Map());
}

export const omeTiffFormat: SlideFormat = { name: 'ome-tiff', detect, open };
