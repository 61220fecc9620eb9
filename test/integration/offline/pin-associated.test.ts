/**
 * A pinned slide's associated images (label, macro, thumbnail) are kept with its tiles:
 * pinned from the real Aperio file, then read by a service that cannot reach the file at
 * all (the offline path of TileService.open), every associated image comes from the cache.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TileCache } from '../../../main/cache/tile-cache.js';
import { FileRangeReader } from '../../../main/sources/file.js';
import { PinManager } from '../../../main/tiles/pinning.js';
import { TileService } from '../../../main/tiles/service.js';
import { SHARED_TESTDATA } from '../../stack/stack.js';

const FILE = join(SHARED_TESTDATA, 'aperio-svs', 'CMU-1-Small-Region.svs');

test('pinning keeps the associated images; offline they come from the cache', async (t) => {
  if (!existsSync(FILE)) return t.skip('the Aperio test file is not in the shared test data');
  const dir = mkdtempSync(join(tmpdir(), 'wsi-pin-assoc-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const cache = TileCache.open(join(dir, 'tiles.db'));
  t.after(() => cache.close());

  const online = new TileService({ cache, resolve: async (uri) => new FileRangeReader(uri) });
  const pins = new PinManager(online);
  const job = pins.pin(FILE);
  await new Promise<void>((resolve, reject) => {
    job.once('done', () => resolve());
    job.once('error', reject);
  });
  await pins.close();
  const handle = await online.open(FILE);
  const names = handle.descriptor.associated.map((a) => a.name);
  assert.ok(names.length >= 2, `associated images: ${names.join(', ')}`);
  await online.closeSlide(handle);
  await online.close();

  // Storage "unreachable": the resolver fails the way a refused connection does.
  const offline = new TileService({
    cache,
    resolve: async () => {
      throw Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:9'), { code: 'ECONNREFUSED' });
    },
  });
  t.after(() => offline.close());
  const h = await offline.open(FILE);
  assert.equal(h.offline, true);
  for (const name of names) {
    const image = await offline.getAssociated(h, name);
    assert.ok(image.bytes.length > 0, `${name} from the cache`);
  }
});
