import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AppError } from '../../../main/common/errors.js';
import { acquireSessionLock } from '../../../main/cli/session-lock.js';

test('holders take turns; the second waits for the first to release', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'lock-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const order: string[] = [];
  const release1 = await acquireSessionLock(dir);
  const second = acquireSessionLock(dir).then((release) => {
    order.push('second acquired');
    return release;
  });
  await new Promise((r) => setTimeout(r, 100));
  order.push('first releases');
  await release1();
  const release2 = await second;
  assert.deepEqual(order, ['first releases', 'second acquired']);
  await release2();
  assert.equal(existsSync(join(dir, 'cli-session.lock')), false);
});

test('a lock left by a process that no longer runs is taken over; a live one times out in words', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'lock-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const gone = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
  mkdirSync(join(dir, 'cli-session.lock'));
  writeFileSync(join(dir, 'cli-session.lock', 'owner'), gone.stdout);
  const release = await acquireSessionLock(dir, { timeoutMs: 2000 });
  await assert.rejects(acquireSessionLock(dir, { timeoutMs: 300 }), (e: unknown) => e instanceof AppError && e.code === 'CLI_SESSION_BUSY' && /Another slide-workstation command/.test(e.message));
  await release();
});
