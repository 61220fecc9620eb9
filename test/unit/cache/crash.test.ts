import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { TileCache } from '../../../main/cache/tile-cache.js';
import { tileBytes } from './fixtures/tiles.js';

const writer = fileURLToPath(new URL('./fixtures/crash-writer.ts', import.meta.url));

test('kill -9 mid-write leaves a consistent cache whose every tile reads back complete', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'wsi-crash-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const path = join(dir, 'cache.db');
  const child = spawn(process.execPath, ['--import', 'tsx', writer, path], { stdio: ['ignore', 'pipe', 'inherit'] });
  t.after(() => child.kill('SIGKILL'));
  // Kill it once it has written a good number of batches: decided by its progress, not a clock.
  const queued = await new Promise<number>((resolve, reject) => {
    let buf = '';
    child.stdout.on('data', (d: Buffer) => {
      buf += d.toString();
      const lines = buf.trim().split('\n');
      const n = Number(lines[lines.length - 1]);
      if (n >= 2000) {
        child.kill('SIGKILL');
        resolve(n);
      }
    });
    child.on('exit', (code, sig) => {
      if (sig !== 'SIGKILL') reject(new Error(`writer exited early: ${code}`));
    });
  });
  await new Promise((r) => (child.exitCode !== null || child.signalCode !== null ? r(undefined) : child.once('exit', r)));
  assert.equal(child.signalCode, 'SIGKILL');

  const cache = TileCache.open(path);
  assert.equal(cache.usable, true);
  assert.equal(cache.stats().recoveredFiles, 0);
  const raw = new Database(path, { readonly: true });
  assert.equal(raw.pragma('integrity_check', { simple: true }), 'ok');
  const keys = raw.prepare('SELECT slide_id AS slideId, level, col, row, plane FROM tiles').all() as {
    slideId: number; level: number; col: number; row: number; plane: number;
  }[];
  raw.close();
  // The writer keeps going between the parent's SIGKILL and its delivery, so the count it
  // last printed is no upper bound. What must hold: committed batches survived, and every
  // surviving row is a tile the writer really wrote (its keys follow the writer's pattern).
  assert.ok(keys.length > 0, `no tile survived of ${queued} queued`);
  for (const k of keys) assert.ok(k.level === k.col % 3 && k.row === (k.col * 7) % 101 && k.plane === 0, `unexpected tile ${JSON.stringify(k)}`);
  for (const { slideId, ...key } of keys) {
    const tile = cache.getTile(slideId, key);
    assert.ok(tile, `tile ${JSON.stringify(key)} readable`);
    assert.deepEqual(new Uint8Array(tile.bytes), tileBytes(key, 8000));
  }
  assert.equal(cache.stats().corruptDropped, 0);
  cache.close();
});
