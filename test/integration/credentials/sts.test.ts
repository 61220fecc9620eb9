/**
 * The app's STS provider and S3 client on the real stack (oidc-provider + MinIO STS):
 * who gets which bucket, what carol is told, and job credentials narrowed by a policy.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { configureLogging } from '../../../main/common/log.js';
import type { Browser } from 'playwright-core';
import { AppError } from '../../../main/common/errors.js';
import { ACCESS_DENIED_MESSAGE } from '../../../main/credentials/index.js';
import { S3Client } from '../../../main/sources/s3.js';
import { isSlideName } from '../../../main/formats/slide-names.js';
import { launchChromium } from '../../stack/browser-login.js';
import { startStack, type RunningStack } from '../../stack/stack.js';
import { signInAs, type SignedIn } from './helpers.js';

const hasCode = (code: string) => (e: unknown) => e instanceof AppError && e.code === code;

describe('STS credentials and S3 on the real stack', () => {
  let stack: RunningStack;
  let browser: Browser;
  const sessions: SignedIn[] = [];

  const logDir = mkdtempSync(join(tmpdir(), 'sts-log-'));
  const logFile = join(logDir, 'main.log');

  before(async () => {
    configureLogging({ file: logFile, console: false, level: 'debug' });
    stack = await startStack({ seedSharedTestdata: false });
    browser = await launchChromium();
  });
  after(async () => {
    for (const s of sessions) await s.dispose();
    await browser?.close();
    await stack?.stop();
    configureLogging({ file: undefined, console: true, level: 'info' });
    rmSync(logDir, { recursive: true, force: true });
  });

  async function session(user: string): Promise<SignedIn> {
    const s = await signInAs(stack, browser, user);
    sessions.push(s);
    return s;
  }

  it('alice lists and reads pathology-slides; the session name names her', async () => {
    const alice = await session('alice');
    const creds = await alice.credentials.get();
    assert.ok(creds.expiration.getTime() > Date.now());
    const info = alice.credentials.info();
    assert.equal(info?.sessionName, 'alice@demo-hospital.test');
    assert.equal(info?.provider, 'minio');

    const root = await alice.s3.list('s3://pathology-slides/');
    const names = root.entries.map((e) => `${e.kind}:${e.name}`);
    assert.ok(names.includes('folder:demo'), names.join(','));
    assert.ok(names.includes('folder:cases'));
    const readme = root.entries.find((e) => e.name === 'README.txt');
    assert.equal(readme?.kind, 'file');
    assert.equal(readme?.slide, false);
    assert.ok((readme?.size ?? 0) > 0);

    const demo = await alice.s3.list('s3://pathology-slides/demo/');
    const slide = demo.entries.find((e) => e.kind === 'file' && e.slide);
    assert.ok(slide, 'the demo slide is listed as a slide');

    // Ranged reads through the RangeReader: TIFF header, size from Content-Range, ETag kept.
    const reader = alice.s3.rangeReader(slide.uri);
    const r = await reader.read([{ offset: 0, length: 4 }, { offset: 4, length: 4 }, { offset: 100, length: 16 }]);
    assert.equal(r.requests, 2, 'adjacent ranges merged into one request, the third separate');
    assert.ok(['II*\0', 'MM\0*'].includes(Buffer.from(r.buffers[0]!).toString('latin1')), 'a TIFF header');
    assert.equal(r.buffers[1]!.length, 4);
    const id = await reader.stat();
    assert.equal(id.size, slide.size);
    assert.ok(id.etag);
    const head = await alice.s3.headObject('pathology-slides', slide.uri.slice('s3://pathology-slides/'.length));
    assert.equal(head.size, slide.size);
    assert.equal(head.etag, id.etag, 'HeadObject and the ranged GETs see the same version');
    // A read past the end is clipped, and a read that starts beyond it is empty with no request.
    const tail = await reader.read([{ offset: id.size - 10, length: 100 }, { offset: id.size + 5, length: 10 }]);
    assert.equal(tail.buffers[0]!.length, 10);
    assert.equal(tail.buffers[1]!.length, 0);
    assert.equal(tail.requests, 1);
  });

  it('bob gets SOURCE_ACCESS_DENIED naming alice\'s bucket, and still reads his own', async () => {
    const bob = await session('bob');
    await assert.rejects(bob.s3.list('s3://pathology-slides/'), (e: unknown) => {
      assert.ok(e instanceof AppError);
      assert.equal(e.code, 'SOURCE_ACCESS_DENIED');
      assert.match(e.message + (e.hint ?? ''), /pathology-slides/);
      return true;
    });
    await assert.rejects(bob.s3.rangeReader('s3://pathology-slides/README.txt').read([{ offset: 0, length: 10 }]), hasCode('SOURCE_ACCESS_DENIED'));
    const own = await bob.s3.list('s3://research-slides/');
    assert.ok(own.entries.length > 0);
    await assert.rejects(bob.s3.rangeReader('s3://research-slides/no-such-slide.svs').read([{ offset: 0, length: 10 }]), hasCode('SOURCE_NOT_FOUND'));
  });

  it('carol is told in words that she has no storage access', async () => {
    const carol = await session('carol');
    await assert.rejects(carol.credentials.get(), (e: unknown) => {
      assert.ok(e instanceof AppError);
      assert.equal(e.code, 'STS_ACCESS_DENIED');
      assert.equal(e.message, ACCESS_DENIED_MESSAGE);
      return true;
    });
    assert.equal(carol.credentials.info(), null, 'no credentials issued');
  });

  it('job credentials are narrowed by the inline session policy', async () => {
    const alice = sessions.find((s) => s.auth.user()?.email?.startsWith('alice')) ?? (await session('alice'));
    const job = alice.credentials.forJob({
      Version: '2012-10-17',
      Statement: [
        { Effect: 'Allow', Action: ['s3:GetObject'], Resource: ['arn:aws:s3:::pathology-slides/demo/*'] },
        { Effect: 'Allow', Action: ['s3:ListBucket'], Resource: ['arn:aws:s3:::pathology-slides'] },
      ],
    });
    const jobS3 = new S3Client({ endpoint: stack.s3Endpoint, region: 'us-east-1', forcePathStyle: true, credentials: job, isSlide: isSlideName });
    const demo = await jobS3.list('s3://pathology-slides/demo/');
    const slide = demo.entries.find((e) => e.slide)!;
    const head = await jobS3.rangeReader(slide.uri).read([{ offset: 0, length: 2 }]);
    assert.equal(head.buffers[0]!.length, 2);
    assert.match(job.info()!.sessionName, /\+job$/);
    // Outside the policy: README.txt in the same bucket, and the teaching bucket alice may read.
    await assert.rejects(jobS3.rangeReader('s3://pathology-slides/README.txt').read([{ offset: 0, length: 2 }]), hasCode('SOURCE_ACCESS_DENIED'));
    await assert.rejects(jobS3.list('s3://teaching/'), hasCode('SOURCE_ACCESS_DENIED'));
    // The user's own credentials still read it: the job got less, the user lost nothing.
    const readme = await alice.s3.getObject('pathology-slides', 'README.txt');
    assert.match(Buffer.from(readme).toString('utf8'), /pathology-slides/);
    job.dispose();
  });

  it('the secret key and session token never reach the log', async () => {
    const alice = sessions[0]!;
    const c = await alice.credentials.get();
    const text = readFileSync(logFile, 'utf8');
    assert.match(text, /storage credentials issued/, 'the credentials module did log');
    assert.match(text, new RegExp(c.accessKeyId), 'the access key id (not a secret) is logged on renewal');
    assert.equal(text.includes(c.secretAccessKey), false);
    assert.equal(text.includes(c.sessionToken), false);
  });
});
