/**
 * `npm run start:headless -- --config FILE` as a user runs it: the process prints one
 * JSON line with the launch URL, the URL works once opened (cookie, then the app shell
 * with its CSP), the API refuses a request without the cookie, and Ctrl-C (SIGINT) stops
 * it cleanly.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { buildRenderer } from './helpers.js';

test('start:headless prints its launch URL, serves the app behind the cookie, stops on SIGINT', async () => {
  const root = join(import.meta.dirname, '..', '..');
  const dir = mkdtempSync(join(tmpdir(), 'wsi-headless-cli-'));
  try {
    const renderer = await buildRenderer();
    const config = join(dir, 'config.json');
    writeFileSync(config, JSON.stringify({ organisation: { name: 'CLI Hospital' }, auth: { issuer: 'https://login.cli-hospital.example' }, paths: { data: join(dir, 'data'), cache: join(dir, 'cache') } }));
    const child = spawn(process.execPath, ['--import', 'tsx', 'main/app/headless.ts', '--config', config, '--renderer', renderer], {
      cwd: root,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, XDG_CONFIG_HOME: join(dir, 'xdg'), SLIDE_WORKSTATION_POLICY: join(dir, 'none.json'), WSI_LOG_CONSOLE: '0', DISPLAY: '' },
    });
    let stderr = '';
    let onStderr: (() => void) | undefined;
    child.stderr.on('data', (c: Buffer) => {
      stderr += c.toString();
      onStderr?.();
    });
    const told = new Promise<void>((resolve) => {
      onStderr = () => {
        if (/Slide Workstation is running at http:\/\/127\.0\.0\.1/.test(stderr)) resolve();
      };
    });
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    const line = await new Promise<string>((resolve, reject) => {
      createInterface({ input: child.stdout }).once('line', resolve);
      child.once('exit', () => reject(new Error(`exited before it was ready: ${stderr}`)));
    });
    const ready = JSON.parse(line) as { url: string; origin: string; config: string; demo: boolean };
    assert.equal(ready.config, config);
    assert.equal(ready.demo, false);
    assert.match(ready.url, /^http:\/\/127\.0\.0\.1:\d+\/\?launch=[\w-]{40,}$/);
    // The person at the terminal is told where the app is.
    await Promise.race([told, exited.then(() => assert.fail(`exited: ${stderr}`))]);

    assert.equal((await fetch(`${ready.origin}/api/app.info`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' })).status, 403);
    const launch = await fetch(ready.url, { redirect: 'manual' });
    assert.equal(launch.status, 302);
    const cookie = (launch.headers.get('set-cookie') ?? '').split(';')[0]!;
    const page = await fetch(`${ready.origin}/`, { headers: { cookie } });
    assert.equal(page.status, 200);
    assert.match(page.headers.get('content-security-policy') ?? '', /default-src 'none'/);
    assert.match(await page.text(), /<div id="root">/);
    const info = (await (await fetch(`${ready.origin}/api/app.info`, { method: 'POST', headers: { 'content-type': 'application/json', cookie }, body: '{}' })).json()) as {
      ok: boolean;
      result: { organisation: string; host: string };
    };
    assert.deepEqual([info.ok, info.result.organisation, info.result.host], [true, 'CLI Hospital', 'headless']);

    child.kill('SIGINT');
    assert.equal(await exited, 0);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
