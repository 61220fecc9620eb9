/**
 * What the tests of files written here by libvips or tifffile share: the source slide, a
 * checked `vips` call, and a tile service over local files in a temp folder removed after the test.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { TileCache } from '../../../main/cache/tile-cache.js';
import { FileRangeReader } from '../../../main/sources/file.js';
import { TileService } from '../../../main/tiles/service.js';
import { testdata } from '../../support/paths.js';

export const SOURCE = testdata('derived', 'generic-tiff', 'CMU-1-Small-Region.pyramid-jpeg.tif');
export const haveVips = spawnSync('vips', ['--version']).status === 0;

export function vips(...args: string[]): void {
  const r = spawnSync('vips', args, { encoding: 'utf8' });
  assert.equal(r.status, 0, `vips ${args.join(' ')}: ${r.stderr}`);
}

/** A temp folder and a tile service reading local files, both gone when the test ends. */
export function localService(t: TestContext, prefix: string): { dir: string; service: TileService } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  const cache = TileCache.open(join(dir, 'cache.db'));
  const service = new TileService({ cache, resolve: async (uri) => new FileRangeReader(uri) });
  t.after(async () => {
    await service.close();
    cache.close();
    rmSync(dir, { recursive: true, force: true });
  });
  return { dir, service };
}
