/**
 * `/tiles/<slideId>/<level>/<col>/<row>[?plane=N]`: one tile of an open slide, through
 * the TileService (cache first) at 'visible' priority. The request's AbortSignal goes
 * down to the range scheduler, so a tile the viewer stops wanting (the browser cancels
 * the image load; Electron aborts the protocol request) stops costing bandwidth.
 *
 * Answers: the tile's own bytes (JPEG/PNG/WebP as stored), raw 8-bit tiles as PNG;
 * a transparent 1×1 PNG for a tile the slide does not have (sparse DICOM, an empty TIFF
 * tile) so the viewer draws background without logging a failed image; 404 for a
 * slide id that is not open or a tile outside the grid; errors as text with a status
 * that says whose problem it is.
 */
import { AppError, toAppError } from '../common/errors.js';
import { logger } from '../common/log.js';
import type { EncodedTile } from '../formats/types.js';
import { encodePng } from '../tiles/region.js';
import type { SlideHandle, TileService } from '../tiles/service.js';
import { textResponse, type RequestHandler } from './app-protocol.js';
import { SECURITY_HEADERS } from './security.js';

const log = logger('tile-route');

/** A slide handle's tiles never change (the handle is one object version), so the browser may keep them. */
const CACHE_CONTROL = 'private, max-age=3600';

/** A 1×1 fully transparent PNG: "no tile here". */
const EMPTY_PNG = Uint8Array.from(
  Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR4nGNgYGBgAAAABQABpfZFQAAAAABJRU5ErkJggg==', 'base64'),
);

export interface TileRouteOptions {
  tiles: TileService;
  /** The open slide behind an id (main/app/slides.ts). */
  slide(id: string): SlideHandle | undefined;
}

const ROUTE = /^\/tiles\/([0-9a-f]{32})\/(\d{1,3})\/(\d{1,7})\/(\d{1,7})$/;

export function createTileRoute(o: TileRouteOptions): RequestHandler {
  return async (request) => {
    const url = new URL(request.url);
    const m = ROUTE.exec(url.pathname);
    if (!m) return textResponse(404, 'No such tile address.');
    const planeParam = url.searchParams.get('plane');
    if (planeParam !== null && !/^\d{1,4}$/.test(planeParam)) return textResponse(400, 'The plane must be a whole number.');
    const handle = o.slide(m[1]!);
    if (!handle) return textResponse(404, 'This slide is not open (it was closed, or you signed out).');
    const [level, col, row] = [m[2], m[3], m[4]].map(Number) as [number, number, number];
    const plane = planeParam === null ? 0 : Number(planeParam);
    const l = handle.descriptor.levels[level];
    if (!l || col >= l.columns || row >= l.rows) return textResponse(404, `There is no tile ${col},${row} at level ${level} of this slide.`);
    let tile: EncodedTile | null;
    try {
      tile = await o.tiles.getTile(handle, level, col, row, plane, { priority: 'visible', signal: request.signal });
    } catch (err) {
      return errorResponse(err, request.signal);
    }
    const headers = { ...SECURITY_HEADERS, 'cache-control': CACHE_CONTROL };
    if (!tile) return new Response(request.method === 'HEAD' ? null : EMPTY_PNG, { status: 200, headers: { ...headers, 'content-type': 'image/png', 'x-tile': 'empty' } });
    let body: Uint8Array;
    let type: string;
    try {
      ({ body, type } = await browserImage(tile));
    } catch (err) {
      return errorResponse(err, request.signal);
    }
    return new Response(request.method === 'HEAD' ? null : body, { status: 200, headers: { ...headers, 'content-type': type, 'content-length': String(body.length) } });
  };
}

/** What a browser can draw: encoded images as they are; raw 8-bit samples as PNG. */
async function browserImage(tile: EncodedTile): Promise<{ body: Uint8Array; type: string }> {
  const enc = tile.encoding;
  if (enc.kind === 'jpeg') return { body: tile.bytes, type: 'image/jpeg' };
  if (enc.kind === 'png') return { body: tile.bytes, type: 'image/png' };
  if (enc.kind === 'webp') return { body: tile.bytes, type: 'image/webp' };
  if (enc.bitsPerSample === 8 && enc.sampleFormat === 'uint' && [1, 3, 4].includes(enc.samplesPerPixel)) {
    const n = tile.width * tile.height;
    const spp = enc.samplesPerPixel;
    const rgba = new Uint8Array(n * 4);
    for (let i = 0; i < n; i++) {
      const s = i * spp;
      rgba[i * 4] = tile.bytes[s]!;
      rgba[i * 4 + 1] = tile.bytes[spp === 1 ? s : s + 1]!;
      rgba[i * 4 + 2] = tile.bytes[spp === 1 ? s : s + 2]!;
      rgba[i * 4 + 3] = spp === 4 ? tile.bytes[s + 3]! : 255;
    }
    return { body: await encodePng({ width: tile.width, height: tile.height, data: rgba }, { alpha: spp === 4 }), type: 'image/png' };
  }
  throw new AppError('TILE_NOT_DISPLAYABLE', `Tiles with ${enc.bitsPerSample}-bit ${enc.sampleFormat} samples cannot be displayed yet.`, {
    hint: 'Fluorescence display comes in a later version; the CLI `region` command can export these slides.',
  });
}

function errorResponse(err: unknown, signal: AbortSignal): Response {
  if (signal.aborted) return textResponse(503, 'Cancelled.');
  const e = toAppError(err);
  const status = /NOT_SIGNED_IN|EXPIRED|UNAUTHORI[SZ]ED/.test(e.code)
    ? 401
    : /DENIED|FORBIDDEN/.test(e.code)
      ? 403
      : e.code === 'TILE_OUT_OF_RANGE' || e.code === 'TILE_SLIDE_CLOSED'
        ? 404
        : e.code === 'TILE_OFFLINE' || /NETWORK|UNREACHABLE|OFFLINE|TIMEOUT/.test(e.code)
          ? 503
          : e.code === 'TILE_NOT_DISPLAYABLE'
            ? 415
            : 502;
  if (status >= 500) log.warn('tile failed', { code: e.code });
  return textResponse(status, e.message, { 'x-error-code': e.code });
}
