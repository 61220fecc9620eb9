/**
 * The tile cache holds label images with patient identifiers: its folder is created 0700
 * and its database files (and SQLite's -wal/-shm) are 0600, whatever the umask, and an
 * older, group-readable cache is tightened when it is opened.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TileCache } from '../../../main/cache/tile-cache.js';
import { makeTile } from './fixtures/tiles.js';

const posix = process.platform !== 'win32';

test('a new cache folder is 0700 and every database file 0600, even with a permissive umask', { skip: !posix && 'POSIX modes only' }, () => {
  const root = mkdtempSync(join(tmpdir(), 'wsi-perm-'));
  const old = process.umask(0o000);
  try {
    const cache = TileCache.open(join(root, 'cache', 'tiles.db'));
    const { slide } = cache.putSlide('s3://bucket/a.svs', 'e', undefined);
    const key = { level: 0, col: 0, row: 0, plane: 0 };
    cache.putTile(slide!.id, key, makeTile(key));
    cache.flush();
    assert.equal(statSync(join(root, 'cache')).mode & 0o777, 0o700);
    const files = readdirSync(join(root, 'cache'));
    assert.ok(files.includes('tiles.db'));
    for (const f of files) assert.equal(statSync(join(root, 'cache', f)).mode & 0o777, 0o600, f);
    cache.close();
  } finally {
    process.umask(old);
    rmSync(root, { recursive: true, force: true });
  }
});

test('an existing group-readable cache is tightened when opened', { skip: !posix && 'POSIX modes only' }, () => {
  const root = mkdtempSync(join(tmpdir(), 'wsi-perm-'));
  try {
    const dir = join(root, 'cache');
    mkdirSync(dir, { mode: 0o755 });
    chmodSync(dir, 0o755);
    TileCache.open(join(dir, 'tiles.db')).close();
    chmodSync(join(dir, 'tiles.db'), 0o644);
    const cache = TileCache.open(join(dir, 'tiles.db'));
    assert.equal(statSync(dir).mode & 0o777, 0o700);
    assert.equal(statSync(join(dir, 'tiles.db')).mode & 0o777, 0o600);
    cache.close();
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
