import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseListObjectsV2, parseS3Error } from '../../../main/sources/s3-xml.js';
import { encodeKey, parseS3Uri, S3Client } from '../../../main/sources/s3.js';

test('ListObjectsV2 with one folder and one file (single elements, not arrays)', () => {
  const xml = `<?xml version="1.0" encoding="UTF-8"?>
<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Name>b</Name><Prefix>cases/</Prefix><KeyCount>2</KeyCount><MaxKeys>1000</MaxKeys><Delimiter>/</Delimiter><IsTruncated>false</IsTruncated>
<Contents><Key>cases/001</Key><LastModified>2026-11-22T06:00:00.000Z</LastModified><ETag>&quot;abc&quot;</ETag><Size>1234</Size><StorageClass>STANDARD</StorageClass></Contents>
<CommonPrefixes><Prefix>cases/2026/</Prefix></CommonPrefixes></ListBucketResult>`;
  const p = parseListObjectsV2(xml);
  assert.deepEqual(p.prefixes, ['cases/2026/']);
  assert.deepEqual(p.objects, [{ key: 'cases/001', size: 1234, lastModified: '2026-11-22T06:00:00.000Z', etag: '"abc"' }]);
  assert.equal(p.isTruncated, false);
  assert.equal(p.nextContinuationToken, undefined);
});

test('ListObjectsV2 truncated page with several entries and a token', () => {
  const xml = `<ListBucketResult><IsTruncated>true</IsTruncated><NextContinuationToken>tok/+=</NextContinuationToken>
<Contents><Key>a.svs</Key><Size>1</Size></Contents><Contents><Key> spaced key .tif</Key><Size>2</Size></Contents>
<CommonPrefixes><Prefix>x/</Prefix></CommonPrefixes><CommonPrefixes><Prefix>y/</Prefix></CommonPrefixes></ListBucketResult>`;
  const p = parseListObjectsV2(xml);
  assert.deepEqual(p.objects.map((o) => o.key), ['a.svs', ' spaced key .tif']);
  assert.deepEqual(p.prefixes, ['x/', 'y/']);
  assert.equal(p.nextContinuationToken, 'tok/+=');
});

test('empty listing and garbage', () => {
  assert.deepEqual(parseListObjectsV2('<ListBucketResult><IsTruncated>false</IsTruncated></ListBucketResult>').objects, []);
  assert.throws(() => parseListObjectsV2('<html></html>'), /folder listing/);
});

test('S3 error bodies', () => {
  assert.deepEqual(parseS3Error('<Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>'), {
    code: 'SlowDown',
    message: 'Please reduce your request rate.',
  });
  assert.deepEqual(parseS3Error(''), { code: undefined, message: undefined });
});

test('s3 URIs and key encoding', () => {
  assert.deepEqual(parseS3Uri('s3://bucket/a/b c.svs'), { bucket: 'bucket', key: 'a/b c.svs' });
  assert.deepEqual(parseS3Uri('s3://bucket'), { bucket: 'bucket', key: '' });
  assert.throws(() => parseS3Uri('s3:///x'), /not an S3 address/);
  assert.equal(encodeKey("a/b c(1)!*'.svs"), 'a/b%20c%281%29%21%2A%27.svs');
});

test('object URLs: path-style for MinIO, virtual-hosted for AWS, path-style for dotted bucket names', () => {
  const creds = { get: () => Promise.reject(new Error('unused')), info: () => null, invalidate: () => undefined };
  const minio = new S3Client({ endpoint: 'http://127.0.0.1:9000', region: 'us-east-1', forcePathStyle: true, credentials: creds });
  assert.equal(minio.url('slides', 'a b/c.svs').href, 'http://127.0.0.1:9000/slides/a%20b/c.svs');
  assert.equal(minio.url('slides', '', { prefix: 'x/', 'list-type': '2', delimiter: '/' }).href, 'http://127.0.0.1:9000/slides/?delimiter=%2F&list-type=2&prefix=x%2F');
  const aws = new S3Client({ endpoint: '', region: 'eu-central-1', forcePathStyle: false, credentials: creds });
  assert.equal(aws.url('slides', 'k.svs').href, 'https://slides.s3.eu-central-1.amazonaws.com/k.svs');
  assert.equal(aws.url('my.slides', 'k.svs').href, 'https://s3.eu-central-1.amazonaws.com/my.slides/k.svs');
});
