/**
 * Connectivity against a real HTTP server on a loopback port that goes away and comes
 * back on the same port: only network failures turn the app offline (an answer such as
 * access-denied proves storage is there), the probe counts any HTTP answer as reachable,
 * and the periodic probe brings the state back online by itself.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { ConnectivityState } from '../../../main/api/contract.js';
import { Connectivity, endpointProbe, storageEndpoints, watchTileRoute } from '../../../main/app/offline.js';
import { sourceErrors } from '../../../main/sources/errors.js';
import { DEFAULTS, type Settings } from '../../../main/config/schema.js';

function listen(port = 0): Promise<Server> {
  // S3 answers an anonymous HEAD with 403: still "reachable".
  const server = createServer((_req, res) => {
    res.statusCode = 403;
    res.end();
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve(server));
  });
}
const close = (s: Server): Promise<void> =>
  new Promise((r) => {
    s.closeAllConnections();
    s.close(() => r());
  });

test('network failures turn it offline, answers of any kind keep it online, the probe brings it back', async (t) => {
  let server = await listen();
  const port = (server.address() as AddressInfo).port;
  t.after(() => close(server));
  const c = new Connectivity({ probe: endpointProbe([`http://127.0.0.1:${port}`]), minProbeMs: 20, maxProbeMs: 40 });
  t.after(() => c.dispose());
  const changes: ConnectivityState[] = [];
  c.onChange((s) => changes.push(s));

  // Storage said no: that is an answer, not a network failure.
  await assert.rejects(c.track(() => Promise.reject(sourceErrors.make('SOURCE_ACCESS_DENIED', 'no'))));
  assert.equal(c.state().status, 'online');
  assert.equal((await c.check()).status, 'online', 'a 403 to the probe means reachable');

  await close(server);
  const refused = await fetch(`http://127.0.0.1:${port}/`).then(
    () => undefined,
    (e: unknown) => e,
  );
  await assert.rejects(c.track(() => Promise.reject(sourceErrors.make('SOURCE_UNREACHABLE', 'Storage could not be reached.', { cause: refused }))));
  assert.equal(c.state().status, 'offline');
  assert.equal(c.state().reason, 'the connection was refused');
  assert.equal((await c.check()).status, 'offline', 'the probe agrees while nothing listens');

  // Back on the same port: the scheduled probe notices without any call.
  const back = new Promise<ConnectivityState>((resolve) => c.onChange((s) => s.status === 'online' && resolve(s)));
  server = await listen(port);
  assert.equal((await back).status, 'online');
  assert.deepEqual(
    changes.map((s) => s.status),
    ['offline', 'online'],
  );

  // A call that succeeds also ends an offline spell at once.
  c.markOffline(refused);
  assert.equal(c.offline, true);
  assert.equal(await c.track(async () => 42), 42);
  assert.equal(c.offline, false);
});

test('the probed endpoints: S3 and STS, AWS defaults when not set', () => {
  const s = structuredClone(DEFAULTS) as Settings;
  s.storage.s3.region = 'eu-west-1';
  assert.deepEqual(storageEndpoints(s), ['https://s3.eu-west-1.amazonaws.com', 'https://sts.eu-west-1.amazonaws.com']);
  s.storage.s3.endpoint = 'http://127.0.0.1:9000';
  s.storage.sts.endpoint = 'http://127.0.0.1:9000/';
  assert.deepEqual(storageEndpoints(s), ['http://127.0.0.1:9000']);
});

test('a tile that failed for want of storage turns the app offline; other tile failures do not', async (t) => {
  const c = new Connectivity({ probe: async () => Promise.reject(new TypeError('fetch failed')), minProbeMs: 60_000 });
  t.after(() => c.dispose());
  const answers: Record<string, Response> = {
    '/tiles/a/0/9/9': new Response('no such tile', { status: 404, headers: { 'x-error-code': 'TILE_OUT_OF_RANGE', 'x-error-kind': 'not-found' } }),
    '/tiles/a/0/0/0': new Response('not offline', { status: 503, headers: { 'x-error-code': 'TILE_OFFLINE', 'x-error-kind': 'unreachable' } }),
    '/tiles/a/0/1/0': new Response('gone', { status: 503, headers: { 'x-error-code': 'SOURCE_UNREACHABLE', 'x-error-kind': 'unreachable' } }),
  };
  const route = watchTileRoute(async (r) => answers[new URL(r.url).pathname]!, c);
  assert.equal((await route(new Request('http://127.0.0.1/tiles/a/0/9/9'))).status, 404);
  assert.equal((await route(new Request('http://127.0.0.1/tiles/a/0/0/0'))).status, 503);
  assert.equal(c.offline, false, 'a tile missing from an offline copy says nothing new');
  assert.equal((await route(new Request('http://127.0.0.1/tiles/a/0/1/0'))).status, 503);
  assert.equal(c.offline, true);
});
