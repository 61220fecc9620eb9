/**
 * Error constructors for format readers. Codes:
 * - FORMAT_UNSUPPORTED: the file is recognisable but not readable here; `details.format` names it.
 * - FORMAT_CORRUPT: the structure is damaged; `details.offset` says where.
 * - FORMAT_UNKNOWN: nothing recognisable at all.
 * - FORMAT_TILE_MISSING: a tile asked for is outside the grid.
 * - FORMAT_TILE_TOO_LARGE: a tile past the decompression bounds (formats/bounds.ts).
 */
import { errorTable, type AppError } from '../common/errors.js';

/** Every code the format readers throw (czi, vsi and the TIFF family share these). */
export const formatErrors = errorTable('formats', {
  FORMAT_CORRUPT: {
    kind: 'invalid-input',
    message: 'The slide file is damaged.',
    hint: 'The file may be truncated or was not written completely. Try copying it again from the scanner or the archive.',
  },
  FORMAT_UNSUPPORTED: {
    kind: 'unsupported',
    message: 'This slide uses a feature this version cannot read.',
    hint: 'Convert the slide to OME-TIFF or DICOM WSI (for example with bfconvert or wsidicomizer), or open it in the vendor viewer.',
  },
  FORMAT_UNKNOWN: {
    kind: 'unsupported',
    message: 'This file is not a slide format the workstation knows.',
    hint: 'Supported: Aperio SVS, Hamamatsu NDPI, OME-TIFF, pyramidal TIFF/BigTIFF and DICOM WSI.',
  },
  FORMAT_TILE_MISSING: {
    kind: 'not-found',
    message: 'This tile does not exist in this slide.',
    hint: 'Reload the slide; if the viewer asks for it again, report a bug.',
  },
  FORMAT_NO_ASSOCIATED_IMAGE: {
    kind: 'not-found',
    message: 'This slide has no such image (label, macro or thumbnail).',
    hint: 'The scanner did not store it; the slide itself is not affected.',
  },
  TILE_ASSEMBLY_INVALID: {
    kind: 'invalid-input',
    message: 'The slide file describes a tile that cannot be put together.',
    hint: 'The file may be damaged: copy it again from the scanner or the archive.',
  },
  FORMAT_TILE_TOO_LARGE: {
    kind: 'invalid-input',
    message: 'This slide declares tiles too large to open safely.',
    hint: 'Tiles are limited to 8192×8192 pixels. The file is damaged or was written by an unusual converter: export it again with 512- or 1024-pixel tiles (for example vips tiffsave --tile or bfconvert -tilex 512 -tiley 512).',
  },
  FORMAT_BAD_LOCATION: {
    kind: 'internal',
    message: 'A tile location is not of the form its reader made.',
    hint: 'This is a bug: send the log file to IT.',
  },
});

export function corrupt(what: string, offset: number | undefined, details: Record<string, unknown> = {}): AppError {
  const at = offset === undefined ? '' : ` (at byte ${offset})`;
  return formatErrors.make('FORMAT_CORRUPT', `The slide file is damaged: ${what}${at}.`, {
    details: { ...details, offset },
  });
}

export function unsupported(format: string, message: string, details: Record<string, unknown> = {}): AppError {
  return formatErrors.make('FORMAT_UNSUPPORTED', message, {
    details: { ...details, format },
  });
}

export function tileOutOfRange(level: number, col: number, row: number, plane: number): AppError {
  return formatErrors.make('FORMAT_TILE_MISSING', `Tile ${col},${row} of level ${level} (plane ${plane}) does not exist in this slide.`, {
    details: { level, col, row, plane },
  });
}
