import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync, existsSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { tryLock } from '../../../main/common/process-lock.js';

test('a lock is stale only when its owner process is gone: an old lock of a live owner is kept', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'plock-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const lock = join(dir, 'x.lock');
  mkdirSync(lock);
  // This test process is alive; the lock is a day old.
  writeFileSync(join(lock, 'owner'), `${process.pid} ${hostname()}`);
  const old = new Date(Date.now() - 24 * 3600_000);
  utimesSync(lock, old, old);
  const got = await tryLock(lock);
  assert.ok('owner' in got && got.owner?.pid === process.pid);

  // Its owner exits: the next try takes it over.
  const gone = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
  writeFileSync(join(lock, 'owner'), `${gone.stdout} ${hostname()}`);
  const taken = await tryLock(lock);
  assert.ok('release' in taken);
  await taken.release();
  assert.equal(existsSync(lock), false);
});

test('a lock from another computer (shared home folder) is never judged stale', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'plock-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const lock = join(dir, 'x.lock');
  mkdirSync(lock);
  writeFileSync(join(lock, 'owner'), '999999 some-other-host');
  const got = await tryLock(lock);
  assert.ok('owner' in got && got.owner?.host === 'some-other-host');
});
