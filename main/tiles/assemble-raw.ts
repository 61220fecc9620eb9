/**
 * Off-main-thread assembly of non-JPEG TIFF-family tiles (LZW, Deflate, PackBits,
 * uncompressed; predictors; byte order). A slide reader opts a tile in by returning
 * from `locateTile`:
 *
 *   meta: { worker: RAW_ASSEMBLER, raw: RawTileSpec, encoding: TileEncoding }
 *
 * and the tile service then runs `assembleRaw` in its worker pool instead of calling
 * `assembleTile` on the main thread. Pure: plain data in, an EncodedTile out.
 */
import { AppError } from '../common/errors.js';
import { decodeRawTile, type RawTileSpec } from '../formats/codecs/raw.js';
import type { EncodedTile, TileEncoding, TileLocation } from '../formats/types.js';

/** Names this module to the worker pool (see BUILTIN in worker.ts). */
export const RAW_ASSEMBLER = { module: 'builtin:assemble-raw', export: 'assembleRaw' } as const;

export interface RawAssemblyMeta {
  worker: typeof RAW_ASSEMBLER;
  raw: RawTileSpec;
  encoding: Extract<TileEncoding, { kind: 'raw' }>;
}

export function assembleRaw(location: TileLocation, buffers: Uint8Array[]): EncodedTile {
  const meta = location.meta as Partial<RawAssemblyMeta> | undefined;
  const input = buffers[0];
  if (!meta?.raw || meta.encoding?.kind !== 'raw' || !input) {
    throw new AppError('TILE_ASSEMBLY_INVALID', 'A tile was sent for decoding without the description of how to decode it.', {
      details: { level: location.level, col: location.col, row: location.row },
    });
  }
  if (input.length < (location.ranges[0]?.length ?? 0)) {
    throw new AppError('FORMAT_CORRUPT', 'The slide file is damaged: a tile is cut short by the end of the file.', {
      details: { offset: location.ranges[0]?.offset },
    });
  }
  const bytes = decodeRawTile(meta.raw, input);
  return {
    level: location.level,
    col: location.col,
    row: location.row,
    plane: location.plane,
    width: meta.raw.width,
    height: meta.raw.height,
    encoding: meta.encoding,
    mime: 'application/octet-stream',
    bytes,
  };
}
