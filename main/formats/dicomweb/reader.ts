/**
 * A SlideReader over a DICOMweb series. The series metadata (WADO-RS /metadata, read once)
 * lays out the pyramid (series.ts). Tiles are frames: `locateTile` answers the instance
 * and 1-based frame number in `meta` (no byte ranges: frames are not byte ranges of one
 * object). The tile service reads them through its frame scheduler (`frameOf` names the
 * frame, `assembleFrame` turns the archive's part into a tile, main/tiles/frames.ts);
 * `readTiles` fetches the frames of many locations grouped per instance into multi-frame
 * WADO-RS requests, for callers without a scheduler (associated images, tools, tests).
 * `assembleTile` passes JPEG frames through as stored (image/jpeg) and returns native
 * frames raw, the same rules as the Part 10 reader.
 * See docs/decisions/0702-dicomweb-tiles-are-frames.md and 0703-dicomweb-in-the-tile-service.md.
 */
import { throwIfAborted } from '../../common/errors.js';
import type { DicomwebClient } from '../../sources/dicomweb/client.js';
import type { DicomJson } from '../../sources/dicomweb/json.js';
import { DicomwebSeriesSource } from '../../sources/dicomweb/series-source.js';
import type { FrameData, FrameReadResult, FrameSource, ObjectIdentity } from '../../sources/types.js';
import { decodeTileToRgba } from '../codecs/decode.js';
import { buildLevels, finalizeDescriptor } from '../descriptor.js';
import { assembleDicomFrame, frameKind, T, type FrameKind } from '../dicom/image.js';
import { str, tag, TS } from '../dicom/parser.js';
import { corrupt, tileOutOfRange, unsupported } from '../errors.js';
import { RAW_ASSEMBLER, type Jpeg2000AssemblyMeta } from '../codecs/assemble-raw.js';
import type { AssociatedImageName, EncodedTile, SlideDescriptor, SlideReader, TileLocation } from '../types.js';
import { frameOfTile, layoutSeries, type SeriesLayout, type WebInstance } from './series.js';
import { dicomwebErrors } from '../../sources/dicomweb/errors.js';
import { formatErrors } from '../errors.js';

const SeriesDescription = tag(0x0008, 0x103e);

export interface DicomwebTileMeta extends Record<string, unknown> {
  sopInstanceUid: string;
  /** 1-based, as WADO-RS numbers frames. */
  frame: number;
}

export interface ReadTilesResult {
  /** One buffer per location, in order (the frame as the archive stored it). */
  buffers: Uint8Array[];
  requests: number;
  bytes: number;
}

/** Frames of one instance, in the order asked: a DicomwebClient or a FrameSource answers it. */
export type FrameFetch = (sopInstanceUid: string, frames: readonly number[], signal?: AbortSignal) => Promise<FrameReadResult>;

/** Straight over a client (tools and tests); the app opens series through `openDicomwebSource`. */
export async function openDicomwebSeries(client: DicomwebClient, studyInstanceUid: string, seriesInstanceUid: string, signal?: AbortSignal): Promise<DicomwebSlideReader> {
  const metadata = await client.seriesMetadata(studyInstanceUid, seriesInstanceUid, signal);
  const identity: ObjectIdentity = { uri: `dicomweb://${client.root.replace(/^https?:\/\//, '')}/studies/${studyInstanceUid}/series/${seriesInstanceUid}`, size: 0, etag: undefined, lastModified: undefined };
  return readerFromMetadata(metadata, identity, studyInstanceUid, seriesInstanceUid, (sop, frames, s) => client.frames(studyInstanceUid, seriesInstanceUid, sop, frames, s));
}

/**
 * A series source (main/sources/dicomweb/series-source.ts) as a slide: its metadata is the
 * one `stat()` already fetched, if it did, and its version becomes the descriptor's etag.
 */
export async function openDicomwebSource(source: DicomwebSeriesSource, signal?: AbortSignal): Promise<DicomwebSlideReader> {
  const metadata = await source.metadata(signal);
  const identity = await source.stat(signal);
  return readerFromMetadata(metadata, identity, source.study, source.series, (sop, frames, s) => source.readFrames(sop, frames, s));
}

/** The tile service's default opener for frame sources: DICOMweb is the only kind there is. */
export async function openFrameSource(source: FrameSource, options: { signal?: AbortSignal } = {}): Promise<DicomwebSlideReader> {
  if (!(source instanceof DicomwebSeriesSource)) {
    throw unsupported('frame-source', `The slide at ${source.uri} is read frame by frame from a kind of archive this version does not know.`, { uri: source.uri });
  }
  return openDicomwebSource(source, options.signal);
}

function readerFromMetadata(metadata: DicomJson[], identity: ObjectIdentity, studyInstanceUid: string, seriesInstanceUid: string, fetchFrames: FrameFetch): DicomwebSlideReader {
  if (metadata.length === 0) throw dicomwebErrors.make('DICOMWEB_NOT_FOUND', 'The image archive has no instances in this series.', { details: { seriesInstanceUid } });
  const layout = layoutSeries(metadata);
  const ds = layout.top;
  const props: Record<string, string> = { 'openslide.vendor': 'dicom' };
  const setProp = (k: string, v: string | undefined): void => {
    if (v) props[k] = v;
  };
  setProp('dicom.Manufacturer', str(ds, T.Manufacturer));
  setProp('dicom.ManufacturerModelName', str(ds, T.ModelName));
  setProp('dicom.StudyInstanceUID', studyInstanceUid);
  setProp('dicom.SeriesInstanceUID', seriesInstanceUid);
  setProp('dicom.SeriesDescription', str(ds, SeriesDescription));
  setProp('dicom.ContainerIdentifier', str(ds, T.ContainerIdentifier));
  setProp('dicomweb.mpp-source', layout.mppSource);
  const descriptor = finalizeDescriptor({
    format: 'dicomweb',
    vendor: str(ds, T.Manufacturer) || 'dicom',
    identity,
    levels: buildLevels(layout.levels),
    mpp: layout.mpp,
    objectivePower: layout.objectivePower,
    pixelKind: layout.rgb ? 'rgb' : 'channels',
    channels: layout.channels.map((c) => ({ name: c.name, bitsPerSample: c.bits, sampleFormat: 'uint' as const })),
    associated: [...layout.associated].map(([name, i]) => ({ name, width: i.width, height: i.height })),
    properties: props,
  });
  return new DicomwebSlideReader(fetchFrames, descriptor, layout);
}

export class DicomwebSlideReader implements SlideReader {
  readonly descriptor: SlideDescriptor;
  readonly layout: SeriesLayout;
  readonly #fetch: FrameFetch;
  readonly #bySop = new Map<string, WebInstance>();
  /** Transfer syntax per instance as learned from frame answers (metadata rarely has it). */
  readonly #ts = new Map<string, string>();

  constructor(fetchFrames: FrameFetch, descriptor: SlideDescriptor, layout: SeriesLayout) {
    this.#fetch = fetchFrames;
    this.descriptor = descriptor;
    this.layout = layout;
    for (const l of layout.levels) for (const i of l.instances) this.#bySop.set(i.sopInstanceUid, i);
    for (const i of layout.associated.values()) this.#bySop.set(i.sopInstanceUid, i);
  }

  async locateTile(level: number, col: number, row: number, plane: number, signal?: AbortSignal): Promise<TileLocation | null> {
    throwIfAborted(signal);
    const l = this.layout.levels[level];
    const planeId = this.layout.planes[plane];
    if (!l || planeId === undefined || !Number.isInteger(col) || !Number.isInteger(row) || col < 0 || row < 0 || col >= l.columns || row >= l.rows) {
      throw tileOutOfRange(level, col, row, plane);
    }
    const ref = frameOfTile(l, this.layout.rgb ? 0 : plane, planeId, col, row);
    if (!ref) return null;
    const meta: DicomwebTileMeta = { sopInstanceUid: ref.instance.sopInstanceUid, frame: ref.frame };
    return { level, col, row, plane, ranges: [], meta };
  }

  /** Fetch the frames of many tiles: one multi-frame request per instance (split past 64 frames by the client). */
  async readTiles(locations: readonly TileLocation[], signal?: AbortSignal): Promise<ReadTilesResult> {
    const bySop = new Map<string, { index: number; frame: number }[]>();
    locations.forEach((loc, index) => {
      const m = tileMeta(loc);
      bySop.set(m.sopInstanceUid, [...(bySop.get(m.sopInstanceUid) ?? []), { index, frame: m.frame }]);
    });
    const buffers: Uint8Array[] = new Array<Uint8Array>(locations.length);
    let requests = 0;
    let bytes = 0;
    await Promise.all(
      [...bySop].map(async ([sop, wanted]) => {
        // Ask each frame once even when two locations share it.
        const frames = [...new Set(wanted.map((w) => w.frame))];
        const batch = await this.#fetch(sop, frames, signal);
        requests += batch.requests;
        bytes += batch.bytes;
        const byFrame = new Map(frames.map((f, i) => [f, batch.frames[i]!]));
        this.#learnSyntax(sop, batch.frames[0]);
        for (const w of wanted) buffers[w.index] = byFrame.get(w.frame)!.bytes;
      }),
    );
    return { buffers, requests, bytes };
  }

  /** The frame a located tile is (for the tile service's frame scheduler). */
  frameOf(location: TileLocation): { group: string; frame: number } {
    const m = tileMeta(location);
    return { group: m.sopInstanceUid, frame: m.frame };
  }

  /** A tile from the frame as the archive answered it: its part's transfer syntax decides the decoding. */
  async assembleFrame(location: TileLocation, frame: FrameData): Promise<EncodedTile> {
    const m = tileMeta(location);
    this.#learnSyntax(m.sopInstanceUid, frame);
    return this.assembleTile(location, [frame.bytes]);
  }

  /**
   * A JPEG 2000 frame is decoded in the tile service's worker pool, not on the main thread:
   * this is the location that names the pool's assembler (the same one TIFF JPEG 2000 tiles
   * use). Undefined for frames assembled here (JPEG pass-through, native samples).
   */
  frameJob(location: TileLocation, frame: FrameData): TileLocation | undefined {
    const m = tileMeta(location);
    this.#learnSyntax(m.sopInstanceUid, frame);
    const inst = this.#bySop.get(m.sopInstanceUid);
    if (!inst) return undefined;
    let kind: FrameKind;
    try {
      kind = kindOf(this.#ts.get(inst.sopInstanceUid) ?? inst.transferSyntax, frame.bytes, inst);
    } catch {
      return undefined; // assembleFrame reports the unsupported syntax
    }
    if (kind !== 'jpeg2000') return undefined;
    const meta: Jpeg2000AssemblyMeta & DicomwebTileMeta = { ...m, worker: RAW_ASSEMBLER, jpeg2000: { ycbcr: false } };
    return { ...location, meta };
  }

  #learnSyntax(sop: string, frame: FrameData | undefined): void {
    const ts = frame?.transferSyntax ?? mediaTypeSyntax(frame?.mediaType);
    if (ts) this.#ts.set(sop, ts);
  }

  async assembleTile(location: TileLocation, buffers: Uint8Array[]): Promise<EncodedTile> {
    const m = tileMeta(location);
    const inst = this.#bySop.get(m.sopInstanceUid);
    if (!inst) throw tileOutOfRange(location.level, location.col, location.row, location.plane);
    const bytes = buffers[0];
    if (!bytes || bytes.length === 0) throw corrupt(`frame ${m.frame} of instance ${m.sopInstanceUid} is empty`, undefined);
    return assembleDicomFrame(inst, kindOf(this.#ts.get(inst.sopInstanceUid) ?? inst.transferSyntax, bytes, inst), location, bytes);
  }

  async readAssociated(name: AssociatedImageName, signal?: AbortSignal): Promise<EncodedTile> {
    const inst = name === 'macro' ? undefined : this.layout.associated.get(name);
    if (!inst) throw formatErrors.make('FORMAT_NO_ASSOCIATED_IMAGE', `This slide has no ${name} image.`, { details: { name } });
    const locs: TileLocation[] = [];
    for (let r = 0; r < inst.rows; r++) {
      for (let c = 0; c < inst.columns; c++) {
        const index = r * inst.columns + c;
        if (index < inst.frames) locs.push({ level: -1, col: c, row: r, plane: 0, ranges: [], meta: { sopInstanceUid: inst.sopInstanceUid, frame: index + 1 } satisfies DicomwebTileMeta });
      }
    }
    const { buffers } = await this.readTiles(locs, signal);
    if (locs.length === 1) return { ...(await this.assembleTile(locs[0]!, [buffers[0]!])), width: inst.width, height: inst.height };
    if (inst.width * inst.height > 64 << 20) throw corrupt(`the ${name} image claims ${inst.width}×${inst.height} pixels`, undefined);
    const out = new Uint8Array(inst.width * inst.height * 4);
    for (let i = 0; i < locs.length; i++) {
      const loc = locs[i]!;
      const img = await decodeTileToRgba(await this.assembleTile(loc, [buffers[i]!]));
      const x0 = loc.col * inst.tileWidth, y0 = loc.row * inst.tileHeight;
      const w = Math.min(img.width, inst.width - x0), h = Math.min(img.height, inst.height - y0);
      for (let y = 0; y < h; y++) out.set(img.data.subarray(y * img.width * 4, (y * img.width + w) * 4), ((y0 + y) * inst.width + x0) * 4);
    }
    return { level: -1, col: 0, row: 0, plane: 0, width: inst.width, height: inst.height, encoding: { kind: 'raw', bitsPerSample: 8, samplesPerPixel: 4, sampleFormat: 'uint' }, mime: 'application/octet-stream', bytes: out };
  }

  async close(): Promise<void> {
    // Nothing held open: the connections belong to the client's fetch, the source is closed by its owner.
  }
}

function tileMeta(loc: TileLocation): DicomwebTileMeta {
  const sop = loc.meta?.['sopInstanceUid'];
  const frame = loc.meta?.['frame'];
  if (typeof sop !== 'string' || typeof frame !== 'number') throw tileOutOfRange(loc.level, loc.col, loc.row, loc.plane);
  return { sopInstanceUid: sop, frame };
}

function mediaTypeSyntax(mediaType: string | undefined): string | undefined {
  if (mediaType === 'image/jpeg') return TS.JpegBaseline;
  if (mediaType === 'image/jp2' || mediaType === 'image/jpx') return TS.Jpeg2000;
  if (mediaType === 'application/octet-stream') return TS.ExplicitLE;
  return undefined;
}

/** The part's transfer syntax decides; without one (metadata without group 0002, no answer seen yet) the bytes say it. */
function kindOf(ts: string | undefined, bytes: Uint8Array, inst: WebInstance): FrameKind {
  if (ts === undefined) {
    if (bytes[0] === 0xff && bytes[1] === 0xd8) return 'jpeg';
    if (bytes[0] === 0xff && bytes[1] === 0x4f) return 'jpeg2000';
    return 'native';
  }
  return frameKind(ts, { sopInstanceUid: inst.sopInstanceUid });
}
