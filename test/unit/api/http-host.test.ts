/**
 * The headless transport's gatekeeping and wiring, on a real HTTP server with in-memory
 * services (the handlers' collaborators are plain objects; no server is being imitated).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { existsSync, mkdtempSync, mkdirSync, readFileSync, rmSync, watch, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createAppRequestHandler } from '../../../main/api/app-protocol.js';
import { createEventBus, createHandlers } from '../../../main/api/handlers.js';
import { startHttpHost, type HttpHost } from '../../../main/api/http-host.js';
import { CONTENT_SECURITY_POLICY } from '../../../main/api/security.js';
import { openLaunchLink } from '../../../main/app/open-browser.js';
import type { AuthState } from '../../../main/api/contract.js';
import { fakeServices } from './fake-services.js';

interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

function raw(host: HttpHost, path: string, opts: { method?: string; headers?: Record<string, string>; body?: string } = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port: host.port, path, method: opts.method ?? 'GET', headers: opts.headers }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end(opts.body);
  });
}

describe('headless HTTP host', () => {
  let host: HttpHost;
  let services: ReturnType<typeof fakeServices>;
  let cookie = '';
  let dir: string;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'wsi-host-'));
    const bundle = join(dir, 'bundle');
    mkdirSync(join(bundle, 'assets'), { recursive: true });
    writeFileSync(join(bundle, 'index.html'), '<!doctype html><title>t</title>');
    writeFileSync(join(bundle, 'assets', 'a.js'), 'console.log(1)');
    // A file next to the bundle that no URL may reach.
    writeFileSync(join(dir, 'outside-wsi.html'), 'outside');
    services = fakeServices();
    host = await startHttpHost({ handlers: createHandlers(services), events: createEventBus(services), app: createAppRequestHandler({ rendererDir: bundle }) });
  });
  after(async () => {
    await host.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('binds to 127.0.0.1 and the launch link sets an HttpOnly SameSite=Strict cookie', async () => {
    assert.match(host.origin, /^http:\/\/127\.0\.0\.1:\d+$/);
    const r = await raw(host, new URL(host.launchUrl).pathname + new URL(host.launchUrl).search);
    assert.equal(r.status, 302);
    assert.equal(r.headers.location, '/');
    const set = String(r.headers['set-cookie']);
    assert.match(set, /HttpOnly/);
    assert.match(set, /SameSite=Strict/);
    assert.ok(!set.includes(new URL(host.launchUrl).searchParams.get('launch')!), 'the cookie is not the launch secret');
    cookie = set.split(';')[0]!;
  });

  test('the launch link works once: reused without the session it is refused with a page saying so; the browser that used it goes on to the app', async () => {
    const path = new URL(host.launchUrl).pathname + new URL(host.launchUrl).search;
    const again = await raw(host, path);
    assert.equal(again.status, 410);
    assert.match(String(again.headers['content-type']), /^text\/html/);
    assert.match(again.body, /already been used/);
    assert.match(again.body, /start it again/);
    assert.equal(again.headers['set-cookie'], undefined);
    const same = await raw(host, path, { headers: { cookie } });
    assert.equal(same.status, 302);
    assert.equal(same.headers.location, '/');
    assert.equal(same.headers['set-cookie'], undefined);
  });

  test('newLaunchUrl mints another one-time link; onUsed runs once; a POST does not spend it', async () => {
    let used = 0;
    const url = new URL(host.newLaunchUrl(() => used++));
    const path = url.pathname + url.search;
    assert.equal((await raw(host, path, { method: 'POST' })).status, 403);
    assert.equal(used, 0);
    const first = await raw(host, path);
    assert.equal(first.status, 302);
    assert.match(String(first.headers['set-cookie']), /HttpOnly/);
    assert.equal(used, 1);
    assert.equal((await raw(host, path)).status, 410);
    assert.equal(used, 1);
  });

  test('a wrong launch secret is refused', async () => {
    const r = await raw(host, '/?launch=not-the-secret');
    assert.equal(r.status, 403);
    assert.equal(r.headers['set-cookie'], undefined);
  });

  test('API, events, pages and tiles need the cookie', async () => {
    for (const [path, method] of [['/api/auth.state', 'POST'], ['/api/events', 'GET'], ['/', 'GET'], ['/tiles/x/0/0/0.jpg', 'GET']] as const) {
      const r = await raw(host, path, { method, headers: { 'content-type': 'application/json' }, body: method === 'POST' ? '{}' : undefined });
      assert.equal(r.status, 403, `${method} ${path}`);
    }
    const bad = await raw(host, '/api/auth.state', { method: 'POST', headers: { 'content-type': 'application/json', cookie: 'wsi_session_1=forged' }, body: '{}' });
    assert.equal(bad.status, 403);
  });

  test('a foreign Host header is refused even with the cookie (DNS rebinding)', async () => {
    const r = await raw(host, '/api/auth.state', { method: 'POST', headers: { host: `evil.example:${host.port}`, cookie, 'content-type': 'application/json' }, body: '{}' });
    assert.equal(r.status, 403);
    const l = await raw(host, '/api/auth.state', { method: 'POST', headers: { host: `localhost:${host.port}`, cookie, 'content-type': 'application/json' }, body: '{}' });
    assert.equal(l.status, 403);
  });

  test('a foreign Origin is refused; the same origin is accepted', async () => {
    const foreign = await raw(host, '/api/app.info', { method: 'POST', headers: { origin: 'http://evil.example', cookie, 'content-type': 'application/json' }, body: '{}' });
    assert.equal(foreign.status, 403);
    const same = await raw(host, '/api/app.info', { method: 'POST', headers: { origin: host.origin, cookie, 'content-type': 'application/json' }, body: '{}' });
    assert.equal(same.status, 200);
    assert.deepEqual(JSON.parse(same.body), { ok: true, result: { version: '1', organisation: 'Test Hospital', demo: false, host: 'headless', lockedSettings: [], fileDialog: false } });
  });

  test('API calls must be JSON POSTs', async () => {
    const form = await raw(host, '/api/auth.signIn', { method: 'POST', headers: { cookie, 'content-type': 'application/x-www-form-urlencoded' }, body: 'a=1' });
    assert.equal(form.status, 415);
    const get = await raw(host, '/api/auth.signIn', { headers: { cookie } });
    assert.equal(get.status, 405);
  });

  test('errors cross as SerializedApiError, without the cause', async () => {
    // storage.list is a signed-in call (CALLS): the service's own error is what must cross.
    services.emit({ status: 'signed-in', secretStore: { kind: 'memory', description: 'memory' }, warnings: [] });
    const r = await raw(host, '/api/storage.list', { method: 'POST', headers: { cookie, 'content-type': 'application/json' }, body: JSON.stringify({ params: { uri: 's3://b/' } }) });
    const reply = JSON.parse(r.body) as { ok: boolean; error: { code: string; details: unknown } };
    assert.equal(reply.ok, false);
    assert.equal(reply.error.code, 'S3_ACCESS_DENIED');
    assert.deepEqual(reply.error.details, { bucket: 'b' });
    assert.ok(!r.body.includes('secret-cause-text'));
    const missing = JSON.parse((await raw(host, '/api/storage.list', { method: 'POST', headers: { cookie, 'content-type': 'application/json' }, body: '{"params":{}}' })).body) as {
      error: { code: string };
    };
    assert.equal(missing.error.code, 'API_BAD_PARAMS');
    const unknown = JSON.parse((await raw(host, '/api/fs.readFile', { method: 'POST', headers: { cookie, 'content-type': 'application/json' }, body: '{}' })).body) as {
      error: { code: string };
    };
    assert.equal(unknown.error.code, 'API_UNKNOWN_METHOD');
    services.emit({ status: 'signed-out', secretStore: { kind: 'memory', description: 'memory' }, warnings: [] });
  });

  test('pages carry the strict CSP; paths cannot leave the bundle', async () => {
    const page = await raw(host, '/', { headers: { cookie } });
    assert.equal(page.status, 200);
    assert.equal(page.headers['content-security-policy'], CONTENT_SECURITY_POLICY);
    assert.match(CONTENT_SECURITY_POLICY, /default-src 'none'/);
    assert.equal(page.headers['x-content-type-options'], 'nosniff');
    const spa = await raw(host, '/some/route', { headers: { cookie } });
    assert.equal(spa.status, 200);
    assert.equal((await raw(host, '/assets/a.js', { headers: { cookie } })).headers['content-type'], 'text/javascript; charset=utf-8');
    for (const p of ['/../outside-wsi.html', '/%2e%2e/outside-wsi.html', '/assets/..%2f..%2foutside-wsi.html']) {
      const r = await raw(host, p, { headers: { cookie } });
      assert.ok(r.status === 400 || r.status === 404, `${p} → ${r.status}`);
      assert.ok(!r.body.includes('outside'));
    }
    assert.equal((await raw(host, '/tiles/x/0/0/0.jpg', { headers: { cookie } })).status, 404);
  });

  test('the event stream forwards auth.changed', async () => {
    const received = new Promise<string>((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port: host.port, path: '/api/events', headers: { cookie } }, (res) => {
        assert.equal(res.headers['content-type'], 'text/event-stream');
        let buf = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => {
          buf += c;
          if (buf.includes(': connected')) services.emit({ status: 'signing-in', secretStore: { kind: 'memory', description: 'memory' }, warnings: [] });
          const m = /event: auth\.changed\ndata: (.*)\n\n/.exec(buf);
          if (m) {
            req.destroy();
            resolve(m[1]!);
          }
        });
      });
      req.on('error', reject);
      req.end();
    });
    const payload = JSON.parse(await received) as AuthState;
    assert.equal(payload.status, 'signing-in');
  });
});

describe('headless launch link handed to the OS opener', () => {
  test('the opener gets a private file, never the secret on its command line; the link is spent once the browser used it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'wsi-launch-test-'));
    const services = fakeServices();
    const bundle = join(dir, 'bundle');
    mkdirSync(bundle);
    writeFileSync(join(bundle, 'index.html'), '<!doctype html><title>app</title>');
    const host = await startHttpHost({ handlers: createHandlers(services), events: createEventBus(services), app: createAppRequestHandler({ rendererDir: bundle }) });
    const out = join(dir, 'out');
    mkdirSync(out);
    // A real process as the "OS opener": it records what a local user could see of it.
    const opener = join(dir, 'opener.mjs');
    writeFileSync(
      opener,
      `import { readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
const file = fileURLToPath(process.argv[2]);
const cmdline = (() => { try { return readFileSync('/proc/self/cmdline', 'utf8'); } catch { return ''; } })();
const seen = { argv: process.argv, cmdline, html: readFileSync(file, 'utf8'), mode: statSync(file).mode & 0o777, dirMode: statSync(dirname(file)).mode & 0o777 };
writeFileSync(${JSON.stringify(join(out, 'seen.tmp'))}, JSON.stringify(seen));
renameSync(${JSON.stringify(join(out, 'seen.tmp'))}, ${JSON.stringify(join(out, 'seen.json'))});
`,
    );
    const watcher = watch(out);
    const recorded = new Promise<void>((resolve) => watcher.on('change', (_, name) => String(name) === 'seen.json' && resolve()));
    try {
      const opened: { handoff?: Awaited<ReturnType<typeof openLaunchLink>> } = {};
      const url = host.newLaunchUrl(() => opened.handoff?.remove());
      const secret = new URL(url).searchParams.get('launch')!;
      const handoff = await openLaunchLink(url, { command: [process.execPath, [opener]], dir });
      opened.handoff = handoff;
      assert.equal(handoff.opened, true);
      if (!existsSync(join(out, 'seen.json'))) await recorded;
      const seen = JSON.parse(readFileSync(join(out, 'seen.json'), 'utf8')) as { argv: string[]; cmdline: string; html: string; mode: number; dirMode: number };
      assert.ok(!seen.argv.join(' ').includes(secret), 'the secret is not in the opener\'s argv');
      assert.ok(!seen.cmdline.includes(secret), 'nor in /proc/PID/cmdline');
      assert.match(seen.argv.at(-1)!, /^file:\/\//);
      assert.equal(seen.mode, 0o600);
      assert.equal(seen.dirMode, 0o700);
      assert.ok(seen.html.includes(url), 'the file leads to the link');

      // The browser follows the file's refresh: a cross-site navigation, answered with a same-site step.
      const link = new URL(/url=([^"]+)"/.exec(seen.html)![1]!.replace(/&amp;/g, '&'));
      const r = await raw(host, link.pathname + link.search, { headers: { 'sec-fetch-site': 'cross-site' } });
      assert.equal(r.status, 200);
      assert.match(r.body, /http-equiv="refresh" content="0;url=\/"/);
      const cookie = String(r.headers['set-cookie']).split(';')[0]!;
      assert.match(String(r.headers['set-cookie']), /SameSite=Strict/);
      assert.equal(existsSync(handoff.file), false, 'the file is deleted once the link is used');
      assert.equal((await raw(host, '/', { headers: { cookie } })).status, 200);
      assert.equal((await raw(host, link.pathname + link.search)).status, 410, 'a second use is refused');
    } finally {
      watcher.close();
      await host.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
