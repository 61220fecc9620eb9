/**
 * readRegion on a real pyramidal TIFF through the whole path (real parser, scheduler,
 * cache, worker decode), checked against OpenSlide's read_region (Debian's
 * python3-openslide) at several places and levels, and the PNG encoder round-tripped.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inflateSync } from 'node:zlib';
import { TileCache } from '../../../main/cache/tile-cache.js';
import { FileRangeReader } from '../../../main/sources/file.js';
import { encodePng, readRegion } from '../../../main/tiles/region.js';
import { TileService } from '../../../main/tiles/service.js';
import { testdata } from '../../support/paths.js';

const FILE = testdata('derived/generic-tiff/CMU-1-Small-Region.pyramid-jpeg.tif');
const PY = '/usr/bin/python3';

const OPENSLIDE = `
import sys, openslide
s = openslide.OpenSlide(sys.argv[1])
level, x, y, w, h = map(int, sys.argv[2:7])
ds = s.level_downsamples[level]
img = s.read_region((round(x * ds), round(y * ds)), level, (w, h)).convert('RGBA')
sys.stdout.buffer.write(img.tobytes())
`;

function openslideRegion(level: number, x: number, y: number, w: number, h: number): Uint8Array | undefined {
  const r = spawnSync(PY, ['-c', OPENSLIDE, FILE, String(level), String(x), String(y), String(w), String(h)], { maxBuffer: 64 << 20 });
  if (r.status !== 0) return undefined;
  return new Uint8Array(r.stdout);
}

function psnr(a: Uint8Array, b: Uint8Array): number {
  let se = 0;
  let n = 0;
  for (let i = 0; i < a.length; i += 4) {
    for (let c = 0; c < 3; c++) {
      const d = a[i + c]! - b[i + c]!;
      se += d * d;
      n += 1;
    }
  }
  return se === 0 ? Infinity : 10 * Math.log10((255 * 255) / (se / n));
}

function setup(t: { after: (fn: () => unknown) => void }) {
  const dir = mkdtempSync(join(tmpdir(), 'wsi-region-'));
  const cache = TileCache.open(join(dir, 'cache.db'));
  const service = new TileService({ cache, resolve: async (uri) => new FileRangeReader(uri) });
  t.after(async () => {
    await service.close();
    cache.close();
    rmSync(dir, { recursive: true, force: true });
  });
  return service;
}

const haveOpenSlide = existsSync(PY) && spawnSync(PY, ['-c', 'import openslide']).status === 0;

test('regions match OpenSlide read_region at several places and levels (PSNR ≥ 35 dB)', { skip: !haveOpenSlide && 'python3-openslide missing' }, async (t) => {
  const service = setup(t);
  const slide = await service.open(FILE);
  const cases = [
    { level: 0, x: 1000, y: 1400, width: 300, height: 200 }, // crosses tile borders
    { level: 0, x: 2100, y: 2900, width: 120, height: 67 }, // bottom-right edge tiles
    { level: 1, x: 200, y: 300, width: 400, height: 300 },
    { level: 2, x: 0, y: 0, width: 555, height: 741 }, // the whole level
  ];
  for (const c of cases) {
    const ours = await readRegion(service, slide, c);
    const ref = openslideRegion(c.level, c.x, c.y, c.width, c.height);
    assert.ok(ref, 'OpenSlide read the region');
    assert.equal(ours.data.length, ref.length);
    const db = psnr(ours.data, ref);
    t.diagnostic(`level ${c.level} ${c.width}x${c.height}@${c.x},${c.y}: PSNR ${db.toFixed(1)} dB`);
    assert.ok(db >= 35, `PSNR ${db.toFixed(1)} dB at ${JSON.stringify(c)}`);
  }
  // All of it came through the worker pool, and a second read is served from the cache.
  assert.ok(service.stats().workers.completed > 0);
  const before = service.stats().tilesFromStorage;
  await readRegion(service, slide, cases[0]!);
  assert.equal(service.stats().tilesFromStorage, before);
});

test('pixels outside the slide are transparent; bad and oversized regions are refused', async (t) => {
  const service = setup(t);
  const slide = await service.open(FILE);
  const img = await readRegion(service, slide, { level: 4, x: 100, y: 150, width: 100, height: 100 });
  // level 4 is 138×185: columns 38+ and rows 35+ are outside
  const at = (x: number, y: number) => img.data.subarray((y * 100 + x) * 4, (y * 100 + x) * 4 + 4);
  assert.equal(at(10, 10)[3], 255);
  assert.deepEqual([...at(60, 10)], [0, 0, 0, 0]);
  assert.deepEqual([...at(10, 60)], [0, 0, 0, 0]);
  await assert.rejects(readRegion(service, slide, { level: 9, x: 0, y: 0, width: 10, height: 10 }), { code: 'TILE_REGION_INVALID' });
  await assert.rejects(readRegion(service, slide, { level: 0, x: 0, y: 0, width: 0, height: 10 }), { code: 'TILE_REGION_INVALID' });
  await assert.rejects(readRegion(service, slide, { level: 0, x: 0, y: 0, width: 100_000, height: 100_000 }), { code: 'TILE_REGION_TOO_LARGE' });
});

test('encodePng writes a PNG whose pixels decode back exactly', async (t) => {
  const service = setup(t);
  const slide = await service.open(FILE);
  const img = await readRegion(service, slide, { level: 3, x: 10, y: 20, width: 97, height: 61 });
  for (const alpha of [false, true]) {
    const png = Buffer.from(await encodePng(img, { alpha }));
    assert.deepEqual([...png.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
    assert.equal(png.readUInt32BE(16), 97);
    assert.equal(png.readUInt32BE(20), 61);
    const idatLen = png.readUInt32BE(33);
    assert.equal(png.toString('ascii', 37, 41), 'IDAT');
    const raw = inflateSync(png.subarray(41, 41 + idatLen));
    const ch = alpha ? 4 : 3;
    for (let y = 0; y < 61; y++) {
      assert.equal(raw[y * (97 * ch + 1)], 0);
      for (let x = 0; x < 97; x++) {
        for (let c = 0; c < ch; c++) assert.equal(raw[y * (97 * ch + 1) + 1 + x * ch + c], img.data[(y * 97 + x) * 4 + c]);
      }
    }
  }
  // The system's own PNG reader agrees (vips from Debian).
  const dir = mkdtempSync(join(tmpdir(), 'wsi-png-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'r.png');
  const { writeFileSync } = await import('node:fs');
  writeFileSync(file, await encodePng(img));
  const r = spawnSync('vipsheader', [file], { encoding: 'utf8' });
  if (r.status === 0) assert.match(r.stdout, /97x61 uchar, 3 bands/);
});

const OME = testdata('derived/ome-tiff/NDPI-DAPI-TRITC.2ch-uint16-pyramid-subifds.ome.tif');
const TIFFFILE = `
import sys, numpy as np, tifffile
level, x, y, w, h = map(int, sys.argv[2:7])
a = tifffile.TiffFile(sys.argv[1]).series[0].levels[level].asarray()[:, y:y+h, x:x+w].astype(np.float64)
out = np.zeros((h, w, 4), np.uint8)
for c, band in ((0, 2), (1, 1)):  # DAPI -> blue, TRITC -> green (the default tints)
    lo, hi = a[c].min(), a[c].max()
    out[:, :, band] = np.clip(np.floor((a[c] - lo) * 255.0 / (hi - lo) + 0.5), 0, 255)
out[:, :, 3] = 255
sys.stdout.buffer.write(out.tobytes())
`;

test('a 16-bit two-channel OME-TIFF region is windowed per channel across tiles, as tifffile reads it', { skip: spawnSync(PY, ['-c', 'import tifffile']).status !== 0 && 'python3-tifffile missing' }, async (t) => {
  const service = setup(t);
  const slide = await service.open(OME);
  assert.equal(slide.descriptor.pixelKind, 'channels');
  for (const c of [{ level: 0, x: 200, y: 300, width: 400, height: 300 }, { level: 1, x: 0, y: 0, width: 992, height: 1216 }]) {
    const ours = await readRegion(service, slide, c);
    const r = spawnSync(PY, ['-c', TIFFFILE, OME, String(c.level), String(c.x), String(c.y), String(c.width), String(c.height)], { maxBuffer: 64 << 20 });
    assert.equal(r.status, 0, r.stderr?.toString());
    const ref = new Uint8Array(r.stdout);
    assert.equal(ours.data.length, ref.length);
    let worst = 0;
    for (let i = 0; i < ref.length; i++) worst = Math.max(worst, Math.abs(ours.data[i]! - ref[i]!));
    t.diagnostic(`level ${c.level} ${c.width}x${c.height}: largest difference ${worst}`);
    assert.ok(worst <= 1, `largest difference ${worst} at ${JSON.stringify(c)}`);
  }
  // One channel only: the green band stays empty.
  const dapi = await readRegion(service, slide, { level: 2, x: 0, y: 0, width: 200, height: 200, channels: [0] });
  assert.ok(dapi.data.some((v, i) => i % 4 === 2 && v > 0));
  assert.ok(dapi.data.every((v, i) => i % 4 !== 1 || v === 0));
});
