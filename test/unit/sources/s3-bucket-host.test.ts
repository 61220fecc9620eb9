/**
 * The S3 client never signs a request for a host other than its endpoint's: bucket names
 * are held to S3's naming rules (the CLI too) and the built URL's host is checked. The
 * fetch given to the client records calls; none may happen.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isAppError } from '../../../main/common/errors.js';
import { bucketNameProblem, parseS3Uri, S3Client } from '../../../main/sources/s3.js';

const credentials = {
  get: async () => ({ accessKeyId: 'AKIA', secretAccessKey: 'secret', sessionToken: 'session-token', expiration: new Date(Date.now() + 3600_000) }),
  invalidate: () => undefined,
  info: () => undefined,
};

test('bucket names follow S3 naming rules', () => {
  for (const ok of ['pathology-slides', 'a.b.c', 'abc', 'x1-2.y']) assert.equal(bucketNameProblem(ok), undefined, ok);
  for (const bad of ['2130706433', '127.0.0.1', '10.0.0.1', '2130706433#', 'ab', 'A-bucket', 'b_1', 'a..b', '-ab', 'ab-', 'x'.repeat(64), 'evil.example:80@x', 'xn--abc', 'h?x']) {
    assert.ok(bucketNameProblem(bad), bad);
  }
});

test('s3://2130706433#/x is refused before any request, in the CLI path too', async () => {
  assert.throws(() => parseS3Uri('s3://2130706433#/x'), (e) => isAppError(e, 'SOURCE_BAD_URI') && e.kind === 'invalid-input');
  const calls: string[] = [];
  for (const forcePathStyle of [false, true]) {
    const s3 = new S3Client({ endpoint: 'https://s3.example.org', region: 'us-east-1', forcePathStyle, credentials: credentials as never, fetch: async (u) => (calls.push(String(u)), new Response('')) });
    assert.throws(() => s3.rangeReader('s3://2130706433#/x'), (e) => isAppError(e, 'SOURCE_BAD_URI'));
    // Called directly with a hostile bucket (no parse): the host check refuses it. Path style
    // (and any bucket with a dot) puts the bucket in the path, where it cannot change the host.
    if (!forcePathStyle) await assert.rejects(s3.headObject('2130706433#', 'x'), (e) => isAppError(e, 'SOURCE_BAD_URI'));
    if (!forcePathStyle) await assert.rejects(s3.headObject('a@evil', 'x'), (e) => isAppError(e, 'SOURCE_BAD_URI'));
  }
  assert.deepEqual(calls, []);
});

test('a valid bucket goes to a host under the endpoint', () => {
  const s3 = new S3Client({ endpoint: 'https://s3.example.org:9000', region: 'us-east-1', forcePathStyle: false, credentials: credentials as never });
  assert.equal(s3.url('slides', 'a/b.svs').href, 'https://slides.s3.example.org:9000/a/b.svs');
  const path = new S3Client({ endpoint: 'https://s3.example.org:9000', region: 'us-east-1', forcePathStyle: true, credentials: credentials as never });
  assert.equal(path.url('slides', 'a/b.svs').href, 'https://s3.example.org:9000/slides/a/b.svs');
});
