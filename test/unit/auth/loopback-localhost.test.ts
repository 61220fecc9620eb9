/**
 * `auth.redirect.host: localhost`: the listener holds both 127.0.0.1 and [::1] on the same
 * port, so another local process cannot take [::1]:PORT and receive the code a browser
 * sends there; with a fixed port whose [::1] side is taken, the sign-in is refused.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { isAppError } from '../../../main/common/errors.js';
import { LoopbackListener } from '../../../main/auth/loopback.js';

async function ipv6Loopback(): Promise<boolean> {
  const s = createServer();
  return new Promise((resolve) => {
    s.once('error', () => resolve(false));
    s.listen({ host: '::1', port: 0 }, () => s.close(() => resolve(true)));
  });
}

function get(host: string, port: number, path: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request({ host, port, path, family: host.includes(':') ? 6 : 4 }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.once('error', reject);
    req.end();
  });
}

test('localhost listens on 127.0.0.1 and [::1], same port; a callback on ::1 is taken', async (t) => {
  if (!(await ipv6Loopback())) return t.skip('no IPv6 loopback on this machine');
  const l = await LoopbackListener.start({ host: 'localhost', port: 0, path: '/callback', organisation: 'Test' });
  try {
    const v4 = l.address();
    const v6 = l.addressV6();
    assert.equal(v4.address, '127.0.0.1');
    assert.equal(v6?.address, '::1');
    assert.equal(v6?.port, v4.port);
    assert.equal(l.redirectUri, `http://localhost:${v4.port}/callback`);
    const next = l.next();
    const answered = get('::1', v4.port, '/callback?code=abc&state=s');
    const cb = await next;
    assert.equal(cb.url.searchParams.get('code'), 'abc');
    await cb.respond({ ok: true, title: 'Signed in', message: 'You can close this window.' });
    assert.equal(await answered, 200);
  } finally {
    await l.close();
  }
});

test('a fixed port whose [::1] side another process holds is refused, and 127.0.0.1 is released', async (t) => {
  if (!(await ipv6Loopback())) return t.skip('no IPv6 loopback on this machine');
  const squatter = createServer((_req, res) => res.end('stolen'));
  await new Promise<void>((r) => squatter.listen({ host: '::1', port: 0, ipv6Only: true }, r));
  const port = (squatter.address() as AddressInfo).port;
  try {
    await assert.rejects(LoopbackListener.start({ host: 'localhost', port, path: '/callback', organisation: 'Test' }), (e) => isAppError(e, 'AUTH_PORT_IN_USE'));
    // The 127.0.0.1 side was closed again: a 127.0.0.1-only sign-in can use the port.
    const l = await LoopbackListener.start({ host: '127.0.0.1', port, path: '/callback', organisation: 'Test' });
    assert.equal(l.addressV6(), undefined);
    await l.close();
  } finally {
    await new Promise((r) => squatter.close(r));
  }
});
