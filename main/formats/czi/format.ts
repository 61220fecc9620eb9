/**
 * Zeiss CZI (ZISRAW) as a slide: the bounding box of every scene at the first Z and T,
 * one plane per channel (C), its pyramid levels from the downscaled subblocks the file
 * holds (ZEN's pyramid layers) plus halvings down to one viewer tile. Viewer tiles are a
 * fixed grid over that box; each is composed from the subblocks it overlaps (mosaic tiles
 * overlap and are not on a grid), found through the subblock directory, and read as the
 * subblocks' whole segments so one range per subblock, coalesced with its neighbours by
 * the scheduler, is the only read a tile costs.
 *
 * Open: the head read (file header, and on small files the directory too), then one
 * batched read of the directory, metadata and attachment directory, and one more for what
 * did not fit (long XML) and the associated images' headers.
 */
import { throwIfAborted } from '../../common/errors.js';
import type { ByteRange, RangeReader } from '../../sources/types.js';
import { finalizeDescriptor, buildLevels } from '../descriptor.js';
import { corrupt, tileOutOfRange, unsupported } from '../errors.js';
import { no, yes, type Detection } from '../probe.js';
import type { AssociatedImageInfo, AssociatedImageName, ChannelInfo, EncodedTile, FormatProbe, SlideFormat, SlideReader, TileLocation } from '../types.js';
import { checkCompression, composeCziTile, CZI_COMPOSER, PIXEL_TYPE_NAMES, PIXEL_TYPES, type CziAssemblyMeta, type CziBlock, type CziTileSpec } from './compose.js';
import { parseCziMetadata } from './metadata.js';
import { formatErrors } from '../errors.js';
import {
  isCzi, parseAttachmentDirectory, parseDirectory, parseFileHeader, parseMetadata, SEGMENT_HEADER, segmentId, type CziAttachmentEntry, type CziSubblockEntry,
} from './structure.js';

/** Viewer tile size: 512 keeps a 2-core machine's composition cheap and a viewport at ~12 tiles. */
export const CZI_TILE = 512;
/** First guess for a segment read at open; ZEN's XML is often larger and costs one more read. */
const GUESS = 256 << 10;

interface Placed {
  entry: CziSubblockEntry;
  block: CziBlock;
  /** The whole segment: from its header to the next segment. */
  range: ByteRange;
  /** Pyramid layer (level-0 pixels per stored pixel, rounded). */
  factor: number;
  plane: number;
  m: number;
}

interface Attachment {
  name: AssociatedImageName;
  kind: 'jpeg' | 'png' | 'czi';
  width: number;
  height: number;
  range: ByteRange;
}

function detect(probe: FormatProbe): Detection {
  return isCzi(probe.head) ? yes : no('No ZISRAWFILE segment at the start of the file');
}

/** Bytes of [offset, offset+length) from the head or from one batched read. */
async function readMany(reader: RangeReader, head: Uint8Array, ranges: ByteRange[], size: number, signal?: AbortSignal): Promise<Uint8Array[]> {
  const clipped = ranges.map((r) => ({ offset: r.offset, length: Math.max(0, Math.min(r.length, size - r.offset)) }));
  const out: (Uint8Array | undefined)[] = clipped.map((r) => (r.offset + r.length <= head.length ? head.subarray(r.offset, r.offset + r.length) : undefined));
  const missing = clipped.map((r, i) => ({ r, i })).filter((x) => out[x.i] === undefined);
  if (missing.length > 0) {
    const { buffers } = await reader.read(missing.map((x) => x.r), signal);
    missing.forEach((x, k) => (out[x.i] = buffers[k] ?? new Uint8Array(0)));
  }
  return out.map((b) => b!);
}

function usedSize(first: Uint8Array): number {
  if (first.length < SEGMENT_HEADER) return 0;
  const dv = new DataView(first.buffer, first.byteOffset, first.byteLength);
  const used = Number(dv.getBigInt64(24, true)) || Number(dv.getBigInt64(16, true));
  return Number.isSafeInteger(used) && used > 0 ? used : 0;
}

function joinBytes(a: Uint8Array, b: Uint8Array): Uint8Array {
  const all = new Uint8Array(a.length + b.length);
  all.set(a, 0);
  all.set(b, a.length);
  return all;
}

const ASSOCIATED: Record<string, AssociatedImageName> = { label: 'label', slidepreview: 'macro', thumbnail: 'thumbnail', overview: 'overview' };

async function open(probe: FormatProbe, signal?: AbortSignal): Promise<SlideReader> {
  const { reader, head, identity } = probe;
  const size = identity.size;
  const header = parseFileHeader(head, size);
  const positions = [header.directoryPosition, header.metadataPosition, header.attachmentDirectoryPosition];
  // A segment whose header is in the head is read to its exact end; others by a guess.
  const wanted = positions.map((p) => {
    if (!(p > 0)) return { offset: p, length: 0 };
    if (p + SEGMENT_HEADER <= head.length) {
      const used = usedSize(head.subarray(p, p + SEGMENT_HEADER));
      if (used > 0) return { offset: p, length: SEGMENT_HEADER + used };
    }
    return { offset: p, length: GUESS };
  });
  let [dirBytes, metaBytes, attBytes] = await readMany(reader, head, wanted, size, signal);
  // Second batch: the rest of whatever segment was longer than the guess.
  const parts = [dirBytes!, metaBytes!, attBytes!];
  const rest = parts.map((b, i) => {
    const total = SEGMENT_HEADER + usedSize(b);
    return positions[i]! > 0 && total > b.length && positions[i]! + total <= size ? { offset: positions[i]! + b.length, length: total - b.length } : { offset: 0, length: 0 };
  });
  if (rest.some((r) => r.length > 0)) {
    const more = await readMany(reader, new Uint8Array(0), rest.filter((r) => r.length > 0), size, signal);
    let k = 0;
    rest.forEach((r, i) => {
      if (r.length > 0) parts[i] = joinBytes(parts[i]!, more[k++]!);
    });
  }
  [dirBytes, metaBytes, attBytes] = parts;
  throwIfAborted(signal);
  const entries = parseDirectory(dirBytes!, header.directoryPosition, size);
  const xml = header.metadataPosition > 0 ? parseMetadata(metaBytes!, header.metadataPosition, size) : '';
  const meta = xml ? parseCziMetadata(xml, header.metadataPosition) : { channels: [], mpp: undefined, objectivePower: undefined, scenes: [], properties: {} };
  const attachments = header.attachmentDirectoryPosition > 0 ? parseAttachmentDirectory(attBytes!, header.attachmentDirectoryPosition, size) : [];
  if (entries.length === 0) throw corrupt('the CZI file has no image data (its subblock directory is empty)', header.directoryPosition);

  // Segment extents: each runs to the next known segment (or the end of the file).
  const starts = [...new Set([...entries.map((e) => e.filePosition), ...positions.filter((p) => p > 0), ...attachments.map((a) => a.filePosition), size])].sort((a, b) => a - b);
  const extent = (pos: number): ByteRange => {
    let lo = 0;
    let hi = starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (starts[mid]! <= pos) lo = mid + 1;
      else hi = mid;
    }
    return { offset: pos, length: starts[lo]! - pos };
  };

  // The first Z, T and every other extra dimension: a slide shows one plane per channel.
  const first: Record<string, number> = {};
  for (const e of entries) {
    for (const [k, d] of Object.entries(e.dims)) {
      if ('XYCSM'.includes(k) && k.length === 1) continue;
      first[k] = Math.min(first[k] ?? Infinity, d.start);
    }
  }
  const chosen = entries.filter((e) => Object.entries(e.dims).every(([k, d]) => first[k] === undefined || d.start === first[k]));
  const cStarts = [...new Set(chosen.map((e) => e.dims['C']?.start ?? 0))].sort((a, b) => a - b);
  if (cStarts.length > 64) throw unsupported('zeiss-czi-channels', `This CZI slide has ${cStarts.length} channels; at most 64 are shown.`);
  const pixelType = chosen[0]!.pixelType;
  if (!PIXEL_TYPES[pixelType]) {
    throw unsupported('zeiss-czi-pixel-type', `This Zeiss CZI slide stores ${PIXEL_TYPE_NAMES[pixelType] ?? `pixel type ${pixelType}`} pixels, which the workstation cannot show yet.`, { pixelType });
  }
  if (chosen.some((e) => e.pixelType !== pixelType)) throw unsupported('zeiss-czi-mixed-pixel-types', 'The channels of this Zeiss CZI slide have different pixel types, which the workstation cannot show yet.');
  for (const e of chosen) checkCompression(e.compression);

  let minX = Infinity, minY = Infinity, maxX = -Infinity, maxY = -Infinity;
  const placed: Placed[] = chosen.map((e) => {
    const x = e.dims['X'];
    const y = e.dims['Y'];
    if (!x || !y || !(x.size > 0 && y.size > 0 && x.storedSize > 0 && y.storedSize > 0) || x.storedSize > x.size * 1.01 + 1) {
      throw corrupt(`CZI subblock ${e.index} has an impossible size`, e.filePosition);
    }
    minX = Math.min(minX, x.start); minY = Math.min(minY, y.start);
    maxX = Math.max(maxX, x.start + x.size); maxY = Math.max(maxY, y.start + y.size);
    return {
      entry: e,
      block: { x: x.start, y: y.start, w: x.size, h: y.size, storedW: x.storedSize, storedH: y.storedSize, compression: e.compression, pixelType: e.pixelType },
      range: extent(e.filePosition),
      factor: Math.round((x.size / x.storedSize) * 100) / 100,
      plane: cStarts.indexOf(e.dims['C']?.start ?? 0),
      m: e.dims['M']?.start ?? -1,
    };
  });
  for (const p of placed) {
    p.block = { ...p.block, x: p.block.x - minX, y: p.block.y - minY };
  }
  const width = maxX - minX;
  const height = maxY - minY;
  // Pyramid layers present, finest first, merging factors within 5% (ZEN rounds stored sizes).
  const layers: number[] = [];
  for (const f of [...new Set(placed.map((p) => p.factor))].sort((a, b) => a - b)) {
    if (layers.length === 0 || f > layers[layers.length - 1]! * 1.05) layers.push(f);
  }
  for (const p of placed) p.factor = layers.reduce((best, l) => (Math.abs(l - p.factor) < Math.abs(best - p.factor) ? l : best), layers[0]!);
  if (layers[0]! > 1.05) throw corrupt('the CZI file has no full-resolution subblocks', header.directoryPosition);
  const factors = [...layers];
  factors[0] = 1;
  while (Math.max(width, height) / factors[factors.length - 1]! > CZI_TILE) factors.push(factors[factors.length - 1]! * 2);
  const geoms = factors.map((f) => ({
    width: Math.max(1, Math.ceil(width / f)), height: Math.max(1, Math.ceil(height / f)), tileWidth: CZI_TILE, tileHeight: CZI_TILE,
  }));
  const levels = buildLevels(geoms);
  // Each level draws the coarsest stored layer that is still at least as fine as itself.
  const layerOf = levels.map((_, li) => layers.filter((f) => f <= factors[li]! * 1.05).pop() ?? layers[0]!);
  const byLevelPlane = levels.map((_, li) => cStarts.map((_, c) => placed
    .filter((p) => p.factor === layerOf[li] && p.plane === c)
    .sort((a, b) => a.m - b.m || a.entry.index - b.entry.index)));

  const px = PIXEL_TYPES[pixelType]!;
  const rgb = px.samples === 3;
  const channels: ChannelInfo[] = rgb
    ? [{ name: 'RGB', bitsPerSample: px.bits === 16 ? 16 : 8, sampleFormat: 'uint' }]
    : cStarts.map((cs, i) => {
        const m = meta.channels[cs] ?? meta.channels[i];
        return { name: m?.name ?? `Channel ${i + 1}`, ...(m?.color ? { color: m.color } : {}), bitsPerSample: px.bits, sampleFormat: px.format };
      });

  // Associated images: JPEG/PNG attachments by their size in their header; embedded CZI by its directory.
  const assoc: Attachment[] = [];
  const heads = await readMany(reader, head, attachments.map((a) => extent(a.filePosition)), size, signal);
  attachments.forEach((a, i) => {
    const name = ASSOCIATED[a.name.toLowerCase()];
    if (!name || assoc.some((x) => x.name === name)) return;
    const bytes = heads[i]!;
    const data = attachmentData(bytes, a);
    if (!data) return;
    const dims = imageSize(data, a.contentType);
    if (dims) assoc.push({ name, ...dims, range: extent(a.filePosition) });
  });

  const scenes = new Map<number, { x0: number; y0: number; x1: number; y1: number }>();
  for (const p of placed) {
    const s = p.entry.dims['S']?.start;
    if (s === undefined) continue;
    const r = scenes.get(s) ?? { x0: Infinity, y0: Infinity, x1: -Infinity, y1: -Infinity };
    r.x0 = Math.min(r.x0, p.block.x); r.y0 = Math.min(r.y0, p.block.y);
    r.x1 = Math.max(r.x1, p.block.x + p.block.w); r.y1 = Math.max(r.y1, p.block.y + p.block.h);
    scenes.set(s, r);
  }
  const properties: Record<string, string> = { ...meta.properties };
  properties['czi.Version'] = `${header.major}.${header.minor}`;
  properties['czi.Origin'] = `${minX},${minY}`;
  properties['czi.SubblockCount'] = String(entries.length);
  properties['czi.PyramidLayers'] = layers.join(',');
  properties['czi.SceneCount'] = String(scenes.size);
  [...scenes.entries()].sort((a, b) => a[0] - b[0]).forEach(([s, r], i) => {
    properties[`czi.scene[${i}].name`] = meta.scenes[s] ?? `Scene ${s + 1}`;
    properties[`czi.scene[${i}].bounds`] = `${r.x0},${r.y0},${r.x1 - r.x0},${r.y1 - r.y0}`;
  });
  for (const [k, v] of Object.entries(first)) properties[`czi.plane.${k}`] = String(v);

  const descriptor = finalizeDescriptor({
    format: 'zeiss-czi',
    vendor: 'zeiss',
    identity,
    levels,
    mpp: meta.mpp,
    objectivePower: meta.objectivePower,
    pixelKind: rgb ? 'rgb' : 'channels',
    channels,
    associated: assoc.map((a): AssociatedImageInfo => ({ name: a.name, width: a.width, height: a.height })),
    properties,
  });
  return new CziSlideReader(reader, descriptor, byLevelPlane, factors, pixelType, assoc);
}

/** ZISRAWATTACH: data size, 12 reserved bytes, the 128-byte entry, 112 reserved, then the data. */
function attachmentData(segment: Uint8Array, a: CziAttachmentEntry): Uint8Array | undefined {
  if (segment.length < SEGMENT_HEADER + 256 || segmentId(segment) !== 'ZISRAWATTACH') return undefined;
  const n = new DataView(segment.buffer, segment.byteOffset, segment.byteLength).getInt32(SEGMENT_HEADER, true);
  if (!(n > 0) || SEGMENT_HEADER + 256 + n > segment.length) throw corrupt(`the CZI attachment "${a.name}" is cut short`, a.filePosition);
  return segment.subarray(SEGMENT_HEADER + 256, SEGMENT_HEADER + 256 + n);
}

function imageSize(data: Uint8Array, type: string): { kind: Attachment['kind']; width: number; height: number } | undefined {
  if (type === 'JPG' && data[0] === 0xff && data[1] === 0xd8) {
    let p = 2;
    while (p + 9 < data.length && data[p] === 0xff) {
      const marker = data[p + 1]!;
      const len = (data[p + 2]! << 8) | data[p + 3]!;
      if (marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc) {
        return { kind: 'jpeg', height: (data[p + 5]! << 8) | data[p + 6]!, width: (data[p + 7]! << 8) | data[p + 8]! };
      }
      p += 2 + len;
    }
    return undefined;
  }
  if (type === 'PNG' && data.length >= 24 && data[1] === 0x50) {
    const dv = new DataView(data.buffer, data.byteOffset, data.byteLength);
    return { kind: 'png', width: dv.getUint32(16), height: dv.getUint32(20) };
  }
  if (type === 'CZI' && isCzi(data)) {
    try {
      const h = parseFileHeader(data, data.length);
      const dir = parseDirectory(data.subarray(h.directoryPosition), h.directoryPosition, data.length).filter((e) => e.dims['X']!.size === e.dims['X']!.storedSize);
      const xs = dir.map((e) => e.dims['X']!);
      const ys = dir.map((e) => e.dims['Y']!);
      const w = Math.max(...xs.map((d) => d.start + d.size)) - Math.min(...xs.map((d) => d.start));
      const hh = Math.max(...ys.map((d) => d.start + d.size)) - Math.min(...ys.map((d) => d.start));
      return w > 0 && hh > 0 && w * hh <= 64 << 20 ? { kind: 'czi', width: w, height: hh } : undefined;
    } catch {
      return undefined; // a damaged embedded preview hides that preview, not the slide
    }
  }
  return undefined;
}

/** An embedded CZI (ZEN stores label and slide preview so) composed whole at full resolution, plane 0. */
function composeEmbedded(data: Uint8Array, a: Attachment): EncodedTile {
  const h = parseFileHeader(data, data.length);
  const dir = parseDirectory(data.subarray(h.directoryPosition), h.directoryPosition, data.length)
    .filter((e) => e.dims['X']!.size === e.dims['X']!.storedSize && (e.dims['C']?.start ?? 0) === 0 && (e.dims['Z']?.start ?? 0) === 0 && (e.dims['T']?.start ?? 0) === 0);
  const minX = Math.min(...dir.map((e) => e.dims['X']!.start));
  const minY = Math.min(...dir.map((e) => e.dims['Y']!.start));
  const pixelType = dir[0]?.pixelType ?? 3;
  const starts = [...dir.map((e) => e.filePosition), h.directoryPosition, h.metadataPosition, h.attachmentDirectoryPosition, data.length].filter((p) => p > 0).sort((x, y) => x - y);
  const blocks: CziBlock[] = [];
  const ranges: ByteRange[] = [];
  const buffers: Uint8Array[] = [];
  for (const e of dir) {
    checkCompression(e.compression);
    const x = e.dims['X']!;
    const y = e.dims['Y']!;
    blocks.push({ x: x.start - minX, y: y.start - minY, w: x.size, h: y.size, storedW: x.storedSize, storedH: y.storedSize, compression: e.compression, pixelType: e.pixelType });
    const end = starts.find((p) => p > e.filePosition) ?? data.length;
    ranges.push({ offset: e.filePosition, length: end - e.filePosition });
    buffers.push(data.subarray(e.filePosition, end));
  }
  const spec: CziTileSpec = { x0: 0, y0: 0, scale: 1, width: a.width, height: a.height, pixelType, blocks };
  const tile = composeCziTile({ level: -1, col: 0, row: 0, plane: 0, ranges, meta: { worker: CZI_COMPOSER, czi: spec } }, buffers);
  return tile;
}

export class CziSlideReader implements SlideReader {
  readonly descriptor;
  readonly #reader: RangeReader;
  readonly #blocks: Placed[][][];
  /** Level-0 pixels per pixel of each level, exactly (the descriptor's downsample is rounded to whole pixels). */
  readonly #scales: number[];
  readonly #pixelType: number;
  readonly #assoc: Attachment[];

  constructor(reader: RangeReader, descriptor: SlideReader['descriptor'], blocks: Placed[][][], scales: number[], pixelType: number, assoc: Attachment[]) {
    this.#reader = reader;
    this.#scales = scales;
    this.descriptor = descriptor;
    this.#blocks = blocks;
    this.#pixelType = pixelType;
    this.#assoc = assoc;
  }

  async locateTile(level: number, col: number, row: number, plane: number, signal?: AbortSignal): Promise<TileLocation | null> {
    throwIfAborted(signal);
    const l = this.descriptor.levels[level];
    const blocks = this.#blocks[level]?.[plane];
    if (!l || !blocks || !Number.isInteger(col) || !Number.isInteger(row) || col < 0 || row < 0 || col >= l.columns || row >= l.rows) {
      throw tileOutOfRange(level, col, row, plane);
    }
    const scale = this.#scales[level]!;
    const width = Math.min(l.tileWidth, l.width - col * l.tileWidth);
    const height = Math.min(l.tileHeight, l.height - row * l.tileHeight);
    const x0 = col * l.tileWidth * scale;
    const y0 = row * l.tileHeight * scale;
    const x1 = x0 + width * scale;
    const y1 = y0 + height * scale;
    const hit = blocks.filter((p) => p.block.x < x1 && p.block.x + p.block.w > x0 && p.block.y < y1 && p.block.y + p.block.h > y0);
    if (hit.length === 0) return null;
    const spec: CziTileSpec = { x0, y0, scale, width, height, pixelType: this.#pixelType, blocks: hit.map((p) => p.block) };
    return { level, col, row, plane, ranges: hit.map((p) => p.range), meta: { worker: CZI_COMPOSER, czi: spec } satisfies CziAssemblyMeta };
  }

  async assembleTile(location: TileLocation, buffers: Uint8Array[]): Promise<EncodedTile> {
    return composeCziTile(location, buffers);
  }

  async readAssociated(name: AssociatedImageName, signal?: AbortSignal): Promise<EncodedTile> {
    const a = this.#assoc.find((x) => x.name === name);
    if (!a) throw formatErrors.make('FORMAT_NO_ASSOCIATED_IMAGE', `This slide has no ${name} image.`, { details: { name } });
    const { buffers } = await this.#reader.read([a.range], signal);
    const data = attachmentData(buffers[0] ?? new Uint8Array(0), { filePosition: a.range.offset, contentType: a.kind, name });
    if (!data) throw corrupt(`the ${name} image is damaged`, a.range.offset);
    const base = { level: -1, col: 0, row: 0, plane: 0, width: a.width, height: a.height };
    if (a.kind === 'jpeg') return { ...base, encoding: { kind: 'jpeg' }, mime: 'image/jpeg', bytes: data };
    if (a.kind === 'png') return { ...base, encoding: { kind: 'png' }, mime: 'image/png', bytes: data };
    return composeEmbedded(data, a);
  }

  async close(): Promise<void> {
    await this.#reader.close();
  }
}

export const cziFormat: SlideFormat = { name: 'zeiss-czi', detect, open };
