/**
 * A TIFF image as a grid of stored pieces: tiles for tiled images, full-width strips for
 * striped ones, so vendors and associated images share one path.
 */
import { corrupt } from '../errors.js';
import type { TiffIfd } from './ifd.js';
import type { TiffFile } from './parse.js';
import { Tag } from './tags.js';

export interface TiffGrid {
  ifd: TiffIfd;
  width: number;
  height: number;
  tileWidth: number;
  tileHeight: number;
  columns: number;
  rows: number;
  offsetsTag: number;
  countsTag: number;
  striped: boolean;
  /** Planar configuration 2: the pieces of each sample plane follow each other. */
  separatePlanes: number;
}

/** Largest piece of one image the readers will fetch. */
export const MAX_PIECE_BYTES = 256 << 20;

export function gridOf(ifd: TiffIfd): TiffGrid {
  const width = ifd.width;
  const height = ifd.height;
  if (!(width > 0 && height > 0)) throw corrupt('an image has no size', ifd.offset);
  const striped = !ifd.tiled;
  const tileWidth = striped ? width : ifd.tileWidth;
  const rps = ifd.number(Tag.RowsPerStrip, height);
  const tileHeight = striped ? Math.max(1, Math.min(rps, height)) : ifd.tileHeight;
  if (!(tileWidth > 0 && tileHeight > 0) || tileWidth > 1 << 20 || tileHeight > 1 << 20) throw corrupt(`an image has tiles of ${tileWidth}×${tileHeight}`, ifd.offset);
  const spp = ifd.samplesPerPixel;
  return {
    ifd,
    width,
    height,
    tileWidth,
    tileHeight,
    columns: Math.ceil(width / tileWidth),
    rows: Math.ceil(height / tileHeight),
    offsetsTag: striped ? Tag.StripOffsets : Tag.TileOffsets,
    countsTag: striped ? Tag.StripByteCounts : Tag.TileByteCounts,
    striped,
    separatePlanes: ifd.planarConfig === 2 && spp > 1 ? spp : 1,
  };
}

/** The byte range of one piece, or null when the file says it is empty. */
export async function pieceRange(
  tiff: TiffFile,
  grid: TiffGrid,
  col: number,
  row: number,
  sample: number,
  signal?: AbortSignal,
): Promise<{ offset: number; length: number } | null> {
  const [offsets, counts] = await Promise.all([
    tiff.loadNumbers(grid.ifd, grid.offsetsTag, signal),
    tiff.loadNumbers(grid.ifd, grid.countsTag, signal),
  ]);
  if (!offsets || !counts) throw corrupt('an image has no tile offsets', grid.ifd.offset);
  const index = sample * grid.columns * grid.rows + row * grid.columns + col;
  if (index >= offsets.length || index >= counts.length) throw corrupt(`tile ${index} is missing from the offset table`, grid.ifd.offset);
  const offset = offsets[index]!;
  const length = counts[index]!;
  if (length === 0 || offset === 0) return null;
  if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || length > MAX_PIECE_BYTES || offset + length > tiff.size) {
    throw corrupt(`tile ${index} lies outside the file`, offset);
  }
  return { offset, length };
}

/** Pixel size of a piece as stored (strips at the bottom may be shorter). */
export function pieceSize(grid: TiffGrid, row: number): { width: number; height: number } {
  if (!grid.striped) return { width: grid.tileWidth, height: grid.tileHeight };
  return { width: grid.width, height: Math.min(grid.tileHeight, grid.height - row * grid.tileHeight) };
}
