/**
 * `/tiles/<slideId>/<level>/<col>/<row>[?plane=N][&format=raw]`: one tile of an open
 * slide, through the TileService (cache first) at 'visible' priority. The request's
 * AbortSignal goes down to the range scheduler, so a tile the viewer stops wanting (the
 * browser cancels the image load or the fetch; Electron aborts the protocol request)
 * stops costing bandwidth.
 *
 * Answers, for an `<img>` (no `format`): the tile's own bytes (JPEG/PNG/WebP as stored),
 * raw 8-bit tiles as PNG; a transparent 1×1 PNG for a tile the slide does not have
 * (sparse DICOM, an empty TIFF tile) so the viewer draws background without logging a
 * failed image.
 *
 * With `format=raw` (the fluorescence viewer, which fetches the bytes and composites the
 * channels itself): raw samples exactly as the engine holds them, 8/16/32-bit, as
 * `application/octet-stream` with their geometry in `x-tile-*` headers (a browser's
 * image decoder would cut 16-bit samples to 8); tiles stored as images (a DICOM optical
 * path's 8-bit JPEG frames) as they are, since the browser decodes those without loss
 * of depth; 204 with `x-tile: empty` for a tile the slide does not have.
 *
 * 404 for a slide id that is not open or a tile outside the grid; errors as text with a
 * status that says whose problem it is.
 */
import { assertNever, toAppError, type ErrorKind } from '../common/errors.js';
import { logger } from '../common/log.js';
import type { EncodedTile } from '../formats/types.js';
import { encodePng } from '../tiles/region.js';
import type { SlideHandle, TileService } from '../tiles/service.js';
import { textResponse, type RequestHandler } from './app-protocol.js';
import { SECURITY_HEADERS } from './security.js';
import { tileErrors } from '../tiles/errors.js';

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
  /** Raw→PNG conversions running at once (default 2); the rest wait their turn. */
  maxConversions?: number;
  /** Conversions allowed to wait (default 256); past that a request is answered "busy". */
  maxQueuedConversions?: number;
}

/** What the conversion bound has seen, for tests and the diagnostics. */
export interface ConversionStats {
  limit: number;
  active: number;
  queued: number;
  /** Most conversions ever running at once: never above `limit`. */
  peakActive: number;
  peakQueued: number;
  done: number;
}

export type TileRoute = RequestHandler & { conversions(): ConversionStats };

const ROUTE = /^\/tiles\/([0-9a-f]{32})\/(\d{1,3})\/(\d{1,7})\/(\d{1,7})$/;

export function createTileRoute(o: TileRouteOptions): TileRoute {
  const gate = new ConversionGate(o.maxConversions ?? 2, o.maxQueuedConversions ?? 256);
  const route: RequestHandler = async (request) => {
    const url = new URL(request.url);
    const m = ROUTE.exec(url.pathname);
    if (!m) return textResponse(404, 'No such tile address.');
    const planeParam = url.searchParams.get('plane');
    if (planeParam !== null && !/^\d{1,4}$/.test(planeParam)) return textResponse(400, 'The plane must be a whole number.');
    const format = url.searchParams.get('format');
    if (format !== null && format !== 'raw') return textResponse(400, `Unknown tile format "${format.slice(0, 20)}": the only format is "raw".`);
    const handle = o.slide(m[1]!);
    if (!handle) return textResponse(404, 'This slide is not open (it was closed, or you signed out).');
    const [level, col, row] = [m[2], m[3], m[4]].map(Number) as [number, number, number];
    const plane = planeParam === null ? 0 : Number(planeParam);
    const d = handle.descriptor;
    const l = d.levels[level];
    if (!l || col >= l.columns || row >= l.rows) return textResponse(404, `There is no tile ${col},${row} at level ${level} of this slide.`);
    const planes = d.pixelKind === 'channels' ? d.channels.length : 1;
    if (plane >= planes) return textResponse(404, `This slide has no plane ${plane} (it has ${planes}).`);
    let tile: EncodedTile | null;
    try {
      tile = await o.tiles.getTile(handle, level, col, row, plane, { priority: 'visible', signal: request.signal });
    } catch (err) {
      return errorResponse(err, request.signal);
    }
    const headers = { ...SECURITY_HEADERS, 'cache-control': CACHE_CONTROL };
    const head = request.method === 'HEAD';
    if (format === 'raw') {
      if (!tile) return new Response(null, { status: 204, headers: { ...headers, 'x-tile': 'empty' } });
      const raw = rawAnswer(tile);
      return new Response(head ? null : raw.body, { status: 200, headers: { ...headers, ...raw.headers, 'content-length': String(raw.body.length) } });
    }
    if (!tile) return new Response(head ? null : EMPTY_PNG, { status: 200, headers: { ...headers, 'content-type': 'image/png', 'x-tile': 'empty' } });
    let body: Uint8Array;
    let type: string;
    try {
      ({ body, type } = await gate.run(() => browserImage(tile), request.signal));
    } catch (err) {
      return errorResponse(err, request.signal);
    }
    return new Response(head ? null : body, { status: 200, headers: { ...headers, 'content-type': type, 'content-length': String(body.length) } });
  };
  return Object.assign(route, { conversions: () => gate.stats() });
}

/**
 * Bounds the raw→PNG conversions in flight. Each one allocates an RGBA copy of the tile
 * and a PNG buffer (a 2048² tile is 16 MB + 12 MB), so a burst of requests, from a
 * viewer flinging around or a hostile renderer, would otherwise make main hold all of
 * them at once. Waiting requests hold only the tile (already in the cache); a request
 * cancelled while waiting leaves the queue without converting.
 */
class ConversionGate {
  #active = 0;
  #queue: (() => void)[] = [];
  #peakActive = 0;
  #peakQueued = 0;
  #done = 0;

  constructor(readonly limit: number, readonly maxQueued: number) {}

  async run<T>(work: () => Promise<T>, signal: AbortSignal): Promise<T> {
    // A finished conversion hands its slot straight to the next waiter (active stays the
    // same), so a newcomer arriving between the two can never make it limit + 1.
    if (this.#active >= this.limit) await this.#wait(signal);
    else this.#active++;
    this.#peakActive = Math.max(this.#peakActive, this.#active);
    try {
      return await work();
    } finally {
      this.#done++;
      const next = this.#queue.shift();
      if (next) next();
      else this.#active--;
    }
  }

  #wait(signal: AbortSignal): Promise<void> {
    if (this.#queue.length >= this.maxQueued) {
      return Promise.reject(tileErrors.make('TILE_CONVERSIONS_BUSY', `${this.#queue.length} tiles are already waiting to be converted.`));
    }
    if (signal.aborted) return Promise.reject(signal.reason as Error);
    return new Promise<void>((resolve, reject) => {
      const turn = (): void => {
        signal.removeEventListener('abort', cancel);
        resolve();
      };
      const cancel = (): void => {
        const i = this.#queue.indexOf(turn);
        if (i >= 0) this.#queue.splice(i, 1);
        reject(signal.reason as Error);
      };
      signal.addEventListener('abort', cancel, { once: true });
      this.#queue.push(turn);
      this.#peakQueued = Math.max(this.#peakQueued, this.#queue.length);
    });
  }

  stats(): ConversionStats {
    return { limit: this.limit, active: this.#active, queued: this.#queue.length, peakActive: this.#peakActive, peakQueued: this.#peakQueued, done: this.#done };
  }
}

/**
 * `format=raw`: raw samples as they are (little-endian, interleaved, possibly padded at the
 * slide's right and bottom edges like every tile) with what it takes to read them;
 * encoded tiles as stored, for the browser's own decoder.
 */
function rawAnswer(tile: EncodedTile): { body: Uint8Array; headers: Record<string, string> } {
  const enc = tile.encoding;
  if (enc.kind !== 'raw') return { body: tile.bytes, headers: { 'content-type': enc.kind === 'jpeg' ? 'image/jpeg' : enc.kind === 'png' ? 'image/png' : 'image/webp' } };
  return {
    body: tile.bytes,
    headers: {
      'content-type': 'application/octet-stream',
      'x-tile-width': String(tile.width),
      'x-tile-height': String(tile.height),
      'x-tile-bits-per-sample': String(enc.bitsPerSample),
      'x-tile-samples-per-pixel': String(enc.samplesPerPixel),
      'x-tile-sample-format': enc.sampleFormat,
      'x-tile-byte-order': 'little-endian',
    },
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
  throw tileErrors.make('TILE_NOT_DISPLAYABLE', `Tiles with ${enc.bitsPerSample}-bit ${enc.sampleFormat} samples cannot be displayed yet.`, {
    hint: 'Ask for these samples with format=raw (the fluorescence viewer does); the CLI `region` command can export them as PNG.',
  });
}

/** Shared by the slide routes (tiles, associated images): the status says whose problem it is. */
export function errorResponse(err: unknown, signal: AbortSignal): Response {
  if (signal.aborted) return textResponse(503, 'Cancelled.');
  const e = toAppError(err);
  const status = statusFor(e.kind);
  if (status >= 500) log.warn('tile failed', { code: e.code, kind: e.kind });
  // The kind travels too: the viewer chooses its words and buttons from it, and the
  // offline watcher tells "unreachable" from "busy" without reading the code.
  return textResponse(status, e.message, {
    'x-error-code': e.code,
    'x-error-kind': e.kind,
    ...(e.kind === 'busy' ? { 'retry-after': '2' } : {}),
  });
}

/** The HTTP status of a failed tile, by kind (an <img> only sees the status). */
export function statusFor(kind: ErrorKind): number {
  switch (kind) {
    case 'signin-needed':
      return 401;
    case 'denied':
      return 403;
    case 'not-found':
      return 404;
    case 'conflict':
      return 409;
    case 'unsupported':
      return 415;
    case 'invalid-input':
      return 422;
    case 'unreachable':
    case 'busy':
    case 'cancelled':
      return 503;
    case 'internal':
      return 502;
    default:
      return assertNever(kind);
  }
}
