import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { randomBytes, createHash } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { LinkShaper } from '../../../bench/shaper.js';

// The shaper must be byte-exact and count requests the same way for any client;
// its timing is exercised by the benchmark itself, not asserted here.
test('bytes pass through the shaped link intact, requests and bytes are counted', async () => {
  const body = randomBytes(300_000);
  const server = createServer((req, res) => {
    res.setHeader('content-length', String(body.length));
    res.end(body);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const { port } = server.address() as AddressInfo;
  const shaper = new LinkShaper({ mbit: 200, rttMs: 4, target: { host: '127.0.0.1', port } });
  const { url } = await shaper.start();
  try {
    const results = await Promise.all([1, 2, 3].map(() => fetch(`${url}/x`).then((r) => r.arrayBuffer())));
    for (const r of results) {
      assert.equal(createHash('sha256').update(new Uint8Array(r)).digest('hex'), createHash('sha256').update(body).digest('hex'));
    }
    assert.equal(shaper.counters.requests, 3);
    assert.ok(shaper.counters.bytesDown >= 3 * body.length);
  } finally {
    await shaper.stop();
    server.close();
  }
});

test('many large bodies through a slow shared link arrive byte-exact and in order', async () => {
  const bodies = Array.from({ length: 8 }, () => randomBytes(1 << 20));
  const server = createServer((req, res) => {
    const body = bodies[Number(req.url!.slice(1))]!;
    res.setHeader('content-length', String(body.length));
    res.end(body);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const { port } = server.address() as AddressInfo;
  const shaper = new LinkShaper({ mbit: 400, rttMs: 10, target: { host: '127.0.0.1', port } });
  const { url } = await shaper.start();
  try {
    const got = await Promise.all(bodies.map((_, i) => fetch(`${url}/${i}`).then((r) => r.arrayBuffer())));
    got.forEach((g, i) => assert.ok(Buffer.from(g).equals(bodies[i]!), `body ${i} intact`));
  } finally {
    await shaper.stop();
    server.close();
  }
});
