/**
 * DICOM WSI (VL Whole Slide Microscopy Image, Part 10 files). A series is spread over
 * several files in one folder or prefix: each pyramid level is one instance (or one per
 * optical path), plus LABEL / OVERVIEW / THUMBNAIL instances. The probe's object is read
 * from its head; siblings are opened in parallel and kept when they share the
 * SeriesInstanceUID. JPEG frames pass through; native frames are returned raw.
 */
import { AppError, throwIfAborted } from '../../common/errors.js';
import { decodeTileToRgba } from '../codecs/decode.js';
import { buildLevels, finalizeDescriptor } from '../descriptor.js';
import { corrupt, tileOutOfRange } from '../errors.js';
import { no, yes, type Detection } from '../probe.js';
import type { AssociatedImageName, ChannelInfo, EncodedTile, FormatProbe, SlideFormat, SlideReader, TileLocation } from '../types.js';
import { unwrapItems } from './frames.js';
import { pyramidMpp } from './mpp.js';
import { assembleDicomFrame, frameKind, T, WSI_SOP_CLASS } from './image.js';
import { frameOf, frameTable, readInstance, type DicomInstance } from './instance.js';
import { isDicom, NeedMoreBytes, num, parseDicomHeader, seq, str } from './parser.js';
import { formatErrors } from '../errors.js';

const HEAD_SIZE = 256 << 10;
const MAX_SIBLINGS = 2000;

function detect(probe: FormatProbe): Detection {
  if (!isDicom(probe.head)) return no('No DICM marker at byte 128');
  try {
    const h = parseDicomHeader(probe.head, probe.identity.size);
    const sop = str(h.dataset, T.SOPClassUID);
    if (sop !== WSI_SOP_CLASS && num(h.dataset, T.TotalColumns) === undefined) {
      return no(`DICOM object is not a whole-slide image (SOP class ${sop ?? 'missing'})`);
    }
  } catch (err) {
    if (!(err instanceof NeedMoreBytes)) return yes; // open reports the damage with its offset
  }
  return yes;
}

async function loadSiblings(probe: FormatProbe, main: DicomInstance, signal?: AbortSignal): Promise<DicomInstance[]> {
  if (!probe.siblings) return [];
  const readers = (await probe.siblings()).filter((r) => r.uri !== probe.reader.uri).slice(0, MAX_SIBLINGS);
  const series = str(main.header.dataset, T.SeriesUID);
  const results = await Promise.all(
    readers.map(async (reader) => {
      try {
        const identity = await reader.stat(signal);
        const { buffers } = await reader.read([{ offset: 0, length: Math.min(HEAD_SIZE, identity.size) }], signal);
        const head = buffers[0] ?? new Uint8Array(0);
        if (!isDicom(head)) return undefined;
        const inst = await readInstance(reader, identity, head, signal);
        if (series === undefined || str(inst.header.dataset, T.SeriesUID) !== series) return undefined;
        return inst;
      } catch (err) {
        // A damaged neighbour must not stop the slide from opening; it is left out.
        if (err instanceof AppError && err.code === 'ABORTED') throw err;
        return undefined;
      }
    }),
  );
  const kept = results.filter((i): i is DicomInstance => i !== undefined);
  await Promise.all(readers.filter((r) => !kept.some((k) => k.reader === r)).map((r) => r.close().catch(() => undefined)));
  return kept;
}

async function open(probe: FormatProbe, signal?: AbortSignal): Promise<SlideReader> {
  const main = await readInstance(probe.reader, probe.identity, probe.head, signal);
  const all = [main, ...(await loadSiblings(probe, main, signal))];
  const volumes = all.filter((i) => i.role === 'volume');
  if (volumes.length === 0) throw corrupt('the DICOM series has no pyramid level (VOLUME image)', undefined);
  for (const v of volumes) frameKind(v.header.transferSyntax);
  // Levels: instances of the same size form one level (one instance per optical path, or duplicates).
  const sizes = [...new Set(volumes.map((v) => `${v.width}x${v.height}`))]
    .map((k) => volumes.filter((v) => `${v.width}x${v.height}` === k))
    .sort((a, b) => b[0]!.width * b[0]!.height - a[0]!.width * a[0]!.height);
  const top = sizes[0]![0]!;
  const rgb = top.samplesPerPixel === 3;
  const planeIds = rgb ? [top.opticalPaths[0]!] : [...new Set(sizes[0]!.flatMap((i) => i.opticalPaths))];
  const levels = sizes.map((insts) => ({ insts, geometry: insts[0]! }));
  const ds = top.header.dataset;
  const { mpp } = pyramidMpp(ds, top.width, top.height);
  const opSeq = seq(ds, T.OpticalPathSequence);
  const power = num(opSeq[0], T.ObjectiveLensPower);
  const bits = (top.bitsAllocated === 16 ? 16 : 8) as 8 | 16;
  const channels: ChannelInfo[] = rgb
    ? [{ name: 'RGB', bitsPerSample: 8, sampleFormat: 'uint' }]
    : planeIds.map((id) => {
        const item = opSeq.find((it) => str(it, T.OpticalPathIdentifier) === id);
        const wl = num(item, T.IlluminationWaveLength);
        return { name: str(item, T.OpticalPathDescription) ?? (wl ? `${wl} nm` : `Optical path ${id}`), bitsPerSample: bits, sampleFormat: 'uint' };
      });
  const associated = new Map<AssociatedImageName, DicomInstance>();
  for (const i of all) {
    const name: AssociatedImageName | undefined = i.role === 'label' ? 'label' : i.role === 'overview' ? 'overview' : i.role === 'thumbnail' ? 'thumbnail' : i.role === 'map' ? 'map' : undefined;
    if (name && !associated.has(name)) associated.set(name, i);
  }
  const props: Record<string, string> = { 'openslide.vendor': 'dicom' };
  const setProp = (k: string, v: string | undefined): void => { if (v) props[k] = v; };
  setProp('dicom.Manufacturer', str(ds, T.Manufacturer));
  setProp('dicom.ManufacturerModelName', str(ds, T.ModelName));
  setProp('dicom.StudyInstanceUID', str(ds, T.StudyUID));
  setProp('dicom.SeriesInstanceUID', str(ds, T.SeriesUID));
  setProp('dicom.ContainerIdentifier', str(ds, T.ContainerIdentifier));
  setProp('dicom.TransferSyntaxUID', top.header.transferSyntax);
  const descriptor = finalizeDescriptor({
    format: 'dicom',
    vendor: str(ds, T.Manufacturer) || 'dicom',
    identity: probe.identity,
    levels: buildLevels(levels.map((l) => l.geometry)),
    mpp,
    objectivePower: power !== undefined && power > 0 ? power : undefined,
    pixelKind: rgb ? 'rgb' : 'channels',
    channels,
    associated: [...associated].map(([name, i]) => ({ name, width: i.width, height: i.height })),
    properties: props,
  });
  return new DicomSlideReader(descriptor, levels.map((l) => l.insts), planeIds, associated, all);
}

class DicomSlideReader implements SlideReader {
  readonly descriptor;
  readonly #levels: DicomInstance[][];
  readonly #planes: string[];
  readonly #associated: Map<AssociatedImageName, DicomInstance>;
  readonly #all: DicomInstance[];

  constructor(descriptor: SlideReader['descriptor'], levels: DicomInstance[][], planes: string[], associated: Map<AssociatedImageName, DicomInstance>, all: DicomInstance[]) {
    this.descriptor = descriptor;
    this.#levels = levels;
    this.#planes = planes;
    this.#associated = associated;
    this.#all = all;
  }

  async locateTile(level: number, col: number, row: number, plane: number, signal?: AbortSignal): Promise<TileLocation | null> {
    throwIfAborted(signal);
    const d = this.descriptor.levels[level];
    const id = this.#planes[plane];
    if (!d || id === undefined || col < 0 || row < 0 || col >= d.columns || row >= d.rows || !Number.isInteger(col) || !Number.isInteger(row)) {
      throw tileOutOfRange(level, col, row, plane);
    }
    const insts = this.#levels[level]!;
    const inst = insts.find((i) => i.opticalPaths.includes(id)) ?? insts[0]!;
    const localPlane = inst.samplesPerPixel === 3 ? 0 : Math.max(0, inst.opticalPaths.indexOf(id));
    return locateFrame(inst, level, col, row, plane, localPlane, signal);
  }

  async assembleTile(location: TileLocation, buffers: Uint8Array[]): Promise<EncodedTile> {
    const insts = this.#levels[location.level];
    const inst = insts?.find((i) => i.reader === location.source) ?? insts?.[0];
    if (!inst) throw tileOutOfRange(location.level, location.col, location.row, location.plane);
    return assembleFrame(inst, location, buffers);
  }

  async readAssociated(name: AssociatedImageName, signal?: AbortSignal): Promise<EncodedTile> {
    const inst = this.#associated.get(name);
    if (!inst) throw formatErrors.make('FORMAT_NO_ASSOCIATED_IMAGE', `This slide has no ${name} image.`, { details: { name } });
    frameKind(inst.header.transferSyntax);
    if (inst.columns * inst.rows === 1) {
      const loc = await locateFrame(inst, -1, 0, 0, 0, 0, signal);
      if (!loc) throw corrupt(`the ${name} image has no frame`, undefined);
      const { buffers } = await inst.reader.read(loc.ranges, signal);
      return { ...(await assembleFrame(inst, loc, buffers)), width: inst.width, height: inst.height };
    }
    if (inst.width * inst.height > 64 << 20) throw corrupt(`the ${name} image claims ${inst.width}×${inst.height} pixels`, undefined);
    const out = new Uint8Array(inst.width * inst.height * 4);
    for (let r = 0; r < inst.rows; r++) {
      for (let c = 0; c < inst.columns; c++) {
        const loc = await locateFrame(inst, -1, c, r, 0, 0, signal);
        if (!loc) continue;
        const { buffers } = await inst.reader.read(loc.ranges, signal);
        const img = await decodeTileToRgba(await assembleFrame(inst, loc, buffers));
        const x0 = c * inst.tileWidth, y0 = r * inst.tileHeight;
        const w = Math.min(img.width, inst.width - x0), h = Math.min(img.height, inst.height - y0);
        for (let y = 0; y < h; y++) out.set(img.data.subarray(y * img.width * 4, (y * img.width + w) * 4), ((y0 + y) * inst.width + x0) * 4);
      }
    }
    return { level: -1, col: 0, row: 0, plane: 0, width: inst.width, height: inst.height, encoding: { kind: 'raw', bitsPerSample: 8, samplesPerPixel: 4, sampleFormat: 'uint' }, mime: 'application/octet-stream', bytes: out };
  }

  async close(): Promise<void> {
    await Promise.all(this.#all.map((i) => i.reader.close().catch(() => undefined)));
  }
}

async function locateFrame(inst: DicomInstance, level: number, col: number, row: number, plane: number, localPlane: number, signal?: AbortSignal): Promise<TileLocation | null> {
  const frame = frameOf(inst, localPlane, col, row);
  if (frame === null) return null;
  const table = await frameTable(inst, signal);
  if (frame >= table.count) throw corrupt(`frame ${frame} is beyond the ${table.count} frames of the file`, undefined);
  const f = table.frame(frame);
  return { level, col, row, plane, ranges: f.ranges, source: inst.reader, meta: { frame, items: f.items } };
}

async function assembleFrame(inst: DicomInstance, loc: TileLocation, buffers: Uint8Array[]): Promise<EncodedTile> {
  loc.ranges.forEach((r, i) => {
    if ((buffers[i]?.length ?? 0) < r.length) throw corrupt('a frame is cut short by the end of the file', r.offset);
  });
  const kind = frameKind(inst.header.transferSyntax);
  const bytes = loc.meta?.['items'] === true ? unwrapItems(buffers[0]!, loc.ranges[0]!.offset) : buffers.length === 1 ? buffers[0]! : concatAll(buffers);
  return assembleDicomFrame(inst, kind, loc, bytes);
}

function concatAll(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) { out.set(p, o); o += p.length; }
  return out;
}

export const dicomFormat: SlideFormat = { name: 'dicom', detect, open };
