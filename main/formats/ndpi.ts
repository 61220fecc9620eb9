/**
 * Hamamatsu NDPI: a TIFF-like file whose IFD links are 64-bit and whose offsets have
 * high bytes in a trailer (parsed by the TIFF core in NDPI mode). Each level is ONE
 * JPEG with restart markers; McuStarts (65426) lists where each restart interval begins.
 * Virtual tiles are cut out of that stream: one column of restart intervals wide and a
 * few MCU rows tall, with a synthesised header (frame size patched, restart markers
 * renumbered). No pixel is decoded. Levels without McuStarts are served whole when small.
 */
import { throwIfAborted } from '../common/errors.js';
import { corrupt, tileOutOfRange, unsupported } from './errors.js';
import { buildLevels, finalizeDescriptor, sortLevels } from './descriptor.js';
import { joinRestartIntervals, readJpegHeader, type JpegHeaderInfo } from './jpeg/markers.js';
import { no, tiffOf, yes, type Detection } from './probe.js';
import { gridOf, type TiffGrid } from './tiff/grid.js';
import type { TiffIfd } from './tiff/ifd.js';
import { mppFromResolution, tiffProperties } from './tiff/metadata.js';
import type { TiffFile } from './tiff/parse.js';
import { TiffSlideReader } from './tiff/reader.js';
import { Tag } from './tiff/tags.js';
import type { AssociatedImageName, EncodedTile, FormatProbe, SlideFormat, SlideReader, TileLocation } from './types.js';
import { formatErrors } from './errors.js';

/** Target pixels of a virtual tile: several restart rows are stacked to get near this. */
const TARGET_TILE_PIXELS = 512 * 512;
/** Largest level served as a single JPEG when it has no restart markers. */
const MAX_WHOLE_LEVEL_PIXELS = 4096 * 4096;
const HEADER_READ = 4096;

interface NdpiLevel {
  ifd: TiffIfd;
  width: number;
  height: number;
  stripOffset: number;
  stripLength: number;
  header: Uint8Array;
  jpeg: JpegHeaderInfo;
  /** 0 when the level is one tile (no usable restart intervals). */
  segmentColumns: number;
  rowsPerTile: number;
  tileWidth: number;
  tileHeight: number;
  starts?: Promise<Float64Array>;
}

function detect(probe: FormatProbe): Detection {
  const tiff = tiffOf(probe);
  if (!tiff) return no('Not a TIFF file');
  if (!tiff.ifds[0]!.has(Tag.NdpiFormatFlag)) return no('Not an NDPI file (no tag 65420)');
  if (!tiff.ndpi) return no('NDPI file was not parsed in NDPI mode');
  return yes;
}

function stripOf(ifd: TiffIfd, size: number): { offset: number; length: number } {
  let offset = ifd.number(Tag.StripOffsets);
  // Files over 4 GiB may also carry the offset's high 32 bits in tag 65324.
  const high = ifd.number(Tag.NdpiOffsetHighBytes, 0);
  if (offset !== undefined && high > 0 && offset < 2 ** 32 && offset + high * 2 ** 32 < size) offset += high * 2 ** 32;
  const length = ifd.number(Tag.StripByteCounts);
  if (ifd.numbers(Tag.StripOffsets)?.length !== 1 && ifd.entries.get(Tag.StripOffsets)?.count !== 1) {
    throw unsupported('ndpi-multistrip', 'NDPI levels stored in several strips are not supported yet.');
  }
  if (offset === undefined || length === undefined || !(length > 0) || offset + length > size) throw corrupt('an NDPI level lies outside the file', offset);
  return { offset, length };
}

async function open(probe: FormatProbe, signal?: AbortSignal): Promise<SlideReader> {
  const tiff = tiffOf(probe)!;
  const first = tiff.ifds[0]!;
  const lens = (d: TiffIfd): number => d.number(Tag.NdpiSourceLens, 0);
  const levelIfds = sortLevels(
    tiff.ifds.filter((d) => lens(d) > 0 && d.number(Tag.NdpiFocalPlane, 0) === 0 && d.compression === 7).map((d) => ({ ifd: d, width: d.width, height: d.height, tileWidth: 1, tileHeight: 1 })),
  ).map((g) => g.ifd);
  if (levelIfds.length === 0) throw corrupt('the NDPI file has no JPEG pyramid level', first.offset);
  const strips = levelIfds.map((d) => stripOf(d, tiff.size));
  // One request for all level headers (SOI … SOS, a few hundred bytes each).
  const { buffers } = await tiff.reader.read(strips.map((s) => ({ offset: s.offset, length: Math.min(HEADER_READ, s.length) })), signal);
  const levels: NdpiLevel[] = levelIfds.map((ifd, i) => {
    const header = buffers[i] ?? new Uint8Array(0);
    const jpeg = readJpegHeader(header);
    if (jpeg.width !== ifd.width || jpeg.height !== ifd.height) {
      // NDPI writes 0 into the JPEG frame of levels wider than 65535; use the TIFF size then.
      if (jpeg.width !== 0 && jpeg.height !== 0) throw corrupt('NDPI level and its JPEG disagree on the size', strips[i]!.offset);
    }
    const mcusPerRow = Math.ceil(ifd.width / jpeg.mcuWidth);
    const ri = jpeg.restartInterval;
    const usable = ri > 0 && ifd.has(Tag.NdpiMcuStarts) && mcusPerRow % ri === 0;
    let segmentColumns = 0, rowsPerTile = 0, tileWidth = ifd.width, tileHeight = ifd.height;
    if (usable) {
      segmentColumns = mcusPerRow / ri;
      tileWidth = ri * jpeg.mcuWidth;
      rowsPerTile = Math.max(1, Math.round(TARGET_TILE_PIXELS / (tileWidth * jpeg.mcuHeight)));
      tileHeight = rowsPerTile * jpeg.mcuHeight;
    } else if (ifd.width * ifd.height > MAX_WHOLE_LEVEL_PIXELS || ifd.width > 65535 || ifd.height > 65535) {
      throw unsupported('ndpi-no-restart-markers', 'This NDPI level has no restart markers to cut tiles from; it is not supported yet.');
    }
    return { ifd, width: ifd.width, height: ifd.height, stripOffset: strips[i]!.offset, stripLength: strips[i]!.length, header, jpeg, segmentColumns, rowsPerTile, tileWidth, tileHeight };
  });
  const associated = new Map<AssociatedImageName, TiffGrid>();
  for (const d of tiff.ifds) {
    if (lens(d) === -1 && !associated.has('macro')) associated.set('macro', gridOf(d));
    if (lens(d) === -2 && !associated.has('map')) associated.set('map', gridOf(d));
  }
  const props = tiffProperties(first);
  const mag = first.number(Tag.NdpiSourceLens);
  if (mag !== undefined) props['hamamatsu.SourceLens'] = String(mag);
  const ref = first.string(Tag.NdpiReference);
  if (ref) props['hamamatsu.Reference'] = ref;
  for (const [tag, name] of [[Tag.NdpiXOffset, 'XOffsetFromSlideCentre'], [Tag.NdpiYOffset, 'YOffsetFromSlideCentre']] as const) {
    const v = first.number(tag);
    if (v !== undefined) props[`hamamatsu.${name}`] = String(v);
  }
  const descriptor = finalizeDescriptor({
    format: 'hamamatsu-ndpi',
    vendor: 'hamamatsu',
    identity: probe.identity,
    levels: buildLevels(levels),
    mpp: mppFromResolution(levels[0]!.ifd),
    objectivePower: mag !== undefined && mag > 0 ? mag : undefined,
    pixelKind: 'rgb',
    channels: [{ name: 'RGB', bitsPerSample: 8, sampleFormat: 'uint' }],
    associated: [...associated].map(([name, g]) => ({ name, width: g.width, height: g.height })),
    properties: props,
  });
  return new NdpiReader(tiff, descriptor, levels, new TiffSlideReader(tiff, descriptor, [], associated));
}

class NdpiReader implements SlideReader {
  readonly descriptor;
  readonly #tiff: TiffFile;
  readonly #levels: NdpiLevel[];
  readonly #associated: TiffSlideReader;

  constructor(tiff: TiffFile, descriptor: TiffSlideReader['descriptor'], levels: NdpiLevel[], associated: TiffSlideReader) {
    this.descriptor = descriptor;
    this.#tiff = tiff;
    this.#levels = levels;
    this.#associated = associated;
  }

  async #starts(l: NdpiLevel, signal?: AbortSignal): Promise<Float64Array> {
    l.starts ??= (async () => {
      const low = await this.#tiff.loadNumbers(l.ifd, Tag.NdpiMcuStarts, signal);
      const high = await this.#tiff.loadNumbers(l.ifd, Tag.NdpiMcuStartsHighBytes, signal);
      if (!low) throw corrupt('NDPI McuStarts is missing', l.ifd.offset);
      const mcuRows = Math.ceil(l.height / l.jpeg.mcuHeight);
      if (low.length < mcuRows * l.segmentColumns) throw corrupt('NDPI McuStarts is shorter than the image', l.ifd.offset);
      const out = new Float64Array(low.length);
      for (let i = 0; i < low.length; i++) {
        out[i] = low[i]! + (high && i < high.length ? high[i]! * 2 ** 32 : 0);
        if (out[i]! >= l.stripLength || (i > 0 && out[i]! < out[i - 1]!)) throw corrupt('NDPI McuStarts is out of order', l.ifd.offset);
      }
      return out;
    })();
    l.starts.catch(() => (l.starts = undefined));
    return l.starts;
  }

  async locateTile(level: number, col: number, row: number, plane: number, signal?: AbortSignal): Promise<TileLocation | null> {
    throwIfAborted(signal);
    const l = this.#levels[level];
    const d = this.descriptor.levels[level];
    if (!l || !d || plane !== 0 || col < 0 || row < 0 || col >= d.columns || row >= d.rows || !Number.isInteger(col) || !Number.isInteger(row)) {
      throw tileOutOfRange(level, col, row, plane);
    }
    if (l.segmentColumns === 0) return { level, col, row, plane, ranges: [{ offset: l.stripOffset, length: l.stripLength }], meta: { whole: true } };
    const starts = await this.#starts(l, signal);
    const mcuRows = Math.ceil(l.height / l.jpeg.mcuHeight);
    const ranges: { offset: number; length: number }[] = [];
    const lengths: number[] = [];
    for (let r = row * l.rowsPerTile; r < Math.min((row + 1) * l.rowsPerTile, mcuRows); r++) {
      const i = r * l.segmentColumns + col;
      const start = starts[i]!;
      const end = i + 1 < starts.length ? starts[i + 1]! : l.stripLength;
      const offset = l.stripOffset + start;
      const length = end - start;
      lengths.push(length);
      const last = ranges[ranges.length - 1];
      if (last && last.offset + last.length === offset) last.length += length;
      else ranges.push({ offset, length });
    }
    return { level, col, row, plane, ranges, meta: { segments: lengths } };
  }

  async assembleTile(location: TileLocation, buffers: Uint8Array[]): Promise<EncodedTile> {
    const l = this.#levels[location.level];
    const d = this.descriptor.levels[location.level];
    if (!l || !d) throw tileOutOfRange(location.level, location.col, location.row, location.plane);
    location.ranges.forEach((r, i) => {
      if ((buffers[i]?.length ?? 0) < r.length) throw corrupt('an NDPI tile is cut short by the end of the file', r.offset);
    });
    const base = { level: location.level, col: location.col, row: location.row, plane: 0, encoding: { kind: 'jpeg' as const }, mime: 'image/jpeg' };
    if (location.meta?.['whole'] === true) return { ...base, width: l.width, height: l.height, bytes: buffers[0]! };
    const lengths = location.meta?.['segments'];
    if (!Array.isArray(lengths)) throw formatErrors.make('FORMAT_BAD_LOCATION', 'NDPI tile location lacks its segment list.');
    const segments: Uint8Array[] = [];
    let bi = 0, at = 0;
    for (const len of lengths as number[]) {
      let buf = buffers[bi]!;
      if (at >= buf.length) { bi++; at = 0; buf = buffers[bi]!; }
      segments.push(buf.subarray(at, at + len));
      at += len;
    }
    const width = Math.min(l.tileWidth, l.width - location.col * l.tileWidth);
    const height = Math.min(l.tileHeight, l.height - location.row * l.tileHeight);
    return { ...base, width, height, bytes: joinRestartIntervals(l.header, l.jpeg, width, height, segments) };
  }

  readAssociated(name: AssociatedImageName, signal?: AbortSignal): Promise<EncodedTile> {
    return this.#associated.readAssociated(name, signal);
  }

  async close(): Promise<void> {
    await this.#tiff.reader.close();
  }
}

export const ndpiFormat: SlideFormat = { name: 'hamamatsu-ndpi', detect, open };
