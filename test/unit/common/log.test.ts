import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { configureLogging, logger, redact, registerSecret } from '../../../main/common/log.js';

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
