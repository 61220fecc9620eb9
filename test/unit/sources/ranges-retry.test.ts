import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mergeRanges, parseContentRange, validateRanges } from '../../../main/sources/http.js';
import { backoffMs, isRetryableStatus, parseRetryAfter } from '../../../main/sources/retry.js';
import { isNetworkError } from '../../../main/common/network.js';
import { sourceKind } from '../../../main/sources/resolve.js';

test('Content-Range forms', () => {
  assert.deepEqual(parseContentRange('bytes 0-1023/7886132'), { start: 0, end: 1023, size: 7886132 });
  assert.deepEqual(parseContentRange('bytes 5-9/*'), { start: 5, end: 9, size: undefined });
  assert.deepEqual(parseContentRange('bytes */42'), { unsatisfied: true, size: 42 });
  assert.equal(parseContentRange(null), undefined);
  assert.equal(parseContentRange('items 0-1/2'), undefined);
});

test('only touching or overlapping ranges merge; order of results is kept by index', () => {
  const m = mergeRanges([
    { offset: 100, length: 10 },
    { offset: 0, length: 10 },
    { offset: 10, length: 5 },
    { offset: 50, length: 0 },
    { offset: 105, length: 20 },
    { offset: 16, length: 4 },
  ]);
  assert.deepEqual(m, [
    { start: 0, end: 15, members: [1, 2] },
    { start: 16, end: 20, members: [5] },
    { start: 100, end: 125, members: [0, 4] },
  ]);
  assert.throws(() => validateRanges([{ offset: -1, length: 2 }]), /Invalid byte range/);
});

test('backoff: exponential ceiling, full jitter, Retry-After floor, bounded', () => {
  const p = { maxAttempts: 5, baseDelayMs: 100, maxDelayMs: 1000 };
  assert.equal(backoffMs(1, p, () => 0.999999), 99);
  assert.equal(backoffMs(3, p, () => 0.5), 200);
  assert.equal(backoffMs(10, p, () => 0.999999), 999);
  assert.equal(backoffMs(1, p, () => 0), 0);
  assert.equal(backoffMs(1, p, () => 0, 0.5), 500);
  assert.equal(backoffMs(1, p, () => 0, 60), 1000);
  assert.equal(parseRetryAfter('2'), 2);
  assert.equal(parseRetryAfter(null), undefined);
});

test('what is retried', () => {
  assert.equal(isRetryableStatus(503), true);
  assert.equal(isRetryableStatus(500), true);
  assert.equal(isRetryableStatus(429), true);
  assert.equal(isRetryableStatus(400, 'RequestTimeout'), true);
  assert.equal(isRetryableStatus(503, 'SlowDown'), true);
  for (const s of [400, 403, 404, 412, 416]) assert.equal(isRetryableStatus(s), false, String(s));
  assert.equal(isNetworkError(new TypeError('fetch failed')), true);
  const abort = new Error('aborted');
  abort.name = 'AbortError';
  assert.equal(isNetworkError(abort), false);
});

test('source kinds', () => {
  assert.equal(sourceKind('s3://b/k'), 's3');
  assert.equal(sourceKind('https://x/y.svs'), 'http');
  assert.equal(sourceKind('file:///tmp/a.svs'), 'file');
  assert.equal(sourceKind('/tmp/a.svs'), 'file');
  assert.equal(sourceKind('slides/a.svs'), 'file');
  assert.throws(() => sourceKind('gs://b/k'), /does not know/);
});
