/**
 * A hostile renderer against the app's services (createServices + the contract handlers,
 * the path both hosts use), with alice signed in through the real IdP and MinIO behind:
 * every call that names an address refuses what the page may not name, with a typed error
 * (a code of main/app/address-check.ts and its kind), before anything is fetched. The
 * services' fetch is the real one, wrapped only to record which URLs main asked for; an
 * internal HTTP server stands for "http://127.0.0.1" and counts whether it was reached.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import type { Browser } from 'playwright-core';
import { createHandlers, dispatch, type ApiHandlers } from '../../../main/api/handlers.js';
import { ADDRESS_ERRORS } from '../../../main/app/address-check.js';
import { createServices, type Services } from '../../../main/app/services.js';
import { completeLogin, launchChromium } from '../../stack/browser-login.js';
import { startStack, type RunningStack } from '../../stack/stack.js';

describe('the renderer→main boundary: one address check (real stack)', () => {
  let stack: RunningStack;
  let browser: Browser;
  let dataDir: string;
  let services: Services;
  let handlers: ApiHandlers;
  let internal: Server;
  let internalUrl: string;
  let internalHits = 0;
  const fetched: string[] = [];

  before(async () => {
    stack = await startStack({ seedSharedTestdata: false });
    browser = await launchChromium();
    dataDir = mkdtempSync(join(tmpdir(), 'wsi-boundary-'));
    internal = createServer((_req, res) => {
      internalHits++;
      res.end('internal secret');
    });
    await new Promise<void>((r) => internal.listen(0, '127.0.0.1', r));
    internalUrl = `http://127.0.0.1:${(internal.address() as AddressInfo).port}/admin/slide.svs`;
    const logins: Promise<void>[] = [];
    services = await createServices({
      configFile: stack.configFile,
      isolated: true,
      dataDir,
      host: 'headless',
      fetch: (input, init) => {
        fetched.push(String(input));
        return fetch(input, init);
      },
      openBrowser: async (url) => {
        const user = stack.users.find((u) => u.username === 'alice')!;
        logins.push(
          (async () => {
            const ctx = await browser.newContext();
            try {
              await completeLogin(await ctx.newPage(), url, user);
            } finally {
              await ctx.close();
            }
          })(),
        );
      },
    });
    handlers = createHandlers(services.api);
    const reply = await dispatch(handlers, 'auth.signIn', undefined);
    await Promise.all(logins);
    assert.ok(reply.ok && (reply.result as { status: string }).status === 'signed-in');
    // Storage works for alice: the refusals below are the check's, not a broken stack.
    const roots = await dispatch(handlers, 'storage.roots', undefined);
    assert.ok(roots.ok, JSON.stringify(roots));
  });
  after(async () => {
    await services?.dispose();
    await browser?.close();
    await stack?.stop();
    await new Promise((r) => internal?.close(r));
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  const attacks: { name: string; uri: () => string; code: keyof typeof ADDRESS_ERRORS.entries }[] = [
    { name: 'a plain path', uri: () => '/etc/passwd', code: 'ADDRESS_NOT_ALLOWED' },
    { name: 'a file:// the user did not pick', uri: () => 'file:///etc/passwd', code: 'ADDRESS_LOCAL_NOT_CHOSEN' },
    { name: 'an internal http:// URL', uri: () => internalUrl, code: 'ADDRESS_NOT_ALLOWED' },
    { name: 'an IP-looking bucket (s3://2130706433#/x)', uri: () => 's3://2130706433#/x', code: 'ADDRESS_BAD_BUCKET' },
    { name: 'a bucket with a host in it', uri: () => 's3://evil.example:80@x/slide.svs', code: 'ADDRESS_BAD_BUCKET' },
    { name: 'a bucket that is not configured', uri: () => 's3://someone-elses-bucket/slide.svs', code: 'ADDRESS_UNKNOWN_BUCKET' },
    { name: 'an archive that is not configured', uri: () => 'dicomweb://127.0.0.1/studies/1.2/series/3.4', code: 'ADDRESS_UNKNOWN_ARCHIVE' },
    { name: 'a malformed series', uri: () => 'dicomweb://x/studies/../series/3', code: 'ADDRESS_BAD_SERIES' },
  ];

  for (const method of ['slides.open', 'pins.add', 'storage.list'] as const) {
    for (const a of attacks) {
      test(`${method} refuses ${a.name}, fetching nothing`, async () => {
        const before = fetched.length;
        const hits = internalHits;
        const reply = await dispatch(handlers, method, { uri: a.uri() });
        assert.equal(reply.ok, false);
        if (reply.ok) return;
        // storage.list takes folders: a plain path or http:// is refused the same way.
        assert.equal(reply.error.code, a.code, reply.error.message);
        assert.equal(reply.error.kind, ADDRESS_ERRORS.entries[a.code].kind);
        assert.deepEqual(fetched.slice(before), [], 'nothing was fetched');
        assert.equal(internalHits, hits, 'the internal server was not reached');
      });
    }
  }

  test('pins.add refuses the internal URL and lists no pin for it', async () => {
    await dispatch(handlers, 'pins.add', { uri: internalUrl });
    const pins = await dispatch(handlers, 'pins.list', undefined);
    assert.ok(pins.ok);
    assert.deepEqual(pins.ok ? pins.result : null, []);
  });
});
