/**
 * What the CZI XML metadata says that the viewer needs: channel names and display colours
 * (ZEN's display settings first, then the acquisition channel), the pixel size (Scaling,
 * in metres), the objective's magnification and the scene names.
 */
import { XMLParser } from 'fast-xml-parser';
import { corrupt } from '../errors.js';

type XmlNode = Record<string, unknown>;

function list(v: unknown): XmlNode[] {
  if (Array.isArray(v)) return v.filter((x): x is XmlNode => typeof x === 'object' && x !== null);
  return typeof v === 'object' && v !== null ? [v as XmlNode] : [];
}

function at(n: XmlNode | undefined, ...path: string[]): XmlNode | undefined {
  let cur: XmlNode | undefined = n;
  for (const p of path) cur = list(cur?.[p])[0];
  return cur;
}

function text(n: XmlNode | undefined, name: string): string | undefined {
  const v = n?.[name];
  if (v === undefined || v === null) return undefined;
  if (typeof v === 'object') {
    const t = (v as XmlNode)['#text'];
    return t === undefined ? undefined : String(t);
  }
  return String(v);
}

function attr(n: XmlNode | undefined, name: string): string | undefined {
  const v = n?.[`@_${name}`];
  return v === undefined || v === null ? undefined : String(v);
}

export interface CziMetadata {
  channels: { name: string | undefined; color: string | undefined }[];
  /** Microns per pixel. */
  mpp: { x: number; y: number } | undefined;
  objectivePower: number | undefined;
  scenes: string[];
  properties: Record<string, string>;
}

/** ZEN colours are `#AARRGGBB` (or `#RRGGBB`). */
export function cziColor(v: string | undefined): string | undefined {
  const m = /^#?([0-9a-f]{2})?([0-9a-f]{6})$/i.exec(v?.trim() ?? '');
  return m ? `#${m[2]!.toLowerCase()}` : undefined;
}

export function parseCziMetadata(xml: string, offset: number): CziMetadata {
  let doc: XmlNode;
  try {
    doc = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: '@_', removeNSPrefix: true, parseTagValue: false }).parse(xml) as XmlNode;
  } catch (err) {
    throw corrupt(`the CZI XML metadata cannot be parsed (${err instanceof Error ? err.message : String(err)})`, offset);
  }
  const meta = at(doc, 'ImageDocument', 'Metadata');
  const image = at(meta, 'Information', 'Image');
  const acquired = list(at(image, 'Dimensions', 'Channels')?.['Channel']);
  const display = list(at(meta, 'DisplaySetting', 'Channels')?.['Channel']);
  const n = Math.max(acquired.length, display.length);
  const channels = [];
  for (let c = 0; c < n; c++) {
    const a = acquired[c];
    const d = display[c];
    channels.push({
      name: attr(a, 'Name') ?? attr(d, 'Name') ?? text(a, 'Fluor') ?? undefined,
      color: cziColor(text(d, 'Color')) ?? cziColor(text(a, 'Color')),
    });
  }
  const distances = list(at(meta, 'Scaling', 'Items')?.['Distance']);
  const metres = (id: string): number => Number(text(distances.find((d) => attr(d, 'Id') === id), 'Value'));
  const mx = metres('X') * 1e6;
  const my = metres('Y') * 1e6;
  const objective = list(at(meta, 'Information', 'Instrument', 'Objectives')?.['Objective'])[0];
  const mag = Number(text(objective, 'NominalMagnification'));
  const scenes = list(at(image, 'Dimensions', 'S', 'Scenes')?.['Scene']).map((s, i) => attr(s, 'Name') ?? `Scene ${i + 1}`);
  const properties: Record<string, string> = {};
  const put = (k: string, v: string | undefined): void => {
    if (v !== undefined && v !== '') properties[k] = v;
  };
  put('czi.PixelType', text(image, 'PixelType'));
  put('czi.ComponentBitCount', text(image, 'ComponentBitCount'));
  put('czi.AcquisitionDateAndTime', text(image, 'AcquisitionDateAndTime'));
  put('czi.OriginalCompressionMethod', text(image, 'OriginalCompressionMethod'));
  put('czi.Application', [text(at(meta, 'Information', 'Application'), 'Name'), text(at(meta, 'Information', 'Application'), 'Version')].filter(Boolean).join(' '));
  put('czi.Microscope', attr(list(at(meta, 'Information', 'Instrument', 'Microscopes')?.['Microscope'])[0], 'Name'));
  put('czi.Objective', attr(objective, 'Name'));
  return {
    channels,
    mpp: mx > 0 && my > 0 && Number.isFinite(mx) && Number.isFinite(my) ? { x: mx, y: my } : undefined,
    objectivePower: mag > 0 && Number.isFinite(mag) ? mag : undefined,
    scenes,
    properties,
  };
}
