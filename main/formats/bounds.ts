/**
 * Decompression bounds shared by every reader: how big one tile (or strip, or frame) may
 * be, and how far a compressed piece may expand. A slide file is hostile input: a few
 * hundred bytes of TIFF can declare a 100000×100000 tile, and every decoder sizes its
 * output from the declared geometry, so without these checks main would try to allocate
 * tens of gigabytes. The limits sit far above what scanners write (tiles of 240–2048
 * pixels, strips a few rows high) so no real slide meets them.
 *
 * Checked twice: when a reader builds its grid or descriptor (the slide is refused at
 * open, before any tile is read), and again right before a decoder allocates (a reader
 * that forgot the first check still cannot be made to allocate).
 */
import { corrupt, formatErrors } from './errors.js';
import type { AppError } from '../common/errors.js';

/** Largest tile in pixels: 8192×8192 (64 megapixels). Strips count their full width. */
export const MAX_TILE_PIXELS = 8192 * 8192;
/** Largest decoded tile in bytes: 8192×8192 RGBA at 8 bits. */
export const MAX_DECODED_TILE_BYTES = 256 << 20;
/**
 * Largest decoded/compressed ratio once a decoded tile passes MAX_RATIO_FREE_BYTES.
 * Deflate cannot exceed ~1032:1; a blank tile in zstd can, so small tiles are exempt
 * (a 512×512 blank tile compresses to a few dozen bytes and is legitimate).
 */
export const MAX_EXPANSION_RATIO = 1024;
/** Decoded sizes up to this (a 2048×2048 RGBA tile) are never refused for their ratio. */
export const MAX_RATIO_FREE_BYTES = 16 << 20;

/** Refuse a tile geometry past the pixel cap (at open time, from tags or headers). */
export function checkTileGeometry(width: number, height: number, where: string): void {
  if (!(Number.isSafeInteger(width) && Number.isSafeInteger(height) && width > 0 && height > 0)) throw corrupt(`${where} declares tiles of ${width}×${height} pixels`, undefined);
  if (width * height <= MAX_TILE_PIXELS) return;
  throw tooLarge(`${where} declares tiles of ${width}×${height} pixels`, { width, height });
}

/**
 * Refuse a decode before its output is allocated: past the byte cap, or a large output
 * from an input too small to hold it under any codec this reader supports.
 */
export function checkDecode(width: number, height: number, decodedBytes: number, compressedBytes: number): void {
  checkTileGeometry(width, height, 'a tile');
  if (decodedBytes > MAX_DECODED_TILE_BYTES) {
    throw tooLarge(`a ${width}×${height} tile would decode to ${decodedBytes} bytes`, { width, height, decodedBytes });
  }
  if (decodedBytes > MAX_RATIO_FREE_BYTES && decodedBytes > compressedBytes * MAX_EXPANSION_RATIO) {
    throw tooLarge(`${compressedBytes} stored bytes would expand to ${decodedBytes}`, { width, height, decodedBytes, compressedBytes });
  }
}

function tooLarge(what: string, details: Record<string, unknown>): AppError {
  return formatErrors.make('FORMAT_TILE_TOO_LARGE', `This slide cannot be opened safely: ${what}, beyond the 8192×8192 limit.`, { details });
}
