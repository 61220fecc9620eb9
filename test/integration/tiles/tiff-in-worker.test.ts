/**
 * Non-JPEG TIFF tiles served through the TileService are decoded in its worker pool
 * (Deflate OME-TIFF, big-endian Deflate with predictor, Aperio JPEG 2000), with the same
 * samples as the direct `assembleTile` path the CLI uses.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { deflateSync } from 'node:zlib';
import { TileCache } from '../../../main/cache/tile-cache.js';
import { openSlide, readTile } from '../../../main/formats/open.js';
import { FileRangeReader } from '../../../main/sources/file.js';
import type { RangeReader } from '../../../main/sources/types.js';
import { TileService } from '../../../main/tiles/service.js';
import { WorkerPool } from '../../../main/tiles/workers.js';
import { MemoryReader, TiffBuilder, tiledIfd } from '../../unit/formats/tiff-builder.js';
import { reference, TESTDATA } from '../formats/reference.js';

function service(t: { after: (fn: () => unknown) => void }, reader: () => RangeReader): TileService {
  const dir = mkdtempSync(join(tmpdir(), 'wsi-tiffw-'));
  const workers = new WorkerPool({ size: 1 });
  const cache = TileCache.open(join(dir, 'cache.db'));
  const svc = new TileService({ cache, workers, resolve: async () => reader() });
  t.after(async () => {
    await svc.close();
    cache.close();
    await workers.close();
    rmSync(dir, { recursive: true, force: true });
  });
  return svc;
}

test('Deflate 16-bit OME-TIFF tiles decode in the worker, equal to the direct path', async (t) => {
  const path = `${TESTDATA}/derived/ome-tiff/NDPI-DAPI-TRITC.2ch-uint16-pyramid-subifds.ome.tif`;
  const svc = service(t, () => new FileRangeReader(path));
  const handle = await svc.open('file:///ome.tif');
  const directReader = new FileRangeReader(path);
  const direct = await openSlide(directReader);
  t.after(() => direct.close());
  const wanted = [[0, 0, 0, 0], [0, 3, 2, 1], [1, 1, 1, 0], [4, 0, 0, 1]] as const;
  for (const [level, col, row, plane] of wanted) {
    const viaService = await svc.getTile(handle, level, col, row, plane);
    const viaDirect = await readTile(direct, directReader, level, col, row, plane);
    assert.ok(viaService && viaDirect);
    assert.deepEqual(viaService.encoding, { kind: 'raw', bitsPerSample: 16, samplesPerPixel: 1, sampleFormat: 'uint' });
    assert.deepEqual([viaService.width, viaService.height], [viaDirect.width, viaDirect.height]);
    assert.deepEqual(new Uint8Array(viaService.bytes), new Uint8Array(viaDirect.bytes));
    assert.ok(viaService.bytes.some((b) => b !== 0), 'tile has content');
  }
  assert.equal(svc.stats().workers.completed, wanted.length);
});

test('big-endian Deflate tiles with a predictor decode in the worker, little-endian as on the direct path', async (t) => {
  const b = new TiffBuilder({ littleEndian: false });
  const values = Array.from({ length: 64 }, (_, i) => i * 1000 + 7);
  const diff = new Uint8Array(128);
  for (let i = 0; i < 64; i++) {
    const v = i % 8 === 0 ? values[i]! : (values[i]! - values[i - 1]!) & 0xffff;
    diff[i * 2] = v >> 8;
    diff[i * 2 + 1] = v & 0xff;
  }
  const file = b.build([tiledIfd(b, { width: 8, height: 8, tile: 8, bits: 16, compression: 8, tiles: [deflateSync(diff)], extra: [{ tag: 317, type: 3, values: [2] }] })]);
  const svc = service(t, () => new MemoryReader(file));
  const tile = await svc.getTile(await svc.open('memory:///be.tif'), 0, 0, 0);
  assert.ok(tile);
  const dv = new DataView(tile.bytes.buffer, tile.bytes.byteOffset, tile.bytes.byteLength);
  assert.deepEqual(Array.from({ length: 64 }, (_, i) => dv.getUint16(i * 2, true)), values);
  assert.equal(svc.stats().workers.completed, 1);
  const direct = await openSlide(new MemoryReader(file));
  assert.deepEqual(new Uint8Array(tile.bytes), new Uint8Array((await readTile(direct, new MemoryReader(file), 0, 0, 0))!.bytes));
});

test('Aperio JPEG 2000 (33003 YCbCr) tiles decode in the worker, equal to the direct path', async (t) => {
  const ref = await reference('j2k', '-', [{ kind: 'j2k-ycbcr' }]);
  const b = new TiffBuilder();
  const file = b.build([tiledIfd(b, {
    width: 64, height: 48, tile: 64, spp: 3, compression: 33003, tiles: [ref.data[0]!],
    extra: [{ tag: 270, type: 2, values: 'Aperio Image Library v12.0.0\r\n64x48 (64x64) J2K/KDU Q=70|AppMag = 20|MPP = 0.5' }],
  })]);
  const svc = service(t, () => new MemoryReader(file, 'j2k.svs'));
  const tile = await svc.getTile(await svc.open('memory:///j2k.svs'), 0, 0, 0);
  assert.ok(tile);
  assert.equal(svc.stats().workers.completed, 1);
  const direct = await openSlide(new MemoryReader(file, 'j2k.svs'));
  const viaDirect = await readTile(direct, new MemoryReader(file, 'j2k.svs'), 0, 0, 0);
  assert.ok(viaDirect);
  assert.deepEqual(tile.encoding, viaDirect.encoding);
  assert.deepEqual([tile.width, tile.height], [64, 48]);
  assert.deepEqual(new Uint8Array(tile.bytes), new Uint8Array(viaDirect.bytes));
});

test('JPEG tiles stay on the main thread (a splice, no decode)', async (t) => {
  const path = `${TESTDATA}/derived/generic-tiff/CMU-1-Small-Region.pyramid-jpeg.tif`;
  const svc = service(t, () => new FileRangeReader(path));
  const tile = await svc.getTile(await svc.open('file:///vips.tif'), 2, 0, 0);
  assert.equal(tile?.encoding.kind, 'jpeg');
  assert.equal(svc.stats().workers.completed, 0);
});
