/**
 * RangeReader.preconnect against a real HTTP server: it opens the connections asked for
 * (the server sees them), the tile reads that follow use them instead of opening new ones,
 * and it does not teach the reader the object's size or version (its answers are dropped).
 * (That the tile service preconnects only when it parses a slide shows in the bench: a
 * reopen stays one request.)
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { HttpRangeReader } from '../../../main/sources/http.js';

const BODY = Buffer.alloc(64 * 1024, 7);

async function serve(t: { after: (fn: () => unknown) => void }): Promise<{ url: string; connections: () => number; requests: () => number }> {
  let connections = 0;
  let requests = 0;
  const server: Server = createServer((req, res) => {
    requests += 1;
    const m = /bytes=(\d+)-(\d+)/.exec(req.headers.range ?? '');
    const [start, end] = m ? [Number(m[1]), Math.min(Number(m[2]), BODY.length - 1)] : [0, BODY.length - 1];
    res.writeHead(m ? 206 : 200, { 'content-range': `bytes ${start}-${end}/${BODY.length}`, etag: '"v1"', 'content-length': String(end - start + 1) });
    // Answers take a moment, as over a network: parallel requests need parallel connections.
    setTimeout(() => res.end(BODY.subarray(start, end + 1)), 30);
  });
  server.on('connection', () => (connections += 1));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => new Promise<void>((resolve) => {
    server.closeAllConnections();
    server.close(() => resolve());
  }));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/slide.tif`, connections: () => connections, requests: () => requests };
}

const until = async (ok: () => boolean): Promise<void> => {
  for (let i = 0; i < 200 && !ok(); i++) await new Promise((r) => setTimeout(r, 10));
  assert.ok(ok());
};

test('preconnect opens the connections asked for, and the reads that follow reuse them', async (t) => {
  const s = await serve(t);
  const reader = new HttpRangeReader(s.url);
  t.after(() => reader.close());
  reader.preconnect(4);
  await until(() => s.requests() === 4);
  const opened = s.connections();
  assert.equal(opened, 4, 'one connection per preconnect');
  // Wait until the preconnect answers are in, so their connections are idle in the pool.
  await new Promise((r) => setTimeout(r, 100));
  const reads = await Promise.all([0, 1, 2, 3].map((i) => reader.read([{ offset: i * 1000, length: 100 }])));
  assert.ok(reads.every((r) => r.buffers[0]!.length === 100));
  assert.ok(s.connections() <= opened + 1, `the reads rode on the open connections (${s.connections() - opened} new)`);
});

test('preconnect does not tell the reader the object\'s size or version', async (t) => {
  const s = await serve(t);
  const reader = new HttpRangeReader(s.url);
  t.after(() => reader.close());
  reader.preconnect(2);
  await until(() => s.requests() === 2);
  await new Promise((r) => setTimeout(r, 100));
  const before = s.requests();
  // stat still asks: only reads of the reader's own learn the identity.
  const id = await reader.stat();
  assert.equal(s.requests(), before + 1);
  assert.equal(id.size, BODY.length);
  assert.equal(id.etag, '"v1"');
});
