/**
 * A rectangle of one level as RGBA pixels, composited from tiles (the CLI `region`
 * command, pixel checks against OpenSlide, thumbnails), and a PNG encoder for it.
 *
 * Tiles come through the TileService (so the cache and scheduler apply) and are decoded
 * in the worker pool. Pixels outside the slide are transparent black, as OpenSlide's
 * read_region gives them. Fluorescence slides: each chosen channel is mapped to 8 bits
 * through its min–max over the region (8-bit channels as they are), tinted with its
 * colour (default blue, green, red, …) and added.
 *
 * Error codes: TILE_REGION_INVALID, TILE_REGION_TOO_LARGE.
 */
import { promisify } from 'node:util';
import { crc32, deflate } from 'node:zlib';
import { throwIfAborted } from '../common/errors.js';
import type { RgbaImage } from '../formats/codecs/decode.js';
import type { EncodedTile } from '../formats/types.js';
import type { SlideHandle, TileService } from './service.js';
import { tileErrors } from './errors.js';

export type { RgbaImage };

export interface RegionRequest {
  level: number;
  /** Top-left corner in this level's pixels. */
  x: number;
  y: number;
  width: number;
  height: number;
  /** Channel planes to composite ('channels' slides). Default: all. */
  channels?: number[];
  signal?: AbortSignal;
}

/** 64 Mpx = 256 MB of RGBA: the most one call may allocate. */
export const MAX_REGION_PIXELS = 64 * 1024 * 1024;
/** Tiles fetched and decoded at once: bounds memory whatever the region size. */
const WINDOW = 8;

/** Worker task modules (see BUILTIN in worker.ts). */
const DECODE_MODULE = 'builtin:decode';
const CHANNEL_MODULE = 'builtin:region-codec';
const DEFAULT_TINTS = ['#0000ff', '#00ff00', '#ff0000', '#ff00ff', '#00ffff', '#ffff00', '#ffffff'];

export async function readRegion(service: TileService, slide: SlideHandle, req: RegionRequest): Promise<RgbaImage> {
  const d = slide.descriptor;
  const level = d.levels[req.level];
  const { x, y, width, height } = req;
  if (!level || ![x, y, width, height].every(Number.isInteger) || width <= 0 || height <= 0) {
    throw tileErrors.make('TILE_REGION_INVALID', `The region ${width}×${height} at ${x},${y} of level ${req.level} is not valid for this slide.`, {
      hint: `Levels 0–${d.levels.length - 1}; width and height must be positive whole numbers.`,
      details: { level: req.level, x, y, width, height },
    });
  }
  if (width * height > MAX_REGION_PIXELS) {
    throw tileErrors.make('TILE_REGION_TOO_LARGE', `A ${width}×${height} region is too large to read at once (limit ${MAX_REGION_PIXELS / 1024 / 1024} megapixels).`, {
      hint: 'Read a smaller region, or a lower-resolution level.',
    });
  }
  const out = new Uint8Array(width * height * 4);
  const channels = d.pixelKind === 'channels' ? (req.channels ?? d.channels.map((_, i) => i)) : [0];
  const c0 = Math.max(0, Math.floor(x / level.tileWidth));
  const r0 = Math.max(0, Math.floor(y / level.tileHeight));
  const c1 = Math.min(level.columns - 1, Math.floor((x + width - 1) / level.tileWidth));
  const r1 = Math.min(level.rows - 1, Math.floor((y + height - 1) / level.tileHeight));
  const jobs: { col: number; row: number; plane: number }[] = [];
  for (let row = r0; row <= r1; row++) for (let col = c0; col <= c1; col++) for (const plane of channels) jobs.push({ col, row, plane });

  const valid = (col: number, row: number) => ({
    w: Math.min(level.tileWidth, level.width - col * level.tileWidth),
    h: Math.min(level.tileHeight, level.height - row * level.tileHeight),
  });
  const opts = { priority: 'visible' as const, ...(req.signal ? { signal: req.signal } : {}) };
  // Fluorescence: one display window per channel over the whole region (pass 1 finds it;
  // pass 2 reads the same tiles again, from the cache, and maps them through it).
  const windows = new Map<number, { lo: number; hi: number }>();
  if (d.pixelKind === 'channels') {
    await lanes(jobs, req.signal, async ({ col, row, plane }) => {
      const tile = await service.getTile(slide, req.level, col, row, plane, opts);
      if (!tile || !isChannelRaw(tile)) return;
      const v = valid(col, row);
      // The part of this tile inside both the slide and the region, in tile pixels.
      const tx = col * level.tileWidth;
      const ty = row * level.tileHeight;
      const part = [Math.max(0, x - tx), Math.max(0, y - ty), Math.min(v.w, x + width - tx), Math.min(v.h, y + height - ty)];
      const r = tile.encoding.kind === 'raw' && tile.encoding.bitsPerSample === 8 && tile.encoding.sampleFormat === 'uint'
        ? { min: 0, max: 255 } // 8-bit samples are shown as they are
        : await service.workers.run<{ min: number; max: number }>(CHANNEL_MODULE, 'rawRange', [tile, ...part], opts);
      const w = windows.get(plane) ?? { lo: Infinity, hi: -Infinity };
      windows.set(plane, { lo: Math.min(w.lo, r.min), hi: Math.max(w.hi, r.max) });
    });
  }
  await lanes(jobs, req.signal, async ({ col, row, plane }) => {
    const tile = await service.getTile(slide, req.level, col, row, plane, opts);
    if (!tile) return;
    const v = valid(col, row);
    const dx = col * level.tileWidth - x;
    const dy = row * level.tileHeight - y;
    if (d.pixelKind !== 'channels') {
      blit(out, width, height, await decode(service, tile, req.signal), dx, dy, v.w, v.h, undefined);
      return;
    }
    const tint = parseColour(d.channels[plane]?.color ?? DEFAULT_TINTS[plane % DEFAULT_TINTS.length]!);
    const win = windows.get(plane);
    if (isChannelRaw(tile) && win) {
      const grey = await service.workers.run<{ width: number; height: number; data: Uint8Array }>(CHANNEL_MODULE, 'rawToGrey', [tile, win.lo, win.hi], opts);
      blitGrey(out, width, height, grey, dx, dy, v.w, v.h, tint);
    } else {
      blit(out, width, height, await decode(service, tile, req.signal), dx, dy, v.w, v.h, tint);
    }
  });
  return { width, height, data: out };
}

/** Run `fn` over `jobs` with at most WINDOW at a time: bounds the tiles held in memory. */
async function lanes<T>(jobs: T[], signal: AbortSignal | undefined, fn: (job: T) => Promise<void>): Promise<void> {
  let next = 0;
  const lane = async (): Promise<void> => {
    while (next < jobs.length) {
      throwIfAborted(signal);
      await fn(jobs[next++]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(WINDOW, jobs.length) }, lane));
}

function isChannelRaw(tile: EncodedTile): boolean {
  return tile.encoding.kind === 'raw' && tile.encoding.samplesPerPixel === 1;
}

/** Add a one-byte-per-pixel grey tile, tinted, into the output. */
function blitGrey(out: Uint8Array, ow: number, oh: number, tile: { width: number; height: number; data: Uint8Array }, dx: number, dy: number, validW: number, validH: number, tint: [number, number, number]): void {
  const w = Math.min(validW, tile.width);
  const h = Math.min(validH, tile.height);
  const sx0 = Math.max(0, -dx);
  const sy0 = Math.max(0, -dy);
  const sx1 = Math.min(w, ow - dx);
  const sy1 = Math.min(h, oh - dy);
  for (let sy = sy0; sy < sy1; sy++) {
    for (let sx = sx0; sx < sx1; sx++) {
      const v = tile.data[sy * tile.width + sx]!;
      const o = ((sy + dy) * ow + sx + dx) * 4;
      // Integer rounding, so a full-strength tint (255) reproduces the grey value exactly.
      out[o] = Math.min(255, out[o]! + Math.round((v * tint[0]) / 255));
      out[o + 1] = Math.min(255, out[o + 1]! + Math.round((v * tint[1]) / 255));
      out[o + 2] = Math.min(255, out[o + 2]! + Math.round((v * tint[2]) / 255));
      out[o + 3] = 255;
    }
  }
}

function decode(service: TileService, tile: EncodedTile, signal: AbortSignal | undefined): Promise<RgbaImage> {
  // Copy into a fresh buffer we can transfer (cache blobs may share a pool with other tiles).
  const bytes = new Uint8Array(tile.bytes);
  return service.workers.run<RgbaImage>(DECODE_MODULE, 'decodeTileToRgba', [{ ...tile, bytes }], { transfer: [bytes.buffer], ...(signal ? { signal } : {}) });
}

/**
 * Copy the valid part of a decoded tile (tiles at the right/bottom edge are padded) into
 * the output at (dx, dy), clipped to the output. With a tint, add the tile's grey value
 * times the tint (fluorescence compositing); otherwise copy.
 */
function blit(out: Uint8Array, ow: number, oh: number, tile: RgbaImage, dx: number, dy: number, validW: number, validH: number, tint: [number, number, number] | undefined): void {
  const w = Math.min(validW, tile.width);
  const h = Math.min(validH, tile.height);
  const sx0 = Math.max(0, -dx);
  const sy0 = Math.max(0, -dy);
  const sx1 = Math.min(w, ow - dx);
  const sy1 = Math.min(h, oh - dy);
  if (sx1 <= sx0 || sy1 <= sy0) return;
  for (let sy = sy0; sy < sy1; sy++) {
    const src = (sy * tile.width + sx0) * 4;
    const dst = ((sy + dy) * ow + sx0 + dx) * 4;
    const n = (sx1 - sx0) * 4;
    if (!tint) {
      out.set(tile.data.subarray(src, src + n), dst);
      continue;
    }
    for (let i = 0; i < n; i += 4) {
      const v = tile.data[src + i]!;
      out[dst + i] = Math.min(255, out[dst + i]! + Math.round((v * tint[0]) / 255));
      out[dst + i + 1] = Math.min(255, out[dst + i + 1]! + Math.round((v * tint[1]) / 255));
      out[dst + i + 2] = Math.min(255, out[dst + i + 2]! + Math.round((v * tint[2]) / 255));
      out[dst + i + 3] = 255;
    }
  }
}

function parseColour(hex: string): [number, number, number] {
  const m = /^#?([0-9a-f]{2})([0-9a-f]{2})([0-9a-f]{2})$/i.exec(hex);
  return m ? [parseInt(m[1]!, 16), parseInt(m[2]!, 16), parseInt(m[3]!, 16)] : [255, 255, 255];
}

const deflateAsync = promisify(deflate);

/**
 * PNG (8-bit RGB, or RGBA with `alpha`) without native dependencies. Compression runs
 * on libuv's thread pool, so a large region does not hold the event loop.
 */
export async function encodePng(image: RgbaImage, options: { alpha?: boolean } = {}): Promise<Uint8Array> {
  const { width, height, data } = image;
  const channels = options.alpha ? 4 : 3;
  const stride = width * channels + 1;
  const raw = Buffer.alloc(stride * height);
  for (let yy = 0; yy < height; yy++) {
    const row = yy * stride; // filter byte 0 (None) at raw[row]
    if (channels === 4) {
      raw.set(data.subarray(yy * width * 4, (yy + 1) * width * 4), row + 1);
    } else {
      for (let xx = 0, s = yy * width * 4, d = row + 1; xx < width; xx++, s += 4, d += 3) {
        raw[d] = data[s]!;
        raw[d + 1] = data[s + 1]!;
        raw[d + 2] = data[s + 2]!;
      }
    }
  }
  const idat = await deflateAsync(raw, { level: 6 });
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 8;
  ihdr[9] = channels === 4 ? 6 : 2;
  return Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), chunk('IHDR', ihdr), chunk('IDAT', idat), chunk('IEND', Buffer.alloc(0))]);
}

function chunk(type: string, body: Buffer): Buffer {
  const head = Buffer.alloc(8);
  head.writeUInt32BE(body.length, 0);
  head.write(type, 4, 'ascii');
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(Buffer.concat([head.subarray(4), body])) >>> 0, 0);
  return Buffer.concat([head, body, crc]);
}
