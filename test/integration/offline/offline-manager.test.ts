/**
 * The offline manager through the app's own services (createServices, the composition
 * root both hosts use) against the real stack: alice signs in with the real IdP in
 * Chromium, reads from MinIO with her STS credentials; pins go through the contract
 * handlers and their events through the event bus the transports forward.
 *
 * Order matters (one stack, one app data folder): pin and watch progress; pause/resume
 * and cancel; cache usage and "clear cache" keeping the pin; an app restart resuming a
 * download that the shutdown interrupted; then MinIO is stopped and the app works
 * offline: says so, lists the pinned slide as fully available, serves every pinned tile
 * and refuses a slide it holds nothing of with SLIDE_NOT_AVAILABLE_OFFLINE.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import type { Browser } from 'playwright-core';
import type { ApiEventName, ApiEvents, ConnectivityState, PinInfo } from '../../../main/api/contract.js';
import { createEventBus, createHandlers, dispatch, type ApiHandlers } from '../../../main/api/handlers.js';
import { createServices, TILE_CACHE_FILE, type Services } from '../../../main/app/services.js';
import { TileCache } from '../../../main/cache/tile-cache.js';
import { pinTiles } from '../../../main/tiles/pinning.js';
import { completeLogin, launchChromium } from '../../stack/browser-login.js';
import { ensureDemoSlide } from '../../stack/demo-slides.js';
import { startStack, type RunningStack } from '../../stack/stack.js';

const DEMO = 's3://pathology-slides/demo/demo-tissue-a.tif';
const TEACHING = 's3://teaching/demo/demo-tissue-c.tif';

interface App {
  services: Services;
  handlers: ApiHandlers;
  events: { name: ApiEventName; payload: unknown }[];
  call<T>(method: string, params?: unknown): Promise<T>;
  /** Resolves with the first event of `name` that satisfies `when` (including ones already seen). */
  waitFor<E extends ApiEventName>(name: E, when: (p: ApiEvents[E]) => boolean): Promise<ApiEvents[E]>;
}

describe('offline manager (services + contract, real stack)', () => {
  let stack: RunningStack;
  let browser: Browser;
  let dataDir: string;
  let app: App;

  async function startApp(): Promise<App> {
    const logins: Promise<void>[] = [];
    const services = await createServices({
      configFile: stack.configFile,
      isolated: true,
      dataDir,
      host: 'headless',
      // The "system browser": a fresh Chromium context logs alice in (not awaited: the app waits for the callback).
      openBrowser: async (url) => {
        const user = stack.users.find((u) => u.username === 'alice')!;
        logins.push(
          (async () => {
            const ctx = await browser.newContext();
            try {
              await completeLogin(await ctx.newPage(), url, user);
            } finally {
              await ctx.close();
            }
          })(),
        );
      },
    });
    const handlers = createHandlers(services.api);
    const bus = createEventBus(services.api);
    const events: App['events'] = [];
    const waiters = new Set<() => void>();
    bus.onAny((name, payload) => {
      events.push({ name, payload });
      for (const w of [...waiters]) w();
    });
    const a: App = {
      services,
      handlers,
      events,
      async call<T>(method: string, params?: unknown): Promise<T> {
        const reply = await dispatch(handlers, method, params);
        if (!reply.ok) throw Object.assign(new Error(reply.error.message), { code: reply.error.code });
        return reply.result as T;
      },
      waitFor(name, when) {
        return new Promise((resolve) => {
          const check = (): boolean => {
            const hit = events.find((e) => e.name === name && when(e.payload as never));
            if (hit) {
              waiters.delete(check);
              resolve(hit.payload as never);
              return true;
            }
            return false;
          };
          if (!check()) waiters.add(check);
        });
      },
    };
    if (services.auth.state().status !== 'signed-in') {
      const state = await a.call<{ status: string }>('auth.signIn');
      await Promise.all(logins);
      assert.equal(state.status, 'signed-in');
    }
    return a;
  }

  before(async () => {
    stack = await startStack({ seedSharedTestdata: false });
    browser = await launchChromium();
    dataDir = mkdtempSync(join(tmpdir(), 'wsi-offline-'));
    app = await startApp();
  });
  after(async () => {
    await app?.services.dispose();
    await browser?.close();
    await stack?.stop();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  test('pinning the demo slide: progress events up to 100 %, every tile of every level cached', async () => {
    const first = await app.call<PinInfo>('pins.add', { uri: DEMO });
    assert.equal(first.uri, DEMO);
    assert.equal(first.name, 'demo-tissue-a.tif');
    const done = await app.waitFor('pins.changed', (pins) => pins.some((p) => p.uri === DEMO && p.state === 'done'));
    const pin = done.find((p) => p.uri === DEMO)!;
    assert.equal(pin.done, pin.total);
    assert.ok(pin.total > 100, `${pin.total} tiles`);
    assert.ok(pin.sizeBytes > 0 && pin.downloadedBytes > 0);
    assert.equal(pin.minDownsample, undefined, 'whole slide');

    // Progress went up monotonically, through intermediate values, and ended at the total.
    const seen = app.events.filter((e) => e.name === 'pins.changed').map((e) => (e.payload as PinInfo[]).find((p) => p.uri === DEMO)).filter((p) => p !== undefined);
    for (let i = 1; i < seen.length; i++) assert.ok(seen[i]!.done >= seen[i - 1]!.done, 'progress never goes back');
    assert.ok(seen.some((p) => p.state === 'running'), 'running state was reported');

    const handle = await app.services.tiles.open(DEMO);
    try {
      const keys = pinTiles(handle.descriptor, {});
      assert.equal(keys.length, pin.total);
      assert.ok(keys.every((k) => app.services.tiles.isCached(handle, k.level, k.col, k.row, k.plane)));
    } finally {
      await app.services.tiles.closeSlide(handle);
    }
    const [listed] = await app.call<PinInfo[]>('pins.list');
    assert.deepEqual({ uri: listed?.uri, state: listed?.state }, { uri: DEMO, state: 'done' });
  });

  test('pause, resume and cancel', async () => {
    // Paused before its first tile: nothing in flight, so no race with a fast local link.
    const added = await app.call<PinInfo>('pins.add', { uri: TEACHING, minDownsample: 2 });
    const paused = await app.call<PinInfo>('pins.pause', { uri: TEACHING });
    assert.equal(paused.state, 'paused');
    assert.equal(added.uri, TEACHING);
    const resumed = await app.call<PinInfo>('pins.resume', { uri: TEACHING });
    assert.equal(resumed.state, 'running');
    const done = await app.waitFor('pins.changed', (pins) => pins.some((p) => p.uri === TEACHING && p.state === 'done'));
    const pin = done.find((p) => p.uri === TEACHING)!;
    assert.equal(pin.minDownsample, 2);
    const handle = await app.services.tiles.open(TEACHING);
    try {
      assert.equal(pin.total, pinTiles(handle.descriptor, { minDownsample: 2 }).length);
      assert.ok(handle.descriptor.levels.some((l, i) => l.downsample < 2 && !app.services.tiles.isCached(handle, i, 0, 0)), 'level 0 is not kept');
    } finally {
      await app.services.tiles.closeSlide(handle);
    }

    // Cancel: the pin goes from the list and the slide is no longer exempt from eviction.
    await app.call('pins.remove', { uri: TEACHING });
    const pins = await app.call<PinInfo[]>('pins.list');
    assert.deepEqual(pins.map((p) => p.uri), [DEMO]);
    const usage = app.services.cache.slideUsage().find((u) => u.uri === TEACHING);
    assert.equal(usage?.pinned, false);
    await assert.rejects(app.call('pins.pause', { uri: TEACHING }), { code: 'PIN_NOT_FOUND' });
    await assert.rejects(app.call('pins.add', { uri: TEACHING, minDownsample: 0.5 }), { code: 'PIN_BAD_LEVEL' });
  });

  test('cache usage, budget and "clear cache" keeping the offline slide', async () => {
    // View another part of the unpinned slide: ordinary, evictable cache.
    const opened = await app.call<{ id: string; offline: boolean }>('slides.open', { uri: TEACHING });
    assert.equal(opened.offline, false);
    const handle = app.services.slides.get(opened.id)!;
    const top = handle.descriptor.levels.length - 1;
    await app.services.tiles.getTile(handle, top, 0, 0);
    await app.services.tiles.getTile(handle, 0, 0, 0);
    await app.call('slides.close', { id: opened.id });

    const before = await app.call<{ bytes: number; pinnedBytes: number; pinnedSlides: number; budget: number; budgetLocked: boolean }>('cache.usage');
    assert.equal(before.pinnedSlides, 1);
    assert.ok(before.pinnedBytes > 0);
    assert.ok(before.bytes > before.pinnedBytes, 'unpinned tiles are cached too');
    assert.equal(before.budgetLocked, false);

    const cleared = await app.call<{ bytes: number; pinnedBytes: number; pinnedSlides: number }>('cache.clear', {});
    assert.equal(cleared.pinnedSlides, 1);
    assert.equal(cleared.pinnedBytes, before.pinnedBytes, 'the offline slide is untouched');
    assert.equal(cleared.bytes, cleared.pinnedBytes, 'only the offline slide is left');
    const [pin] = await app.call<PinInfo[]>('pins.list');
    assert.equal(pin?.state, 'done');

    // The budget: saved to the user's settings for the next start; a bad value is refused.
    const set = await app.call<{ budget: number }>('cache.setBudget', { mib: 512 });
    assert.equal(set.budget, 512 * 1024 * 1024);
    const saved = JSON.parse(readFileSync(join(dataDir, 'settings.json'), 'utf8')) as { cache?: { budgetMiB?: number } };
    assert.equal(saved.cache?.budgetMiB, 512);
    await assert.rejects(app.call('cache.setBudget', { mib: 1 }), { code: 'SETTINGS_INVALID' });
    await assert.rejects(app.call('cache.setBudget', { mib: 'lots' }), { code: 'API_BAD_PARAMS' });
  });

  test('a download interrupted by quitting the app carries on after the restart', async () => {
    await app.call('pins.add', { uri: TEACHING });
    // Quit the moment the job has recorded its slide and tile count, before its first tile:
    // dispose() aborts the job synchronously, so no tile can slip in whatever the link speed.
    const job = app.services.offline.pins.get(TEACHING);
    assert.ok(job);
    let quitting: Promise<void> | undefined;
    await new Promise<void>((resolve) => {
      job.on('progress', (p: { total: number }) => {
        if (p.total > 0 && !quitting) {
          quitting = app.services.dispose();
          resolve();
        }
      });
    });
    await quitting;
    const db = TileCache.open(join(dataDir, 'cache', TILE_CACHE_FILE));
    const record = db.pinJobs().find((r) => r.uri === TEACHING);
    db.close();
    assert.equal(record?.state, 'running', 'persisted as still wanted');
    assert.ok(record.done < record.total, `stopped at ${record.done}/${record.total}`);

    app = await startApp();
    const done = await app.waitFor('pins.changed', (pins) => pins.some((p) => p.uri === TEACHING && p.state === 'done'));
    const pin = done.find((p) => p.uri === TEACHING)!;
    assert.equal(pin.done, pin.total);
    const uris = (await app.call<PinInfo[]>('pins.list')).map((p) => p.uri).sort();
    assert.deepEqual(uris, [DEMO, TEACHING].sort());
    // Unpinned again so the offline test below has a slide with nothing cached.
    await app.call('pins.remove', { uri: TEACHING });
    await app.call('cache.clear', {});
  });

  test('a pinned slide replaced in storage: opening it downloads the new version', async () => {
    const uri = 's3://pathology-slides/demo/replaced.tif';
    const s3 = new S3Client({
      endpoint: stack.minio.endpoint,
      region: 'us-east-1',
      forcePathStyle: true,
      credentials: { accessKeyId: stack.minio.rootUser, secretAccessKey: stack.minio.rootPassword },
    });
    const put = (file: string) =>
      s3.send(new PutObjectCommand({ Bucket: 'pathology-slides', Key: 'demo/replaced.tif', Body: readFileSync(file), ContentType: 'image/tiff' }));
    try {
      await put(ensureDemoSlide({ name: 'demo-tissue-c', width: 2560, height: 2048, seed: 3 }));
      await app.call('pins.add', { uri, minDownsample: 2 });
      const first = (await app.waitFor('pins.changed', (pins) => pins.some((p) => p.uri === uri && p.state === 'done'))).find((p) => p.uri === uri)!;

      // Another scan under the same name: a different object (size, etag).
      await put(ensureDemoSlide({ name: 'demo-tissue-b', width: 3072, height: 4096, seed: 2 }));
      const opened = await app.call<{ id: string; summary: { levels: { width: number }[] } }>('slides.open', { uri });
      assert.equal(opened.summary.levels[0]?.width, 3072, 'the new version opened');
      await app.call('slides.close', { id: opened.id });
      const second = await app.waitFor('pins.changed', (pins) => pins.some((p) => p.uri === uri && p.state === 'done' && p.total !== first.total));
      const pin = second.find((p) => p.uri === uri)!;
      assert.equal(pin.minDownsample, 2, 'same extent as before');
      const handle = await app.services.tiles.open(uri);
      try {
        const keys = pinTiles(handle.descriptor, { minDownsample: 2 });
        assert.equal(pin.total, keys.length);
        assert.ok(keys.every((k) => app.services.tiles.isCached(handle, k.level, k.col, k.row, k.plane)), 'every tile of the new version is kept');
      } finally {
        await app.services.tiles.closeSlide(handle);
      }
      await app.call('pins.remove', { uri });
      await app.call('cache.clear', {});
    } finally {
      s3.destroy();
    }
  });

  test('storage unreachable: the app says offline, lists the pinned slide and serves it from the cache', async () => {
    assert.equal((await app.call<ConnectivityState>('offline.state')).status, 'online');
    await stack.minio.stop();

    await assert.rejects(app.call('storage.list', { uri: 's3://pathology-slides/demo/' }));
    const state = await app.call<ConnectivityState>('offline.state');
    assert.equal(state.status, 'offline');
    assert.ok(state.reason, 'a reason is given');
    await app.waitFor('connectivity.changed', (s) => s.status === 'offline');
    // The probe agrees (nothing answers on MinIO's port any more).
    assert.equal((await app.call<ConnectivityState>('offline.check')).status, 'offline');

    const slides = await app.call<{ uri: string; availability: string; pinned: boolean; pinState?: string }[]>('offline.slides');
    assert.deepEqual(
      slides.map((s) => [s.uri, s.availability, s.pinned, s.pinState]),
      [[DEMO, 'full', true, 'done']],
      'the pinned slide in full; the cleared and unpinned ones hold nothing',
    );

    const opened = await app.call<{ id: string; offline: boolean }>('slides.open', { uri: DEMO });
    assert.equal(opened.offline, true);
    const handle = app.services.slides.get(opened.id)!;
    for (const k of pinTiles(handle.descriptor, {})) {
      const tile = await app.services.tiles.getTile(handle, k.level, k.col, k.row, k.plane);
      assert.ok(tile === null || tile.bytes.length > 0);
    }
    await app.call('slides.close', { id: opened.id });

    // Known slide with no tiles left, and a slide never opened: both refused in words.
    await assert.rejects(app.call('slides.open', { uri: TEACHING }), { code: 'SLIDE_NOT_AVAILABLE_OFFLINE' });
    await assert.rejects(app.call('slides.open', { uri: 's3://pathology-slides/never/opened.tif' }), { code: 'SLIDE_NOT_AVAILABLE_OFFLINE' });
  });
});
