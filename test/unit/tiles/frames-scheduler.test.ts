/**
 * The frame scheduler's logic (batching per instance, spreading over connections, caps,
 * de-duplication, priorities, cancellation, retry-alone) over an in-process FrameSource
 * that counts calls and can hold its answers. Against a real archive:
 * test/integration/dicomweb/tile-service.test.ts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isAppError } from '../../../main/common/errors.js';
import { dicomwebErrors } from '../../../main/sources/dicomweb/errors.js';
import type { FrameReadResult, FrameSource, ObjectIdentity } from '../../../main/sources/types.js';
import { FrameScheduler } from '../../../main/tiles/frames.js';

const tick = (): Promise<void> => new Promise((r) => setImmediate(r));

/** Answers frame n of group g with the bytes of "g/n"; `hold()` keeps answers until `release()`. */
class CountingFrames implements FrameSource {
  readonly kind = 'frames' as const;
  readonly uri: string;
  readonly pool: string;
  calls: { group: string; frames: number[] }[] = [];
  active = 0;
  maxActive = 0;
  aborted = 0;
  bad = new Set<string>();
  down = false;
  #held: (() => void)[] | undefined;

  constructor(name = 'series-a', pool = 'https://archive.example') {
    this.uri = `dicomweb://test/${name}`;
    this.pool = pool;
  }

  hold(): void {
    this.#held ??= [];
  }

  release(): void {
    const held = this.#held ?? [];
    this.#held = undefined;
    for (const go of held) go();
  }

  async stat(): Promise<ObjectIdentity> {
    return { uri: this.uri, size: 0, etag: 'x', lastModified: undefined };
  }

  async readFrames(group: string, frames: readonly number[], signal?: AbortSignal): Promise<FrameReadResult> {
    this.calls.push({ group, frames: [...frames] });
    this.active++;
    this.maxActive = Math.max(this.maxActive, this.active);
    try {
      if (this.#held) {
        await new Promise<void>((resolve, reject) => {
          this.#held!.push(resolve);
          signal?.addEventListener('abort', () => {
            this.aborted++;
            reject(Object.assign(new Error('aborted'), { name: 'AbortError' }));
          }, { once: true });
        });
      }
      if (this.down) throw dicomwebErrors.make('DICOMWEB_UNREACHABLE', 'The image archive cannot be reached.');
      const bad = frames.find((f) => this.bad.has(`${group}/${f}`));
      if (bad !== undefined) throw dicomwebErrors.make('DICOMWEB_NOT_FOUND', `frame ${bad} does not exist`);
      const out = frames.map((f) => ({ bytes: new TextEncoder().encode(`${group}/${f}`), mediaType: 'image/jpeg', transferSyntax: '1.2.840.10008.1.2.4.50' }));
      return { frames: out, bytes: out.reduce((n, f) => n + f.bytes.length, 0), requests: 1 };
    } finally {
      this.active--;
    }
  }

  async close(): Promise<void> {}
}

const text = (f: { bytes: Uint8Array }): string => new TextDecoder().decode(f.bytes);

test('frames of one instance asked one by one in the same tick go out as one multi-frame request', async () => {
  const src = new CountingFrames();
  const s = new FrameScheduler({ batchDelayMs: 0 });
  const got = await Promise.all([3, 1, 2, 4].map((n) => s.read(src, 'inst-1', n)));
  assert.deepEqual(src.calls, [{ group: 'inst-1', frames: [3, 1, 2, 4] }]);
  assert.deepEqual(got.map(text), ['inst-1/3', 'inst-1/1', 'inst-1/2', 'inst-1/4']);
  const st = s.stats();
  assert.equal(st.requests, 1);
  assert.equal(st.framesRequested, 4);
  assert.equal(st.framesBatched, 3);
  assert.equal(st.queued + st.inFlight, 0);
});

test('a viewport is spread over the free connections, never below the minimum batch nor above the cap', async () => {
  const src = new CountingFrames();
  const s = new FrameScheduler({ batchDelayMs: 0 });
  const frames = Array.from({ length: 30 }, (_, i) => i + 1);
  const got = await Promise.all(frames.map((n) => s.read(src, 'inst-1', n)));
  assert.deepEqual(got.map(text), frames.map((n) => `inst-1/${n}`));
  // 30 frames over 6 connections: 6 requests of 5, every frame asked exactly once.
  assert.deepEqual(src.calls.map((c) => c.frames.length), [5, 5, 5, 5, 5, 5]);
  assert.deepEqual(src.calls.flatMap((c) => c.frames).sort((a, b) => a - b), frames);

  // Ten frames: not ten requests of one, but batches of at least four.
  const few = new CountingFrames('series-b');
  await Promise.all(frames.slice(0, 10).map((n) => s.read(few, 'inst-2', n)));
  assert.deepEqual(few.calls.map((c) => c.frames.length), [4, 4, 2]);

  // One connection and 100 frames: capped at 32 per request.
  const capped = new CountingFrames('series-c', 'https://other.example');
  const one = new FrameScheduler({ batchDelayMs: 0, maxParallelPerPool: 1 });
  await Promise.all(Array.from({ length: 100 }, (_, i) => one.read(capped, 'inst-3', i + 1)));
  assert.deepEqual(capped.calls.map((c) => c.frames.length), [32, 32, 32, 4]);
});

test('frames of different instances or sources are never mixed in one request', async () => {
  const a = new CountingFrames('series-a');
  const b = new CountingFrames('series-b');
  const s = new FrameScheduler({ batchDelayMs: 0 });
  await Promise.all([
    s.read(a, 'inst-1', 1), s.read(a, 'inst-2', 1), s.read(a, 'inst-1', 2),
    s.read(b, 'inst-1', 1), s.read(b, 'inst-1', 2),
  ]);
  assert.deepEqual(a.calls.map((c) => `${c.group}:${c.frames.join(',')}`).sort(), ['inst-1:1,2', 'inst-2:1']);
  assert.deepEqual(b.calls.map((c) => `${c.group}:${c.frames.join(',')}`), ['inst-1:1,2']);
});

test('requests arriving over several event-loop turns within the batch delay still share one request', async (t) => {
  // The batch window's timer is mocked: the test decides when it has elapsed, not the machine's load.
  t.mock.timers.enable({ apis: ['setTimeout'] });
  const src = new CountingFrames();
  const s = new FrameScheduler({ batchDelayMs: 4 });
  const pending = [];
  for (let n = 1; n <= 4; n++) {
    pending.push(s.read(src, 'inst-1', n));
    await tick();
    if (n < 4) t.mock.timers.tick(1); // 3 ms after the first request: still inside the 4 ms window
  }
  assert.equal(src.calls.length, 0, 'nothing goes out before the window closes');
  t.mock.timers.tick(1);
  await Promise.all(pending);
  assert.equal(src.calls.length, 1);
  assert.deepEqual(src.calls[0]!.frames, [1, 2, 3, 4]);
});

test('the same frame, queued or in flight, is fetched once', async () => {
  const src = new CountingFrames();
  const s = new FrameScheduler({ batchDelayMs: 0 });
  src.hold();
  const a = s.read(src, 'inst-1', 7);
  const b = s.read(src, 'inst-1', 7); // joins while queued
  await tick();
  assert.equal(src.calls.length, 1);
  const c = s.read(src, 'inst-1', 7); // joins while in flight
  await tick();
  src.release();
  const got = await Promise.all([a, b, c]);
  assert.equal(src.calls.length, 1);
  assert.deepEqual(src.calls[0]!.frames, [7]);
  assert.deepEqual(got.map(text), ['inst-1/7', 'inst-1/7', 'inst-1/7']);
  assert.equal(s.stats().framesDeduplicated, 2);
});

test('visible before prefetch before pinning; priorities are not mixed; a visible waiter promotes a queued pinning frame', async () => {
  const src = new CountingFrames();
  const s = new FrameScheduler({ batchDelayMs: 0, maxParallelPerPool: 1 });
  src.hold();
  const blocker = s.read(src, 'inst-0', 1);
  await tick();
  const pin = [1, 2, 3].map((n) => s.read(src, 'inst-1', n, { priority: 'pinning' }));
  const pre = [4, 5].map((n) => s.read(src, 'inst-1', n, { priority: 'prefetch' }));
  const vis = [6, 7].map((n) => s.read(src, 'inst-1', n, { priority: 'visible' }));
  const promoted = s.read(src, 'inst-1', 3, { priority: 'visible' }); // frame 3 was queued for pinning
  await tick();
  assert.equal(src.calls.length, 1, 'one connection: only the blocker is out');
  for (let i = 0; i < 4; i++) {
    src.release();
    src.hold();
    await tick();
    await tick();
  }
  src.release();
  await Promise.all([blocker, ...pin, ...pre, ...vis, promoted]);
  assert.deepEqual(src.calls.map((c) => c.frames), [[1], [3, 6, 7], [4, 5], [1, 2]]);
  assert.equal(src.maxActive, 1);
});

test('bounded parallelism per archive; another archive has its own connections', async () => {
  const a = new CountingFrames('series-a', 'https://one.example');
  const b = new CountingFrames('series-b', 'https://two.example');
  const s = new FrameScheduler({ batchDelayMs: 0, maxParallelPerPool: 2, maxFramesPerRequest: 1 });
  a.hold();
  b.hold();
  const all = [...[1, 2, 3, 4, 5].map((n) => s.read(a, 'i', n)), ...[1, 2, 3].map((n) => s.read(b, 'i', n))];
  await tick();
  assert.equal(a.calls.length, 2);
  assert.equal(b.calls.length, 2);
  assert.equal(s.stats().queued, 4);
  for (let i = 0; i < 4; i++) {
    a.release();
    b.release();
    a.hold();
    b.hold();
    await tick();
    await tick();
  }
  a.release();
  b.release();
  await Promise.all(all);
  assert.equal(a.calls.length, 5);
  assert.equal(a.maxActive, 2);
  assert.equal(b.maxActive, 2);
});

test('a cancelled queued frame never goes out; an in-flight request is aborted only when no frame in it is wanted', async () => {
  const src = new CountingFrames();
  const s = new FrameScheduler({ batchDelayMs: 0, maxParallelPerPool: 1 });
  src.hold();
  const keep = new AbortController();
  const drop = new AbortController();
  const first = s.read(src, 'inst-1', 1, { signal: keep.signal });
  const second = s.read(src, 'inst-1', 2, { signal: drop.signal });
  await tick(); // both in one request
  const queued = new AbortController();
  const never = s.read(src, 'inst-2', 9, { signal: queued.signal });
  queued.abort();
  await assert.rejects(never, (e) => isAppError(e, 'ABORTED'));
  drop.abort(); // frame 1 is still wanted: the request goes on
  await assert.rejects(second, (e) => isAppError(e, 'ABORTED'));
  assert.equal(src.aborted, 0);
  src.release();
  assert.equal(text(await first), 'inst-1/1');
  await tick();
  assert.deepEqual(src.calls.map((c) => c.frames), [[1, 2]], 'the cancelled queued frame was never asked');
  assert.equal(s.stats().cancelledQueued, 1);

  // Nobody wants anything in the request any more: it is aborted, and a later ask starts afresh.
  src.hold();
  const gone = new AbortController();
  const lost = s.read(src, 'inst-3', 1, { signal: gone.signal });
  await tick();
  gone.abort();
  await assert.rejects(lost, (e) => isAppError(e, 'ABORTED'));
  await tick();
  assert.equal(src.aborted, 1);
  assert.equal(s.stats().abortedInFlight, 1);
  src.release();
  const again = s.read(src, 'inst-3', 1);
  assert.equal(text(await again), 'inst-3/1');
});

test('one frame the archive does not have does not blank the others: the request is retried frame by frame', async () => {
  const src = new CountingFrames();
  const s = new FrameScheduler({ batchDelayMs: 0, maxParallelPerPool: 1 });
  src.bad.add('inst-1/3');
  const results = await Promise.allSettled([1, 2, 3, 4].map((n) => s.read(src, 'inst-1', n)));
  assert.deepEqual(results.map((r) => r.status), ['fulfilled', 'fulfilled', 'rejected', 'fulfilled']);
  assert.ok(isAppError((results[2] as PromiseRejectedResult).reason, 'DICOMWEB_NOT_FOUND'));
  assert.deepEqual(src.calls.map((c) => c.frames), [[1, 2, 3, 4], [1], [2], [3], [4]]);
  assert.equal(s.stats().framesRetriedAlone, 4);

  // An unreachable archive is not a frame's fault: everything fails at once, no retries.
  const down = new CountingFrames('series-down');
  down.down = true;
  const failed = await Promise.allSettled([1, 2, 3].map((n) => s.read(down, 'inst-1', n)));
  assert.ok(failed.every((r) => r.status === 'rejected' && isAppError(r.reason, 'DICOMWEB_UNREACHABLE')));
  assert.equal(down.calls.length, 1);
});

test('a foreign failure is wrapped as TILE_READ_FAILED; an answer with the wrong frame count fails every waiter', async () => {
  const s = new FrameScheduler({ batchDelayMs: 0 });
  const broken: FrameSource = {
    kind: 'frames', uri: 'dicomweb://test/broken', pool: 'p',
    stat: async () => ({ uri: 'x', size: 0, etag: 'e', lastModified: undefined }),
    readFrames: async () => {
      throw new TypeError('socket hang up');
    },
    close: async () => {},
  };
  await assert.rejects(s.read(broken, 'g', 1), (e) => isAppError(e, 'TILE_READ_FAILED'));
  const short: FrameSource = { ...broken, readFrames: async () => ({ frames: [], bytes: 0, requests: 1 }) };
  const two = await Promise.allSettled([s.read(short, 'g', 1), s.read(short, 'g', 2)]);
  assert.ok(two.every((r) => r.status === 'rejected' && isAppError(r.reason, 'TILE_READ_FAILED')));
});

test('a source that throws synchronously frees its connection: the waiters get a typed error and the next request goes out', async () => {
  // One connection: a leaked slot would leave the second read queued for ever.
  const s = new FrameScheduler({ batchDelayMs: 0, maxParallelPerPool: 1 });
  const good = new CountingFrames('series-t', 'p1');
  let fail = true;
  const throwing: FrameSource = {
    kind: 'frames', uri: good.uri, pool: good.pool,
    stat: () => good.stat(),
    readFrames: (group, frames, signal) => {
      if (fail) throw new TypeError('source broke before returning a promise');
      return good.readFrames(group, frames, signal);
    },
    close: async () => {},
  };
  await assert.rejects(s.read(throwing, 'g', 1), (e) => isAppError(e, 'TILE_READ_FAILED'));
  assert.equal(s.stats().inFlight, 0);
  fail = false;
  assert.equal(text(await s.read(throwing, 'g', 1)), 'g/1');
  assert.equal(s.stats().failed, 1);
  assert.equal(s.stats().inFlight, 0);
});
