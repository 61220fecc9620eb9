/**
 * SlideReader over TIFF grids: Aperio, generic TIFF and OME-TIFF differ only in which
 * directories are levels, planes and associated images, and in metadata. Tiles are
 * located from the lazily loaded offset tables; JPEG is passed through with tables and
 * colour marker fixed; other compressions are decoded to raw samples.
 */
import { throwIfAborted } from '../../common/errors.js';
import { RAW_ASSEMBLER, type Jpeg2000AssemblyMeta, type RawAssemblyMeta } from '../codecs/assemble-raw.js';
import { decodeRawTile, type RawTileSpec } from '../codecs/raw.js';
import { decodeTileToRgba } from '../codecs/decode.js';
import { jpeg2000Tile } from '../codecs/jpeg2000.js';
import { corrupt, tileOutOfRange, unsupported } from '../errors.js';
import { markRgb, spliceTables } from '../jpeg/markers.js';
import type { AssociatedImageName, EncodedTile, SlideDescriptor, SlideReader, TileEncoding, TileLocation } from '../types.js';
import { pieceRange, pieceSize, type TiffGrid } from './grid.js';
import type { TiffFile } from './parse.js';
import { Compression, Tag } from './tags.js';
import { formatErrors } from '../errors.js';

export interface TiffReaderOptions {
  /** Force the Adobe RGB marker on JPEG pieces (Aperio writes RGB JPEG without it). */
  jpegRgb?: (grid: TiffGrid) => boolean;
}

/** Pixels of an associated image decoded whole; larger ones are refused. */
const MAX_ASSOCIATED_PIXELS = 64 << 20;

export class TiffSlideReader implements SlideReader {
  readonly descriptor: SlideDescriptor;
  readonly #tiff: TiffFile;
  /** [level][plane] */
  readonly #levels: TiffGrid[][];
  readonly #associated: Map<AssociatedImageName, TiffGrid>;
  readonly #options: TiffReaderOptions;

  constructor(tiff: TiffFile, descriptor: SlideDescriptor, levels: TiffGrid[][], associated: Map<AssociatedImageName, TiffGrid>, options: TiffReaderOptions = {}) {
    this.#tiff = tiff;
    this.descriptor = descriptor;
    this.#levels = levels;
    this.#associated = associated;
    this.#options = options;
    for (const planes of levels) for (const g of planes) checkCodec(g);
  }

  #grid(level: number, plane: number): TiffGrid | undefined {
    return this.#levels[level]?.[plane];
  }

  async locateTile(level: number, col: number, row: number, plane: number, signal?: AbortSignal): Promise<TileLocation | null> {
    throwIfAborted(signal);
    const grid = this.#grid(level, plane);
    const l = this.descriptor.levels[level];
    if (!grid || !l || col < 0 || row < 0 || col >= l.columns || row >= l.rows || !Number.isInteger(col) || !Number.isInteger(row)) {
      throw tileOutOfRange(level, col, row, plane);
    }
    const range = await pieceRange(this.#tiff, grid, col, row, 0, signal);
    if (!range) return null;
    return { level, col, row, plane, ranges: [range], ...this.#workerMeta(grid, row) };
  }

  /**
   * Non-JPEG tiles name the raw assembler, so the tile service decodes them in its worker
   * pool; `assembleTile` (CLI, tests) ignores this and decodes here with the same code.
   */
  #workerMeta(grid: TiffGrid, row: number): { meta?: Record<string, unknown> } {
    const c = grid.ifd.compression;
    if (c === Compression.JPEG) return {};
    if (isJpeg2000(c)) return { meta: { worker: RAW_ASSEMBLER, jpeg2000: { ycbcr: c === Compression.Jp2kYCbCr } } satisfies Jpeg2000AssemblyMeta };
    const { spec, encoding } = this.#rawSpec(grid, row);
    return { meta: { worker: RAW_ASSEMBLER, raw: spec, encoding } satisfies RawAssemblyMeta };
  }

  #rawSpec(grid: TiffGrid, row: number): { spec: RawTileSpec; encoding: Extract<TileEncoding, { kind: 'raw' }> } {
    const ifd = grid.ifd;
    const { width, height } = pieceSize(grid, row);
    const bits = ifd.bitsPerSample as 8 | 16 | 32;
    const spp = grid.separatePlanes > 1 ? 1 : ifd.samplesPerPixel;
    const sf = ifd.sampleFormat;
    return {
      spec: { compression: ifd.compression, predictor: ifd.number(Tag.Predictor, 1), width, height, samplesPerPixel: spp, bitsPerSample: bits, littleEndian: this.#tiff.littleEndian },
      encoding: { kind: 'raw', bitsPerSample: bits, samplesPerPixel: spp, sampleFormat: sf === 2 ? 'int' : sf === 3 ? 'float' : 'uint' },
    };
  }

  async assembleTile(location: TileLocation, buffers: Uint8Array[]): Promise<EncodedTile> {
    const grid = this.#grid(location.level, location.plane);
    if (!grid) throw tileOutOfRange(location.level, location.col, location.row, location.plane);
    const bytes = buffers[0];
    if (!bytes) throw corrupt('a tile read returned nothing', location.ranges[0]?.offset);
    if (bytes.length < (location.ranges[0]?.length ?? 0)) throw corrupt('a tile is cut short by the end of the file', location.ranges[0]?.offset);
    return this.#assemble(grid, location.level, location.col, location.row, location.plane, bytes);
  }

  async #assemble(grid: TiffGrid, level: number, col: number, row: number, plane: number, bytes: Uint8Array): Promise<EncodedTile> {
    const ifd = grid.ifd;
    const { width, height } = pieceSize(grid, row);
    const base = { level, col, row, plane, width, height };
    const compression = ifd.compression;
    if (compression === Compression.JPEG) {
      let jpeg = spliceTables(ifd.bytes(Tag.JPEGTables), bytes);
      const rgb = this.#options.jpegRgb?.(grid) ?? (ifd.photometric === 2 && ifd.samplesPerPixel === 3);
      if (rgb) jpeg = markRgb(jpeg);
      return { ...base, encoding: { kind: 'jpeg' }, mime: 'image/jpeg', bytes: jpeg };
    }
    if (isJpeg2000(compression)) {
      return jpeg2000Tile(base, bytes, { ycbcr: compression === Compression.Jp2kYCbCr });
    }
    const { spec, encoding } = this.#rawSpec(grid, row);
    return { ...base, encoding, mime: 'application/octet-stream', bytes: decodeRawTile(spec, bytes) };
  }

  async readAssociated(name: AssociatedImageName, signal?: AbortSignal): Promise<EncodedTile> {
    const grid = this.#associated.get(name);
    if (!grid) {
      throw formatErrors.make('FORMAT_NO_ASSOCIATED_IMAGE', `This slide has no ${name} image.`, { details: { name } });
    }
    checkCodec(grid);
    const pieces: { col: number; row: number; range: { offset: number; length: number } | null }[] = [];
    for (let r = 0; r < grid.rows; r++) {
      for (let c = 0; c < grid.columns; c++) pieces.push({ col: c, row: r, range: await pieceRange(this.#tiff, grid, c, r, 0, signal) });
    }
    const wanted = pieces.filter((p) => p.range !== null);
    const { buffers } = await this.#tiff.reader.read(wanted.map((p) => p.range!), signal);
    if (pieces.length === 1 && wanted.length === 1 && grid.ifd.compression === Compression.JPEG) {
      const t = await this.#assemble(grid, -1, 0, 0, 0, buffers[0]!);
      return { ...t, width: grid.width, height: grid.height };
    }
    if (grid.width * grid.height > MAX_ASSOCIATED_PIXELS) throw corrupt(`the ${name} image claims ${grid.width}×${grid.height} pixels`, grid.ifd.offset);
    // Several pieces: decode each and compose one RGBA image.
    const out = new Uint8Array(grid.width * grid.height * 4);
    for (let i = 0; i < wanted.length; i++) {
      const p = wanted[i]!;
      const b = buffers[i];
      if (!b || b.length < p.range!.length) throw corrupt(`the ${name} image is cut short`, p.range!.offset);
      const rgba = await decodeTileToRgba(await this.#assemble(grid, -1, p.col, p.row, 0, b));
      const x0 = p.col * grid.tileWidth;
      const y0 = p.row * grid.tileHeight;
      const w = Math.min(rgba.width, grid.width - x0);
      const h = Math.min(rgba.height, grid.height - y0);
      for (let y = 0; y < h; y++) {
        out.set(rgba.data.subarray(y * rgba.width * 4, (y * rgba.width + w) * 4), ((y0 + y) * grid.width + x0) * 4);
      }
    }
    return {
      level: -1, col: 0, row: 0, plane: 0, width: grid.width, height: grid.height,
      encoding: { kind: 'raw', bitsPerSample: 8, samplesPerPixel: 4, sampleFormat: 'uint' },
      mime: 'application/octet-stream',
      bytes: out,
    };
  }

  async close(): Promise<void> {
    await this.#tiff.reader.close();
  }
}

function isJpeg2000(c: number): boolean {
  // 33004 (tifffile's JPEG_2000_LOSSY) is an RGB codestream like 33005.
  return c === Compression.Jp2kYCbCr || c === Compression.Jp2kLossy || c === Compression.Jp2kRGB || c === Compression.JPEG2000;
}

/** Refuse at open, with the codec named, what assembleTile could not handle later. */
export function checkCodec(grid: TiffGrid): void {
  const ifd = grid.ifd;
  const c = ifd.compression;
  if (isJpeg2000(c)) return;
  if (c === Compression.OldJPEG) throw unsupported('tiff-old-jpeg', 'Old-style TIFF JPEG (compression 6) is not supported.', { compression: c });
  const known = [Compression.JPEG, Compression.None, Compression.LZW, Compression.AdobeDeflate, Compression.Deflate, Compression.PackBits, Compression.Zstd] as number[];
  if (!known.includes(c)) throw unsupported(`tiff-compression-${c}`, `TIFF compression ${c} is not supported yet.`, { compression: c });
  const bits = ifd.bitsPerSample;
  if (c === Compression.JPEG) {
    if (bits !== 8) throw unsupported('jpeg-12bit', `${bits}-bit JPEG tiles are not supported yet.`);
    return;
  }
  if (bits !== 8 && bits !== 16 && bits !== 32) throw unsupported(`tiff-${bits}bit`, `${bits}-bit TIFF samples are not supported yet.`);
  if (ifd.photometric === 6) throw unsupported('tiff-ycbcr', 'Uncompressed YCbCr TIFF images are not supported yet.');
  const spp = ifd.samplesPerPixel;
  if (spp < 1 || spp > 16) throw corrupt(`an image has ${spp} samples per pixel`, ifd.offset);
  if (grid.separatePlanes > 1) throw unsupported('tiff-planar-separate', 'TIFF images with separate colour planes (PlanarConfiguration 2) are not supported yet.');
}
