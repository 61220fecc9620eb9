/**
 * S3 and HTTP range readers against real servers, with faults injected in between:
 * a small proxy in front of MinIO answers 503 SlowDown or drops the connection for the
 * first requests, then passes requests through untouched (SigV4 signs the Host header,
 * which the proxy keeps). Plus: an object replaced in storage is detected (ETag / If-Match),
 * and plain HTTP servers that do or do not honour Range.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { request as httpRequest, createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { PutObjectCommand, S3Client as AwsS3 } from '@aws-sdk/client-s3';
import type { Browser } from 'playwright-core';
import { ApiError } from '../../../main/api/contract.js';
import { errorResponse } from '../../../main/api/tile-route.js';
import { Connectivity, watchTileRoute } from '../../../main/app/offline.js';
import { AppError } from '../../../main/common/errors.js';
import { isNetworkError } from '../../../main/common/network.js';
import { describeError } from '../../../renderer/src/errors.js';
import { resolveReader } from '../../../main/sources/resolve.js';
import { launchChromium } from '../../stack/browser-login.js';
import { startStack, type RunningStack } from '../../stack/stack.js';
import { signInAs, type SignedIn } from '../credentials/helpers.js';

const hasCode = (code: string) => (e: unknown) => e instanceof AppError && e.code === code;

type Fault = 'slowdown' | 'reset' | undefined;

/** Fault injector: `plan` says what to do with the next requests; everything else is proxied. */
async function startInjector(target: string): Promise<{ url: string; plan: Fault[]; seen: number; close(): Promise<void> }> {
  const t = new URL(target);
  const state = { plan: [] as Fault[], seen: 0 };
  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    state.seen++;
    const fault = state.plan.shift();
    if (fault === 'slowdown') {
      res.writeHead(503, { 'content-type': 'application/xml', 'retry-after': '0' });
      res.end('<?xml version="1.0" encoding="UTF-8"?><Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>');
      return;
    }
    if (fault === 'reset') {
      req.socket.destroy();
      return;
    }
    const up = httpRequest({ host: t.hostname, port: t.port, method: req.method, path: req.url, headers: req.headers }, (upRes) => {
      res.writeHead(upRes.statusCode ?? 502, upRes.headers);
      upRes.pipe(res);
    });
    up.on('error', () => res.destroy());
    req.pipe(up);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    get plan() {
      return state.plan;
    },
    set plan(p: Fault[]) {
      state.plan = p;
    },
    get seen() {
      return state.seen;
    },
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

describe('S3 range reads with faults, on MinIO', () => {
  let stack: RunningStack;
  let browser: Browser;
  let injector: Awaited<ReturnType<typeof startInjector>>;
  let alice: SignedIn;
  let root: AwsS3;

  before(async () => {
    stack = await startStack({ seedSharedTestdata: false });
    browser = await launchChromium();
    injector = await startInjector(stack.s3Endpoint);
    alice = await signInAs(stack, browser, 'alice', { s3Endpoint: injector.url });
    root = new AwsS3({
      endpoint: stack.s3Endpoint,
      region: 'us-east-1',
      forcePathStyle: true,
      credentials: { accessKeyId: stack.minio.rootUser, secretAccessKey: stack.minio.rootPassword },
    });
  });
  after(async () => {
    root?.destroy();
    await alice?.dispose();
    await injector?.close();
    await browser?.close();
    await stack?.stop();
  });

  it('503 SlowDown twice, then the read succeeds; the retries are counted', async () => {
    const reader = alice.s3.rangeReader('s3://pathology-slides/README.txt');
    await alice.credentials.get(); // STS goes to MinIO directly; only S3 passes the injector
    const before = injector.seen;
    injector.plan = ['slowdown', 'slowdown'];
    const r = await reader.read([{ offset: 0, length: 20 }]);
    assert.equal(injector.seen - before, 3);
    assert.equal(r.requests, 3);
    assert.match(Buffer.from(r.buffers[0]!).toString('utf8'), /Pathology archive/);
  });

  it('a dropped connection is retried', async () => {
    const reader = alice.s3.rangeReader('s3://pathology-slides/README.txt');
    injector.plan = ['reset'];
    const r = await reader.read([{ offset: 0, length: 9 }]);
    assert.equal(r.requests, 2);
    assert.equal(r.buffers[0]!.length, 9);
  });

  it('SlowDown that does not stop ends in a clear, retryable error after a bounded number of tries', async () => {
    const reader = alice.s3.rangeReader('s3://pathology-slides/README.txt');
    const before = injector.seen;
    injector.plan = Array.from({ length: 20 }, () => 'slowdown' as const);
    await assert.rejects(reader.read([{ offset: 0, length: 4 }]), (e: unknown) => {
      assert.ok(e instanceof AppError);
      assert.equal(e.code, 'SOURCE_UNAVAILABLE');
      assert.equal(e.kind, 'busy');
      assert.equal(e.retryable, true);
      assert.match(e.message, /pathology-slides\/README\.txt/);
      return true;
    });
    assert.equal(injector.seen - before, 5, 'five attempts, then give up');
    injector.plan = [];
  });

  it('S3 503 SlowDown is "busy": retried, shown as busy with a retry button, and never turns the app offline', async () => {
    const connectivity = new Connectivity({ probe: async () => undefined });
    try {
      const offline: unknown[] = [];
      connectivity.onChange((st) => offline.push(st.status));
      const reader = alice.s3.rangeReader('s3://pathology-slides/README.txt');
      // Within the retry budget: the pathologist sees nothing at all.
      injector.plan = ['slowdown', 'slowdown'];
      const ok = await connectivity.track(() => reader.read([{ offset: 0, length: 9 }]));
      assert.equal(ok.requests, 3, 'two SlowDown answers were retried');
      // Past it: a busy error, still online, in words that say "busy", not "cannot be reached".
      injector.plan = Array.from({ length: 20 }, () => 'slowdown' as const);
      const err = await connectivity.track(() => reader.read([{ offset: 0, length: 4 }])).then(
        () => assert.fail('SlowDown without end must fail'),
        (e: unknown) => e,
      );
      injector.plan = [];
      assert.ok(err instanceof AppError);
      assert.equal(err.kind, 'busy');
      assert.equal(isNetworkError(err), false);
      assert.equal(connectivity.state().status, 'online');
      assert.deepEqual(offline, [], 'no offline event');
      const view = describeError(new ApiError(err.toJSON()));
      assert.equal(view.title, 'Storage is busy');
      assert.equal(view.action, 'retry');
      // The tile route says 503 with the kind, and the offline watcher leaves it alone.
      const res = errorResponse(err, new AbortController().signal);
      assert.equal(res.status, 503);
      assert.equal(res.headers.get('x-error-kind'), 'busy');
      const watched = watchTileRoute(async () => errorResponse(err, new AbortController().signal), connectivity);
      await watched(new Request('http://127.0.0.1/tiles/x'));
      assert.equal(connectivity.state().status, 'online');
    } finally {
      connectivity.dispose();
    }
  });

  it('an object replaced in storage is detected (If-Match → SOURCE_CHANGED)', async () => {
    const key = 'scratch/replaced.tif';
    await root.send(new PutObjectCommand({ Bucket: 'pathology-slides', Key: key, Body: Buffer.alloc(4096, 1) }));
    const reader = alice.s3.rangeReader(`s3://pathology-slides/${key}`);
    const first = await reader.read([{ offset: 0, length: 100 }]);
    assert.equal(first.buffers[0]![0], 1);
    const id = await reader.stat();
    assert.equal(id.size, 4096);
    assert.equal(first.requests, 1, 'stat() after a read costs nothing');
    await root.send(new PutObjectCommand({ Bucket: 'pathology-slides', Key: key, Body: Buffer.alloc(4096, 2) }));
    await assert.rejects(reader.read([{ offset: 100, length: 100 }]), hasCode('SOURCE_CHANGED'));
  });
});

describe('plain HTTP range reads', () => {
  let server: Server;
  let base: string;
  const small = Buffer.from(Array.from({ length: 5000 }, (_, i) => i % 251));
  const large = Buffer.alloc(20 * 1024 * 1024, 7);
  let version = 'v1';
  const dir = mkdtempSync(join(tmpdir(), 'http-src-'));

  before(async () => {
    // A static server: /ranged honours Range and If-Match; /plain/* ignores Range (old CDNs, some proxies).
    server = createServer((req, res) => {
      const url = new URL(req.url ?? '/', 'http://x');
      const body = url.pathname.endsWith('large.bin') ? large : small;
      const etag = `"${createHash('sha1').update(version).update(body).digest('hex')}"`;
      if (url.pathname === '/missing.svs') {
        res.writeHead(404).end();
        return;
      }
      if (url.pathname.startsWith('/plain/')) {
        res.writeHead(200, { 'content-length': body.length, etag }).end(body);
        return;
      }
      const ifMatch = req.headers['if-match'];
      if (ifMatch && ifMatch !== etag) {
        res.writeHead(412).end();
        return;
      }
      const m = /^bytes=(\d+)-(\d+)$/.exec(req.headers.range ?? '');
      if (!m) {
        res.writeHead(200, { 'content-length': body.length, etag }).end(body);
        return;
      }
      const start = Number(m[1]);
      if (start >= body.length) {
        res.writeHead(416, { 'content-range': `bytes */${body.length}` }).end();
        return;
      }
      const end = Math.min(Number(m[2]), body.length - 1);
      res.writeHead(206, { 'content-range': `bytes ${start}-${end}/${body.length}`, 'content-length': end - start + 1, etag }).end(body.subarray(start, end + 1));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(async () => {
    server.closeAllConnections();
    await new Promise<void>((r) => server.close(() => r()));
    rmSync(dir, { recursive: true, force: true });
  });

  const settings = { storage: { s3: { endpoint: '', region: 'us-east-1', forcePathStyle: false, buckets: [] }, sts: { provider: 'minio' as const, endpoint: '', roleArn: '', durationSeconds: 0, webIdentityToken: 'id_token' as const } } };

  it('206 answers: ranges, size from Content-Range, clipping, change detection', async () => {
    version = 'v1';
    const reader = resolveReader(`${base}/ranged/slide.svs`, { settings });
    const r = await reader.read([{ offset: 10, length: 5 }, { offset: 4990, length: 100 }, { offset: 9000, length: 10 }]);
    assert.deepEqual([...r.buffers[0]!], [...small.subarray(10, 15)]);
    assert.equal(r.buffers[1]!.length, 10);
    assert.equal(r.buffers[2]!.length, 0);
    assert.equal((await reader.stat()).size, 5000);
    version = 'v2';
    await assert.rejects(reader.read([{ offset: 0, length: 1 }]), hasCode('SOURCE_CHANGED'));
  });

  it('a 200 to a ranged request: sliced for a small object, refused in words for a large one', async () => {
    const ok = resolveReader(`${base}/plain/small.bin`, { settings });
    const r = await ok.read([{ offset: 100, length: 50 }]);
    assert.deepEqual([...r.buffers[0]!], [...small.subarray(100, 150)]);
    const big = resolveReader(`${base}/plain/large.bin`, { settings });
    await assert.rejects(big.read([{ offset: 0, length: 10 }]), (e: unknown) => {
      assert.ok(e instanceof AppError && e.code === 'SOURCE_NO_RANGE_SUPPORT');
      assert.match(e.hint ?? '', /Range/);
      return true;
    });
  });

  it('404 is SOURCE_NOT_FOUND; local paths and file:// resolve to the file reader', async () => {
    await assert.rejects(resolveReader(`${base}/missing.svs`, { settings }).read([{ offset: 0, length: 1 }]), hasCode('SOURCE_NOT_FOUND'));
    const path = join(dir, 'local.bin');
    writeFileSync(path, small);
    for (const uri of [path, `file://${path}`]) {
      const reader = resolveReader(uri, { settings });
      const r = await reader.read([{ offset: 1, length: 3 }]);
      assert.deepEqual([...r.buffers[0]!], [1, 2, 3]);
      await reader.close();
    }
    assert.throws(() => resolveReader('s3://b/k', { settings }), hasCode('AUTH_NOT_SIGNED_IN'));
  });
});
