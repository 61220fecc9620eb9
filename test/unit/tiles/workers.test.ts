import { test } from 'node:test';
import assert from 'node:assert/strict';
import { threadId } from 'node:worker_threads';
import { WorkerPool } from '../../../main/tiles/workers.js';

const fixture = new URL('./fixtures/worker-fns.ts', import.meta.url).href;

test('the pool runs exported functions off the main thread and returns byte arrays', async (t) => {
  const pool = new WorkerPool({ size: 2 });
  t.after(() => pool.close());
  const results = await Promise.all(
    Array.from({ length: 6 }, (_, i) => pool.run<{ threadId: number; bytes: Uint8Array }>(fixture, 'fill', [1000, i])),
  );
  results.forEach((r, i) => {
    assert.notEqual(r.threadId, threadId);
    assert.equal(r.bytes.length, 1000);
    assert.ok(r.bytes.every((b) => b === i));
  });
  assert.ok(new Set(results.map((r) => r.threadId)).size <= 2);
  assert.equal(pool.stats().completed, 6);
});

test('errors come back typed; a queued task can be cancelled', async (t) => {
  const pool = new WorkerPool({ size: 1 });
  t.after(() => pool.close());
  await assert.rejects(pool.run(fixture, 'fail', []), { code: 'FORMAT_CORRUPT', message: 'bad tile' });
  await assert.rejects(pool.run(fixture, 'nope', []), { code: 'TILE_WORKER_FAILED' });
  const busy = pool.run(fixture, 'fill', [10, 1]);
  const ac = new AbortController();
  const queued = pool.run(fixture, 'fill', [10, 2], { signal: ac.signal });
  ac.abort();
  await assert.rejects(queued, { code: 'ABORTED' });
  await busy;
});
