/**
 * Error constructors for format readers. Codes:
 * - FORMAT_UNSUPPORTED: the file is recognisable but not readable here; `details.format` names it.
 * - FORMAT_CORRUPT: the structure is damaged; `details.offset` says where.
 * - FORMAT_UNKNOWN: nothing recognisable at all.
 * - FORMAT_TILE_MISSING: a tile asked for is outside the grid.
 */
import { AppError } from '../common/errors.js';

export function corrupt(what: string, offset: number | undefined, details: Record<string, unknown> = {}): AppError {
  const at = offset === undefined ? '' : ` (at byte ${offset})`;
  return new AppError('FORMAT_CORRUPT', `The slide file is damaged: ${what}${at}.`, {
    hint: 'The file may be truncated or was not written completely. Try copying it again from the scanner or the archive.',
    details: { ...details, offset },
  });
}

export function unsupported(format: string, message: string, details: Record<string, unknown> = {}): AppError {
  return new AppError('FORMAT_UNSUPPORTED', message, {
    hint: 'Convert the slide to OME-TIFF or DICOM WSI (for example with bfconvert or wsidicomizer), or open it in the vendor viewer.',
    details: { ...details, format },
  });
}

export function tileOutOfRange(level: number, col: number, row: number, plane: number): AppError {
  return new AppError('FORMAT_TILE_MISSING', `Tile ${col},${row} of level ${level} (plane ${plane}) does not exist in this slide.`, {
    details: { level, col, row, plane },
  });
}
