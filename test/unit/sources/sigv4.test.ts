// SigV4 against AWS's published examples (S3 "Signature Calculations for the
// Authorization Header" and the generic SigV4 test suite's get-vanilla).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EMPTY_SHA256, signRequest } from '../../../main/sources/sigv4.js';

const S3_KEYS = { accessKeyId: 'AKIAIOSFODNN7EXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY' };
const S3_DATE = new Date('2013-05-24T00:00:00Z');

function signature(auth: string | undefined): string | undefined {
  return /Signature=([0-9a-f]{64})/.exec(auth ?? '')?.[1];
}

test('S3 example: GET object with a Range header', async () => {
  const h = await signRequest({
    method: 'GET',
    url: new URL('https://examplebucket.s3.amazonaws.com/test.txt'),
    headers: { Range: 'bytes=0-9' },
    region: 'us-east-1',
    credentials: S3_KEYS,
    date: S3_DATE,
  });
  assert.equal(h['x-amz-content-sha256'], EMPTY_SHA256);
  assert.equal(h['x-amz-date'], '20130524T000000Z');
  assert.match(h.authorization!, /^AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE\/20130524\/us-east-1\/s3\/aws4_request, SignedHeaders=host;range;x-amz-content-sha256;x-amz-date, /);
  assert.equal(signature(h.authorization), 'f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41');
});

test('S3 example: list objects (query string is part of the signature)', async () => {
  const h = await signRequest({
    method: 'GET',
    url: new URL('https://examplebucket.s3.amazonaws.com/?max-keys=2&prefix=J'),
    region: 'us-east-1',
    credentials: S3_KEYS,
    date: S3_DATE,
  });
  assert.equal(signature(h.authorization), '34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7');
});

test('SigV4 test suite: get-vanilla', async () => {
  const h = await signRequest({
    method: 'GET',
    url: new URL('https://example.amazonaws.com/'),
    region: 'us-east-1',
    service: 'service',
    credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY' },
    date: new Date('2015-08-30T12:36:00Z'),
  });
  assert.equal(
    h.authorization,
    'AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31',
  );
});

test('a session token is sent and signed', async () => {
  const h = await signRequest({
    method: 'GET',
    url: new URL('http://127.0.0.1:9000/bucket/key.svs'),
    region: 'us-east-1',
    credentials: { ...S3_KEYS, sessionToken: 'session-token-value' },
    date: S3_DATE,
  });
  assert.equal(h['x-amz-security-token'], 'session-token-value');
  assert.match(h.authorization!, /SignedHeaders=[^,]*x-amz-security-token/);
  assert.equal(h.host, '127.0.0.1:9000');
});
