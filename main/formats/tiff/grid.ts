/**
 * A TIFF image as a grid of stored pieces: tiles for tiled images, full-width strips for
 * striped ones, so vendors and associated images share one path.
 */
import { checkTileGeometry } from '../bounds.js';
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
  // TileWidth/TileLength (or ImageWidth × RowsPerStrip) size every decode of this image.
  checkTileGeometry(tileWidth, tileHeight, striped ? `the image at byte ${ifd.offset} (strips)` : `the image at byte ${ifd.offset}`);
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
  const index = sample * grid.columns * grid.rows + row * grid.columns + col;
  let offset: number;
  let length: number;
  const offsetsEntry = grid.ifd.entries.get(grid.offsetsTag);
  const countsEntry = grid.ifd.entries.get(grid.countsTag);
  if (!offsetsEntry || !countsEntry) throw corrupt('an image has no tile offsets', grid.ifd.offset);
  const block = tableBlock(grid, offsetsEntry.byteLength, countsEntry.byteLength, sample, row, col);
  if (block && offsetsEntry.value === undefined && countsEntry.value === undefined) {
    if (index >= offsetsEntry.count || index >= countsEntry.count) throw corrupt(`tile ${index} is missing from the offset table`, grid.ifd.offset);
    // A table shorter than the grid (hostile or truncated) clips the block; the index check above guards the tile.
    const count = Math.min(block.count, offsetsEntry.count - block.first, countsEntry.count - block.first);
    const [offsets, counts] = await tiff.loadTableSlice(grid.ifd, grid.offsetsTag, grid.countsTag, block.first, count, signal);
    offset = offsets[index - block.first]!;
    length = counts[index - block.first]!;
  } else {
    const [offsets, counts] = await Promise.all([
      tiff.loadNumbers(grid.ifd, grid.offsetsTag, signal),
      tiff.loadNumbers(grid.ifd, grid.countsTag, signal),
    ]);
    if (!offsets || !counts) throw corrupt('an image has no tile offsets', grid.ifd.offset);
    if (index >= offsets.length || index >= counts.length) throw corrupt(`tile ${index} is missing from the offset table`, grid.ifd.offset);
    offset = offsets[index]!;
    length = counts[index]!;
  }
  if (length === 0 || offset === 0) return null;
  if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || length > MAX_PIECE_BYTES || offset + length > tiff.size) {
    throw corrupt(`tile ${index} lies outside the file`, offset);
  }
  return { offset, length };
}

/**
 * Offset/count tables at least this big (either one) are read in slices: the level-0
 * tables of a 100k-pixel slide are over a megabyte, 3 s on a 20 Mbit/s link, for a
 * viewport that needs a few rows of them. Smaller ones are read whole on first need.
 */
export const PARTIAL_TABLE_BYTES = 32 << 10;
/** Entries per slice: a whole grid row (or several) up to this many, else a chunk of a row. */
export const TABLE_BLOCK_ENTRIES = 512;

/**
 * The contiguous slice of table entries holding piece (sample, row, col), or null when the
 * tables are small enough to read whole. Blocks are aligned (whole rows, or fixed column
 * chunks of one row), so neighbours share them.
 */
export function tableBlock(grid: TiffGrid, offsetsBytes: number, countsBytes: number, sample: number, row: number, col: number): { first: number; count: number } | null {
  if (Math.max(offsetsBytes, countsBytes) < PARTIAL_TABLE_BYTES) return null;
  const base = sample * grid.columns * grid.rows;
  if (grid.columns >= TABLE_BLOCK_ENTRIES) {
    const c0 = Math.floor(col / TABLE_BLOCK_ENTRIES) * TABLE_BLOCK_ENTRIES;
    return { first: base + row * grid.columns + c0, count: Math.min(TABLE_BLOCK_ENTRIES, grid.columns - c0) };
  }
  const rowsPerBlock = Math.max(1, Math.floor(TABLE_BLOCK_ENTRIES / grid.columns));
  const r0 = Math.floor(row / rowsPerBlock) * rowsPerBlock;
  return { first: base + r0 * grid.columns, count: Math.min(rowsPerBlock, grid.rows - r0) * grid.columns };
}

/** Pixel size of a piece as stored (strips at the bottom may be shorter). */
export function pieceSize(grid: TiffGrid, row: number): { width: number; height: number } {
  if (!grid.striped) return { width: grid.tileWidth, height: grid.tileHeight };
  return { width: grid.width, height: Math.min(grid.tileHeight, grid.height - row * grid.tileHeight) };
}
