import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { configureLogging, logFolder, logger, redact, registerSecret } from '../../../main/common/log.js';

test('registered secrets and token-shaped strings never reach the log file', () => {
  const file = join(mkdtempSync(join(tmpdir(), 'log-')), 'app.log');
  configureLogging({ file, console: false, level: 'debug' });
  const secret = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY';
  registerSecret(secret);
  const jwt = 'eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2lnbmF0dXJlc2lnbmF0dXJl';
  const log = logger('test');
  log.info('credentials received', { key: secret, header: `Bearer ${jwt}` });
  log.error('callback failed', { url: 'http://127.0.0.1:5000/callback?code=abcdefgh123&state=xyz', err: new Error(`token ${jwt}`) });
  const text = readFileSync(file, 'utf8');
  assert.equal(text.trim().split('\n').length, 2);
  assert.ok(!text.includes(secret));
  assert.ok(!text.includes(jwt));
  assert.ok(!text.includes('abcdefgh123'));
  assert.match(text, /\[redacted\]/);
  configureLogging({ file: undefined });
});

test('redact leaves ordinary text alone', () => {
  assert.equal(redact('Opened slide CMU-1.svs at level 2'), 'Opened slide CMU-1.svs at level 2');
});

test('the log file rotates by size and keeps a bounded number of files', () => {
  const dir = mkdtempSync(join(tmpdir(), 'log-rot-'));
  const file = join(dir, 'main.log');
  configureLogging({ file, console: false, level: 'info', maxBytes: 2000, keep: 3 });
  const log = logger('rotation');
  for (let i = 0; i < 200; i++) log.info(`line ${i}`, { pad: 'x'.repeat(40) });
  const files = readdirSync(dir).sort();
  assert.deepEqual(files, ['main.1.log', 'main.2.log', 'main.3.log', 'main.log']);
  for (const f of files) assert.ok(statSync(join(dir, f)).size <= 2000, `${f} is within the bound`);
  // The newest lines are in the current file, the older ones in .1: nothing in between was lost.
  const current = readFileSync(file, 'utf8').trim().split('\n');
  const previous = readFileSync(join(dir, 'main.1.log'), 'utf8').trim().split('\n');
  assert.match(current.at(-1)!, /line 199/);
  const lastOfPrevious = Number(/line (\d+)/.exec(previous.at(-1)!)![1]);
  const firstOfCurrent = Number(/line (\d+)/.exec(current[0]!)![1]);
  assert.equal(firstOfCurrent, lastOfPrevious + 1);
  assert.equal(logFolder(), dir);
  configureLogging({ file: undefined, maxBytes: 5 * 1024 * 1024, keep: 4 });
});
