/**
 * Off-main-thread assembly of non-JPEG TIFF-family tiles (LZW, Deflate, PackBits,
 * uncompressed; predictors; byte order). A slide reader opts a tile in by returning
 * from `locateTile`:
 *
 *   meta: { worker: RAW_ASSEMBLER, raw: RawTileSpec, encoding: TileEncoding }
 *
 * and the tile service then runs `assembleRaw` in its worker pool instead of calling
 * `assembleTile` on the main thread. JPEG 2000 tiles (Aperio 33003/33005, TIFF 34712) use
 * `meta: { worker: RAW_ASSEMBLER, jpeg2000: { ycbcr } }` instead: their size and sample
 * layout come from the codestream. Pure: plain data in, an EncodedTile out.
 */
import type { AppError } from '../../common/errors.js';
import { jpeg2000Tile } from './jpeg2000.js';
import { decodeRawTile, type RawTileSpec } from './raw.js';
import type { EncodedTile, TileEncoding, TileLocation } from '../types.js';
import { formatErrors } from '../errors.js';

/** Names this module to the worker pool (see BUILTIN in worker.ts). */
export const RAW_ASSEMBLER = { module: 'builtin:assemble-raw', export: 'assembleRaw' } as const;

export interface RawAssemblyMeta {
  worker: typeof RAW_ASSEMBLER;
  raw: RawTileSpec;
  encoding: Extract<TileEncoding, { kind: 'raw' }>;
}

export interface Jpeg2000AssemblyMeta {
  worker: typeof RAW_ASSEMBLER;
  jpeg2000: { ycbcr: boolean };
}

function invalid(location: TileLocation): AppError {
  return formatErrors.make('TILE_ASSEMBLY_INVALID', 'A tile was sent for decoding without the description of how to decode it.', {
    details: { level: location.level, col: location.col, row: location.row },
  });
}

export async function assembleRaw(location: TileLocation, buffers: Uint8Array[]): Promise<EncodedTile> {
  const meta = location.meta as Partial<RawAssemblyMeta & Jpeg2000AssemblyMeta> | undefined;
  const input = buffers[0];
  if (!input || (!meta?.jpeg2000 && (!meta?.raw || meta.encoding?.kind !== 'raw'))) throw invalid(location);
  if (input.length < (location.ranges[0]?.length ?? 0)) {
    throw formatErrors.make('FORMAT_CORRUPT', 'The slide file is damaged: a tile is cut short by the end of the file.', {
      details: { offset: location.ranges[0]?.offset },
    });
  }
  const base = { level: location.level, col: location.col, row: location.row, plane: location.plane, mime: 'application/octet-stream' };
  if (meta.jpeg2000) {
    return jpeg2000Tile(base, input, { ycbcr: meta.jpeg2000.ycbcr === true });
  }
  const raw = meta.raw!;
  return { ...base, width: raw.width, height: raw.height, encoding: meta.encoding!, bytes: decodeRawTile(raw, input) };
}
