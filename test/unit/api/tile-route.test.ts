/**
 * The /tiles/… route over a real TileService and TileCache. The slide is a small
 * in-process SlideReader (pure data: which tile is where, what it holds), so each answer
 * the route has to give (JPEG as stored, raw 8-bit as PNG, sparse as a blank, outside
 * the grid, unknown slide, cancelled) is reached deterministically.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { inflateSync } from 'node:zlib';
import { createTileRoute, type ConversionStats, type TileRouteOptions } from '../../../main/api/tile-route.js';
import { TileCache } from '../../../main/cache/tile-cache.js';
import type { EncodedTile, SlideDescriptor, SlideReader, TileLocation } from '../../../main/formats/types.js';
import { FileRangeReader } from '../../../main/sources/file.js';
import type { RangeReader } from '../../../main/sources/types.js';
import { TileService } from '../../../main/tiles/service.js';

const JPEG = Uint8Array.from([0xff, 0xd8, 0xff, 0xe0, 1, 2, 3, 0xff, 0xd9]);
const ID = 'a'.repeat(32);

function descriptor(reader: RangeReader): SlideDescriptor {
  return {
    format: 'test',
    vendor: undefined,
    identity: { uri: reader.uri, size: 100, etag: 'e1', lastModified: undefined },
    levels: [{ width: 8, height: 2, tileWidth: 2, tileHeight: 2, columns: 4, rows: 1, downsample: 1 }],
    mpp: undefined,
    objectivePower: undefined,
    pixelKind: 'rgb',
    channels: [],
    associated: [],
    properties: {},
  };
}

/** Signals the slow tile's locateTile saw, so a test can tell that cancellation reached it. */
const slowSignals: (AbortSignal | undefined)[] = [];

/** Tile 0: missing (sparse); 1: JPEG as stored; 2: raw 8-bit RGB; 3: never ready until cancelled. */
function testSlide(reader: RangeReader): SlideReader {
  const d = descriptor(reader);
  return {
    descriptor: d,
    locateTile: async (level, col, row, plane, signal): Promise<TileLocation | null> => {
      if (col === 3) {
        slowSignals.push(signal);
        await new Promise((_, reject) => signal?.addEventListener('abort', () => reject(signal.reason as Error), { once: true }));
      }
      return col === 0 ? null : { level, col, row, plane, ranges: [{ offset: 0, length: 4 }] };
    },
    assembleTile: async (loc): Promise<EncodedTile> =>
      loc.col === 1
        ? { level: 0, col: 1, row: 0, plane: 0, width: 2, height: 2, encoding: { kind: 'jpeg' }, mime: 'image/jpeg', bytes: JPEG }
        : {
            level: 0,
            col: 2,
            row: 0,
            plane: 0,
            width: 2,
            height: 2,
            encoding: { kind: 'raw', bitsPerSample: 8, samplesPerPixel: 3, sampleFormat: 'uint' },
            mime: 'application/octet-stream',
            bytes: Uint8Array.from([255, 0, 0, 0, 255, 0, 0, 0, 255, 10, 20, 30]),
          },
    readAssociated: async () => {
      throw new Error('none');
    },
    close: async () => undefined,
  };
}

/** A tile service over a test slide (this very file serves as the object its ranges are read from) and the route over it, open under ID. */
async function routeOver(
  open: (reader: RangeReader) => SlideReader,
  options: Pick<TileRouteOptions, 'maxConversions' | 'maxQueuedConversions'> = {},
): Promise<{ get: (path: string, init?: RequestInit) => Promise<Response>; conversions(): ConversionStats; close(): Promise<void> }> {
  const dir = mkdtempSync(join(tmpdir(), 'wsi-tile-route-'));
  const cache = TileCache.open(join(dir, 'tiles.db'));
  const file = fileURLToPath(import.meta.url);
  const service = new TileService({ cache, resolve: async () => new FileRangeReader(file), openSlide: async (reader) => open(reader) });
  const handle = await service.open(file);
  const route = createTileRoute({ tiles: service, slide: (id) => (id === ID ? handle : undefined), ...options });
  return {
    get: (path, init = {}) => route(new Request(`http://127.0.0.1:1${path}`, init)),
    conversions: () => route.conversions(),
    close: async () => {
      await service.close();
      cache.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

describe('tile route', () => {
  let w: Awaited<ReturnType<typeof routeOver>>;
  const get = (path: string, init: RequestInit = {}) => w.get(path, init);

  before(async () => {
    w = await routeOver(testSlide);
  });
  after(() => w.close());

  test('a stored JPEG tile is served as it is, privately cacheable', async () => {
    const r = await get(`/tiles/${ID}/0/1/0`);
    assert.equal(r.status, 200);
    assert.equal(r.headers.get('content-type'), 'image/jpeg');
    assert.match(r.headers.get('cache-control') ?? '', /^private, max-age=\d+$/);
    assert.ok(r.headers.get('content-security-policy'));
    assert.deepEqual(new Uint8Array(await r.arrayBuffer()), JPEG);
    const head = await get(`/tiles/${ID}/0/1/0`, { method: 'HEAD' });
    assert.equal(head.status, 200);
    assert.equal((await head.arrayBuffer()).byteLength, 0);
  });

  test('a raw 8-bit tile becomes a PNG with the same pixels', async () => {
    const r = await get(`/tiles/${ID}/0/2/0`);
    assert.equal(r.status, 200);
    assert.equal(r.headers.get('content-type'), 'image/png');
    const png = Buffer.from(await r.arrayBuffer());
    assert.equal(png.subarray(1, 4).toString('latin1'), 'PNG');
    assert.equal(png.readUInt32BE(16), 2);
    assert.equal(png.readUInt32BE(20), 2);
    const idat = png.subarray(png.indexOf('IDAT') + 4, png.indexOf('IEND') - 8);
    const raw = inflateSync(idat);
    // Two rows, each a filter byte then RGB or RGBA samples; filter 0 in our encoder is not assumed.
    assert.ok(raw.length === 2 * (1 + 2 * 3) || raw.length === 2 * (1 + 2 * 4));
  });

  test('a tile the slide does not have is a transparent blank, not an error', async () => {
    const r = await get(`/tiles/${ID}/0/0/0`);
    assert.equal(r.status, 200);
    assert.equal(r.headers.get('content-type'), 'image/png');
    assert.equal(r.headers.get('x-tile'), 'empty');
  });

  test('outside the grid, unknown slides and malformed addresses are refused', async () => {
    assert.equal((await get(`/tiles/${ID}/0/4/0`)).status, 404);
    assert.equal((await get(`/tiles/${ID}/1/0/0`)).status, 404);
    assert.equal((await get(`/tiles/${ID}/0/0/1`)).status, 404);
    assert.equal((await get(`/tiles/${'b'.repeat(32)}/0/1/0`)).status, 404);
    assert.equal((await get(`/tiles/${ID}/0/-1/0`)).status, 404);
    assert.equal((await get(`/tiles/${ID}/x/1/0`)).status, 404);
    assert.equal((await get(`/tiles/${ID}/0/1/0?plane=abc`)).status, 400);
  });

  test('a cancelled request stops and answers without throwing', async () => {
    const abort = new AbortController();
    abort.abort();
    const r = await get(`/tiles/${ID}/0/2/0`, { signal: abort.signal });
    assert.equal(r.status, 503);
  });

  test("the request's AbortSignal reaches the slide reader while the tile is being located", async () => {
    const abort = new AbortController();
    const pending = get(`/tiles/${ID}/0/3/0`, { signal: abort.signal });
    while (slowSignals.length === 0) await new Promise((r) => setImmediate(r));
    assert.ok(slowSignals[0], 'the reader got a signal');
    assert.equal(slowSignals[0].aborted, false);
    abort.abort();
    const r = await pending;
    assert.equal(r.status, 503);
    assert.equal(slowSignals[0].aborted, true);
  });
});

describe('tile route: raw→PNG conversions are bounded in number', () => {
  test('a burst of 24 raw tiles never has more than the limit converting at once; the rest wait and all succeed', async () => {
    const w = await routeOver(testSlide, { maxConversions: 2 });
    try {
      const answers = await Promise.all(Array.from({ length: 24 }, () => w.get(`/tiles/${ID}/0/2/0`)));
      assert.deepEqual([...new Set(answers.map((r) => r.status))], [200]);
      for (const r of answers) assert.equal(r.headers.get('content-type'), 'image/png');
      const s = w.conversions();
      assert.equal(s.limit, 2);
      assert.equal(s.done, 24);
      assert.ok(s.peakActive <= 2, `peak ${s.peakActive} conversions at once`);
      assert.ok(s.peakQueued > 0, 'the burst had to queue (else the bound was not exercised)');
      assert.deepEqual([s.active, s.queued], [0, 0]);
    } finally {
      await w.close();
    }
  });

  test('past the queue bound a conversion is answered busy (503, retry-after); a cancelled waiter leaves the queue', async () => {
    const w = await routeOver(testSlide, { maxConversions: 1, maxQueuedConversions: 2 });
    try {
      const abort = new AbortController();
      const burst = Array.from({ length: 8 }, (_, i) => w.get(`/tiles/${ID}/0/2/0`, i === 1 ? { signal: abort.signal } : {}));
      while (w.conversions().queued === 0) await new Promise((r) => setImmediate(r));
      abort.abort();
      const answers = await Promise.all(burst);
      const busy = answers.filter((r) => r.headers.get('x-error-code') === 'TILE_CONVERSIONS_BUSY');
      assert.ok(busy.length > 0, `statuses ${answers.map((r) => r.status).join(',')}`);
      for (const r of busy) {
        assert.equal(r.status, 503);
        assert.equal(r.headers.get('x-error-kind'), 'busy');
        assert.ok(r.headers.get('retry-after'));
      }
      const s = w.conversions();
      assert.ok(s.peakActive <= 1 && s.peakQueued <= 2, JSON.stringify(s));
      assert.deepEqual([s.active, s.queued], [0, 0]);
    } finally {
      await w.close();
    }
  });
});

/**
 * A fluorescence slide: plane 0 is raw 16-bit (as OME-TIFF channels are), plane 1 an 8-bit
 * greyscale JPEG frame (as DICOM optical paths are); tile 1 has no data for either.
 */
const SAMPLES_16 = Uint8Array.from([0x34, 0x12, 0xff, 0xff, 0x00, 0x01, 0x02, 0x00]);
function channelSlide(reader: RangeReader): SlideReader {
  const d: SlideDescriptor = {
    ...descriptor(reader),
    levels: [{ width: 3, height: 2, tileWidth: 2, tileHeight: 2, columns: 2, rows: 1, downsample: 1 }],
    pixelKind: 'channels',
    channels: [
      { name: 'DAPI', color: undefined, bitsPerSample: 16 },
      { name: 'TRITC', color: undefined, bitsPerSample: 8 },
    ] as SlideDescriptor['channels'],
  };
  return {
    descriptor: d,
    locateTile: async (level, col, row, plane): Promise<TileLocation | null> => (col === 1 ? null : { level, col, row, plane, ranges: [{ offset: 0, length: 4 }] }),
    assembleTile: async (loc): Promise<EncodedTile> =>
      loc.plane === 0
        ? {
            level: 0,
            col: 0,
            row: 0,
            plane: 0,
            width: 2,
            height: 2,
            encoding: { kind: 'raw', bitsPerSample: 16, samplesPerPixel: 1, sampleFormat: 'uint' },
            mime: 'application/octet-stream',
            bytes: SAMPLES_16,
          }
        : { level: 0, col: 0, row: 0, plane: 1, width: 2, height: 2, encoding: { kind: 'jpeg' }, mime: 'image/jpeg', bytes: JPEG },
    readAssociated: async () => {
      throw new Error('none');
    },
    close: async () => undefined,
  };
}

describe('tile route: raw channel planes for the fluorescence view', () => {
  let w: Awaited<ReturnType<typeof routeOver>>;
  const get = (path: string, init: RequestInit = {}) => w.get(path, init);

  before(async () => {
    w = await routeOver(channelSlide);
  });
  after(() => w.close());

  test('a 16-bit plane comes as its own little-endian samples with its geometry in headers', async () => {
    const r = await get(`/tiles/${ID}/0/0/0?plane=0&format=raw`);
    assert.equal(r.status, 200);
    assert.equal(r.headers.get('content-type'), 'application/octet-stream');
    assert.equal(r.headers.get('x-tile-width'), '2');
    assert.equal(r.headers.get('x-tile-height'), '2');
    assert.equal(r.headers.get('x-tile-bits-per-sample'), '16');
    assert.equal(r.headers.get('x-tile-samples-per-pixel'), '1');
    assert.equal(r.headers.get('x-tile-sample-format'), 'uint');
    assert.equal(r.headers.get('x-tile-byte-order'), 'little-endian');
    assert.equal(r.headers.get('content-length'), String(SAMPLES_16.length));
    assert.match(r.headers.get('cache-control') ?? '', /^private, max-age=\d+$/);
    assert.ok(r.headers.get('content-security-policy'));
    assert.deepEqual(new Uint8Array(await r.arrayBuffer()), SAMPLES_16);
    const head = await get(`/tiles/${ID}/0/0/0?plane=0&format=raw`, { method: 'HEAD' });
    assert.equal(head.status, 200);
    assert.equal(head.headers.get('x-tile-bits-per-sample'), '16');
    assert.equal((await head.arrayBuffer()).byteLength, 0);
  });

  test('a plane stored as a JPEG frame comes as it is stored, for the browser to decode', async () => {
    const r = await get(`/tiles/${ID}/0/0/0?plane=1&format=raw`);
    assert.equal(r.status, 200);
    assert.equal(r.headers.get('content-type'), 'image/jpeg');
    assert.deepEqual(new Uint8Array(await r.arrayBuffer()), JPEG);
  });

  test('a tile the slide does not have is 204 with x-tile: empty', async () => {
    const r = await get(`/tiles/${ID}/0/1/0?plane=0&format=raw`);
    assert.equal(r.status, 204);
    assert.equal(r.headers.get('x-tile'), 'empty');
    assert.equal((await r.arrayBuffer()).byteLength, 0);
  });

  test('16-bit samples for an <img> are refused with a 415 that says how to ask for them', async () => {
    const r = await get(`/tiles/${ID}/0/0/0?plane=0`);
    assert.equal(r.status, 415);
    assert.equal(r.headers.get('x-error-code'), 'TILE_NOT_DISPLAYABLE');
    assert.match(await r.text(), /16-bit uint/);
  });

  test('a plane the slide does not have and an unknown format are refused', async () => {
    const r = await get(`/tiles/${ID}/0/0/0?plane=2&format=raw`);
    assert.equal(r.status, 404);
    assert.match(await r.text(), /no plane 2 \(it has 2\)/);
    assert.equal((await get(`/tiles/${ID}/0/0/0?plane=0&format=png16`)).status, 400);
  });
});
