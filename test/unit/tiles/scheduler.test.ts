import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { FileRangeReader } from '../../../main/sources/file.js';
import { RangeScheduler } from '../../../main/tiles/scheduler.js';
import { CountingReader } from './fixtures/counting-reader.js';
import { testdata } from '../../support/paths.js';

const FILE = testdata('derived/generic-tiff/CMU-1-Small-Region.pyramid-jpeg.tif');
const whole = readFileSync(FILE);
const expect = (offset: number, length: number) => new Uint8Array(whole.subarray(offset, offset + length));
const KiB = 1024;
const reader = () => new CountingReader(new FileRangeReader(FILE));

test('neighbouring ranges requested in the same tick are coalesced into one read', async () => {
  const r = reader();
  const s = new RangeScheduler();
  const ranges = [0, 1, 2, 3].map((i) => ({ offset: 100_000 + i * 20 * KiB, length: 10 * KiB })); // 10 KiB gaps
  const results = await Promise.all(ranges.map((range) => s.read(r, [range])));
  assert.equal(r.calls.length, 1);
  assert.deepEqual(r.calls[0], [{ offset: 100_000, length: 70 * KiB }]);
  ranges.forEach((range, i) => assert.deepEqual(results[i]![0], expect(range.offset, range.length)));
  assert.equal(s.stats().rangesCoalesced, 3);
  assert.equal(s.stats().bytesFetched, 70 * KiB);
});

test('ranges further apart than the gap, or past the merged-size bound, stay separate reads', async () => {
  const r = reader();
  const s = new RangeScheduler({ coalesceGapBytes: 4 * KiB, maxMergedBytes: 32 * KiB });
  const far = [{ offset: 0, length: 1000 }, { offset: 10 * KiB, length: 1000 }]; // 9 KiB gap > 4 KiB
  const big = [0, 1, 2, 3].map((i) => ({ offset: 200_000 + i * 12 * KiB, length: 12 * KiB })); // contiguous, 48 KiB > 32 KiB
  const out = await Promise.all([...far, ...big].map((range) => s.read(r, [range])));
  assert.equal(r.calls.length, 4); // 2 far + big split in 24 KiB + 24 KiB
  [...far, ...big].forEach((range, i) => assert.deepEqual(out[i]![0], expect(range.offset, range.length)));
  for (const call of r.calls) assert.ok(call[0]!.length <= 32 * KiB);
});

test('identical ranges in flight are read once', async () => {
  const r = reader();
  const s = new RangeScheduler();
  r.close_gate();
  const a = s.read(r, [{ offset: 5000, length: 3000 }]);
  await new Promise((res) => setImmediate(res));
  assert.equal(r.calls.length, 1);
  const b = s.read(r, [{ offset: 5000, length: 3000 }]); // joins the in-flight read
  await new Promise((res) => setImmediate(res));
  r.open();
  const [ra, rb] = await Promise.all([a, b]);
  assert.equal(r.calls.length, 1);
  assert.deepEqual(ra[0], expect(5000, 3000));
  assert.deepEqual(rb[0], expect(5000, 3000));
  assert.equal(s.stats().rangesDeduplicated, 1);
});

test('priority order: visible before prefetch before pinning, per host, with bounded parallelism', async () => {
  const r = reader();
  const s = new RangeScheduler({ maxParallelPerHost: 1, coalesceGapBytes: 0 });
  r.close_gate();
  const blocker = s.read(r, [{ offset: 0, length: 10 }]);
  await new Promise((res) => setImmediate(res));
  const far = (i: number) => ({ offset: 100_000 * (i + 1), length: 100 });
  const order: string[] = [];
  const jobs = [
    s.read(r, [far(0)], { priority: 'pinning' }).then(() => order.push('pinning')),
    s.read(r, [far(1)], { priority: 'prefetch' }).then(() => order.push('prefetch')),
    s.read(r, [far(2)], { priority: 'visible' }).then(() => order.push('visible')),
  ];
  await new Promise((res) => setImmediate(res));
  assert.equal(r.calls.length, 1, 'one slot: nothing else starts while the blocker runs');
  r.open();
  await Promise.all([blocker, ...jobs]);
  assert.deepEqual(order, ['visible', 'prefetch', 'pinning']);
  assert.deepEqual(r.calls.slice(1).map((c) => c[0]!.offset), [far(2).offset, far(1).offset, far(0).offset]);
});

test('a queued read promoted by a visible waiter jumps the queue', async () => {
  const r = reader();
  const s = new RangeScheduler({ maxParallelPerHost: 1, coalesceGapBytes: 0 });
  r.close_gate();
  const blocker = s.read(r, [{ offset: 0, length: 10 }]);
  await new Promise((res) => setImmediate(res));
  const p1 = s.read(r, [{ offset: 300_000, length: 10 }], { priority: 'prefetch' });
  const p2 = s.read(r, [{ offset: 600_000, length: 10 }], { priority: 'pinning' });
  const v = s.read(r, [{ offset: 600_000, length: 10 }], { priority: 'visible' });
  r.open();
  await Promise.all([blocker, p1, p2, v]);
  assert.deepEqual(r.calls.map((c) => c[0]!.offset), [0, 600_000, 300_000]);
});

test('a cancelled queued request never reaches the reader', async () => {
  const r = reader();
  const s = new RangeScheduler({ maxParallelPerHost: 1 });
  r.close_gate();
  const blocker = s.read(r, [{ offset: 0, length: 10 }]);
  await new Promise((res) => setImmediate(res));
  const ac = new AbortController();
  const cancelled = s.read(r, [{ offset: 500_000, length: 100 }], { signal: ac.signal });
  ac.abort();
  await assert.rejects(cancelled, { code: 'ABORTED' });
  r.open();
  await blocker;
  await new Promise((res) => setImmediate(res));
  assert.equal(r.calls.length, 1);
  assert.equal(s.stats().cancelledQueued, 1);
  await assert.rejects(s.read(r, [{ offset: 1, length: 1 }], { signal: AbortSignal.abort() }), { code: 'ABORTED' });
});

test('an in-flight read is aborted only when its last waiter cancels', async () => {
  const r = reader();
  const s = new RangeScheduler();
  r.close_gate();
  const a1 = new AbortController();
  const a2 = new AbortController();
  const first = s.read(r, [{ offset: 1000, length: 500 }], { signal: a1.signal });
  await new Promise((res) => setImmediate(res));
  const second = s.read(r, [{ offset: 1000, length: 500 }], { signal: a2.signal });
  a1.abort();
  await assert.rejects(first, { code: 'ABORTED' });
  assert.equal(r.aborted, 0, 'the second waiter still needs it');
  a2.abort();
  await assert.rejects(second, { code: 'ABORTED' });
  assert.equal(r.aborted, 1);
  assert.equal(s.stats().abortedInFlight, 1);
  // A fresh request for the same range starts a new read rather than joining the aborted one.
  r.open();
  const again = await s.read(r, [{ offset: 1000, length: 500 }]);
  assert.deepEqual(again[0], expect(1000, 500));
  assert.equal(r.calls.length, 2);
});

test('a coalesced read survives one of its ranges being cancelled', async () => {
  const r = reader();
  const s = new RangeScheduler();
  r.close_gate();
  const ac = new AbortController();
  const keep = s.read(r, [{ offset: 10_000, length: 1000 }]);
  const drop = s.read(r, [{ offset: 12_000, length: 1000 }], { signal: ac.signal });
  await new Promise((res) => setImmediate(res));
  assert.equal(r.calls.length, 1);
  ac.abort();
  await assert.rejects(drop, { code: 'ABORTED' });
  r.open();
  assert.deepEqual((await keep)[0], expect(10_000, 1000));
  assert.equal(r.aborted, 0);
});

test('a read failure rejects every waiter with a typed error and the scheduler keeps going', async () => {
  const r = reader();
  const s = new RangeScheduler();
  let fail = true;
  const flaky = Object.assign(Object.create(r) as CountingReader, {
    read: (ranges: { offset: number; length: number }[], signal?: AbortSignal) => (fail ? Promise.reject(new Error('socket hang up')) : r.read(ranges, signal)),
  });
  await assert.rejects(s.read(flaky, [{ offset: 0, length: 10 }]), { code: 'TILE_READ_FAILED' });
  fail = false;
  assert.deepEqual((await s.read(flaky, [{ offset: 0, length: 10 }]))[0], expect(0, 10));
  assert.equal(s.stats().failed, 1);
});

test('parallel reads per host are bounded', async () => {
  const r = reader();
  const s = new RangeScheduler({ maxParallelPerHost: 3, coalesceGapBytes: 0 });
  r.close_gate();
  const all = Array.from({ length: 10 }, (_, i) => s.read(r, [{ offset: i * 50_000, length: 100 }]));
  await new Promise((res) => setImmediate(res));
  assert.equal(r.held, 3);
  assert.equal(s.stats().inFlight, 3);
  assert.equal(s.stats().queued, 7);
  r.open();
  await Promise.all(all);
  assert.equal(r.calls.length, 10);
});

test('a reader that throws synchronously frees its slot: the waiters get a typed error and the next read goes out', async () => {
  const r = reader();
  // One slot: a leaked slot would leave the second read queued for ever.
  const s = new RangeScheduler({ maxParallelPerHost: 1 });
  let fail = true;
  const throwing = Object.assign(Object.create(r) as CountingReader, {
    read: (ranges: { offset: number; length: number }[], signal?: AbortSignal) => {
      if (fail) throw new Error('reader broke before returning a promise');
      return r.read(ranges, signal);
    },
  });
  await assert.rejects(s.read(throwing, [{ offset: 0, length: 10 }]), { code: 'TILE_READ_FAILED' });
  assert.equal(s.stats().inFlight, 0);
  fail = false;
  assert.deepEqual((await s.read(throwing, [{ offset: 0, length: 10 }]))[0], expect(0, 10));
  assert.equal(s.stats().failed, 1);
  assert.equal(s.stats().inFlight, 0);
});
