/**
 * The offline manager over a real HTTP range server that stops answering mid-pin: the
 * pin fails on a network error, which turns the app offline; the probe keeps failing
 * while the server drops connections; once it answers again the probe brings the app
 * back online by itself and the failed pin resumes and completes. Also: a budget set by
 * IT policy is refused and reported as locked.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ConnectivityState, PinInfo } from '../../../main/api/contract.js';
import { Connectivity, endpointProbe } from '../../../main/app/offline.js';
import { BUDGET_KEY, OfflineManager } from '../../../main/app/pins.js';
import { AddressCheck } from '../../../main/app/address-check.js';
import { OpenSlides } from '../../../main/app/slides.js';
import { TileCache } from '../../../main/cache/tile-cache.js';
import { HttpRangeReader } from '../../../main/sources/http.js';
import { RangeScheduler } from '../../../main/tiles/scheduler.js';
import { TileService } from '../../../main/tiles/service.js';
import { SHARED_TESTDATA } from '../../stack/stack.js';
import { RangeServer } from '../tiles/fixtures/http-range.js';

const FILE = join(SHARED_TESTDATA, 'derived', 'generic-tiff', 'CMU-1-Small-Region.pyramid-jpeg.tif');

function setup(t: import('node:test').TestContext, server: RangeServer | undefined, locked: string[] = []) {
  const dir = mkdtempSync(join(tmpdir(), 'wsi-offline-resume-'));
  const cache = TileCache.open(join(dir, 'tiles.db'));
  const tiles = new TileService({
    cache,
    // Short retries so a cut surfaces quickly; small reads so the pin takes many requests.
    resolve: async (uri) => new HttpRangeReader(uri, { retry: { maxAttempts: 2, baseDelayMs: 1, maxDelayMs: 5 } }),
    scheduler: new RangeScheduler({ maxMergedBytes: 64 * 1024, maxParallelPerHost: 2 }),
  });
  const connectivity = new Connectivity({ probe: endpointProbe(server ? [new URL(server.url).origin] : []), minProbeMs: 20, maxProbeMs: 50 });
  const saved: number[] = [];
  const manager = new OfflineManager({ tiles, slides: new OpenSlides(tiles, new AddressCheck({ buckets: () => [], archives: () => [] })), connectivity, locked: new Set(locked), saveBudget: (mib) => saved.push(mib), concurrency: 4 });
  t.after(async () => {
    await manager.close();
    connectivity.dispose();
    await tiles.close();
    cache.close();
    rmSync(dir, { recursive: true, force: true });
  });
  return { manager, connectivity, saved };
}

test('a pin cut by the network turns the app offline; when the server answers again it comes back online and the pin completes', async (t) => {
  if (!existsSync(FILE)) return t.skip('the pyramidal TIFF is not in the shared test data');
  const server = new RangeServer(FILE);
  await server.start();
  t.after(() => server.stop());
  const { manager, connectivity } = setup(t, server);
  manager.start();

  const states: ConnectivityState['status'][] = [];
  connectivity.onChange((s) => states.push(s.status));

  const failed = new Promise<void>((resolve) => manager.onChange((pins) => pins.some((p) => p.state === 'error') && resolve()));
  const backOnline = new Promise<void>((resolve) => connectivity.onChange((s) => s.status === 'online' && resolve()));
  const done = new Promise<PinInfo>((resolve) =>
    manager.onChange((pins) => {
      const p = pins.find((x) => x.state === 'done');
      if (p) resolve(p);
    }),
  );

  manager.add(server.url, undefined);
  const job = manager.pins.get(server.url)!;
  // Cut the network once a few tiles are in: decided by progress, not by time.
  job.on('progress', (p: { done: number }) => {
    if (p.done >= 8 && server.dropAfter === undefined && states.length === 0) server.dropAfter = server.requests;
  });
  await failed;
  assert.equal(connectivity.state().status, 'offline', 'the failed pin told the app it is offline');
  const stopped = manager.list()[0]!;
  assert.equal(stopped.state, 'error');
  assert.ok(stopped.done < stopped.total);
  assert.equal((await connectivity.check()).status, 'offline', 'the probe fails while connections are dropped');

  server.dropAfter = undefined;
  await backOnline;
  const pin = await done;
  assert.equal(pin.done, pin.total);
  assert.deepEqual(states, ['offline', 'online']);
  assert.ok(server.dropped > 0);
});

test('a cache budget set by IT policy cannot be changed here', (t) => {
  const { manager, saved } = setup(t, undefined, [BUDGET_KEY]);
  assert.equal(manager.usage().budgetLocked, true);
  assert.throws(() => manager.setBudget(1024), { code: 'SETTINGS_LOCKED' });
  assert.deepEqual(saved, []);
});

test('a budget that is not allowed is refused before anything changes', (t) => {
  const { manager, saved } = setup(t, undefined);
  const before = manager.usage().budget;
  assert.throws(() => manager.setBudget(10), { code: 'SETTINGS_INVALID' });
  assert.throws(() => manager.setBudget(100.5), { code: 'SETTINGS_INVALID' });
  assert.equal(manager.usage().budget, before);
  const after = manager.setBudget(256);
  assert.equal(after.budget, 256 * 1024 * 1024);
  assert.deepEqual(saved, [256]);
});
