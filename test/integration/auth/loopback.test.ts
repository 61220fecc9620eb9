import { test } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { connect, createServer } from 'node:net';
import { networkInterfaces } from 'node:os';
import { LoopbackListener } from '../../../main/auth/loopback.js';
import { isAppError } from '../../../main/common/errors.js';

interface Reply {
  status: number;
  body: string;
  headers: Record<string, string | string[] | undefined>;
}

function get(host: string, port: number, path: string): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request({ host, port, path, method: 'GET', agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, headers: res.headers }));
    });
    req.on('error', reject);
    req.end();
  });
}

/** Resolves with the socket error code, or 'connected'. */
function tryConnect(host: string, port: number): Promise<string> {
  return new Promise((resolve) => {
    const s = connect({ host, port });
    s.setTimeout(3000);
    s.on('connect', () => {
      s.destroy();
      resolve('connected');
    });
    s.on('timeout', () => {
      s.destroy();
      resolve('timeout');
    });
    s.on('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? 'error'));
  });
}

const OPTS = { host: '127.0.0.1' as const, port: 0, path: '/callback', organisation: 'Test Hospital' };

test('listener binds 127.0.0.1 only, on an ephemeral port, and is unreachable on other local addresses', async (t) => {
  const l = await LoopbackListener.start(OPTS);
  t.after(() => l.close());
  const addr = l.address();
  assert.equal(addr.address, '127.0.0.1');
  assert.equal(addr.family, 'IPv4');
  assert.ok(addr.port > 0);
  assert.equal(l.redirectUri, `http://127.0.0.1:${addr.port}/callback`);
  // 127.0.0.2 is loopback too on Linux, but a socket bound to 127.0.0.1 must not answer it.
  const others = ['127.0.0.2', '::1'];
  for (const list of Object.values(networkInterfaces())) {
    for (const i of list ?? []) if (!i.internal && i.family === 'IPv4') others.push(i.address);
  }
  for (const host of others) {
    const r = await tryConnect(host, addr.port);
    assert.notEqual(r, 'connected', `listener answered on ${host}`);
  }
  assert.equal(await tryConnect('127.0.0.1', addr.port), 'connected');
});

test('other paths get 404 and do not use up the callback; exactly one callback, then the port is closed', async (t) => {
  const l = await LoopbackListener.start(OPTS);
  t.after(() => l.close());
  const port = l.address().port;
  const nf = await get('127.0.0.1', port, '/favicon.ico');
  assert.equal(nf.status, 404);
  assert.match(String(nf.headers['content-security-policy']), /default-src 'none'/);
  const wrongPath = await get('127.0.0.1', port, '/callbackx?code=abc&state=def');
  assert.equal(wrongPath.status, 404);

  const waiting = l.next();
  const first = get('127.0.0.1', port, '/callback?code=c1&state=s1');
  const cb = await waiting;
  assert.equal(cb.url.href, `http://127.0.0.1:${port}/callback?code=c1&state=s1`);
  // A second callback that arrives while the first is being handled: connection dropped, no page.
  await assert.rejects(get('127.0.0.1', port, '/callback?code=c2&state=s1'));
  await cb.respond({ ok: true, title: 'You are signed in', message: 'Signed in as Alice.' });
  const page = await first;
  assert.equal(page.status, 200);
  assert.match(page.body, /You can close this tab and return to the workstation/);
  assert.match(page.body, /Signed in as Alice\./);
  assert.ok(!/<script/i.test(page.body), 'the page is script-free');
  // After completion the port is closed.
  const after = await tryConnect('127.0.0.1', port);
  assert.equal(after, 'ECONNREFUSED');
});

test('page text is HTML-escaped', async (t) => {
  const l = await LoopbackListener.start(OPTS);
  t.after(() => l.close());
  const waiting = l.next();
  const reply = get('127.0.0.1', l.address().port, '/callback?state=x');
  const cb = await waiting;
  await cb.respond({ ok: false, title: 'Sign-in did not complete', message: '<img src=x onerror=alert(1)>' });
  const page = await reply;
  assert.equal(page.status, 400);
  assert.ok(!page.body.includes('<img src=x'));
  assert.match(page.body, /&lt;img src=x/);
});

test('a fixed port that is taken fails with AUTH_PORT_IN_USE; "localhost" redirect still binds 127.0.0.1', async (t) => {
  const blocker = createServer();
  await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', () => r()));
  t.after(() => new Promise<void>((r) => blocker.close(() => r())));
  const port = (blocker.address() as { port: number }).port;
  await assert.rejects(LoopbackListener.start({ ...OPTS, port }), (e: unknown) => isAppError(e, 'AUTH_PORT_IN_USE'));

  const l = await LoopbackListener.start({ ...OPTS, host: 'localhost' });
  t.after(() => l.close());
  assert.equal(l.address().address, '127.0.0.1');
  assert.match(l.redirectUri, /^http:\/\/localhost:\d+\/callback$/);
});
