import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, statSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FileSecretStore, SECRETS_FILE_NAME, createSecretStore } from '../../../main/auth/secret-store.js';

function tempDir(): string {
  return mkdtempSync(join(tmpdir(), 'secrets-'));
}

test('file store: owner-only file in an owner-only folder, values round-trip', { skip: process.platform === 'win32' }, async (t) => {
  const base = tempDir();
  t.after(() => rm(base, { recursive: true, force: true }));
  const dir = join(base, 'data');
  const store = new FileSecretStore(dir);
  assert.equal(store.kind, 'file');
  assert.match(store.description, /only your user account can read/);
  assert.equal(await store.get('a'), undefined);
  await store.set('a', 'value-one-secret');
  await store.set('b', 'value-two-secret');
  assert.equal(await store.get('a'), 'value-one-secret');
  assert.equal(statSync(join(dir, SECRETS_FILE_NAME)).mode & 0o777, 0o600);
  assert.equal(statSync(dir).mode & 0o777, 0o700);
  await store.set('a', 'value-one-rotated');
  assert.equal(await store.get('a'), 'value-one-rotated');
});

test('file store: deleting the last key removes the file (no secret left on disk)', async (t) => {
  const dir = tempDir();
  t.after(() => rm(dir, { recursive: true, force: true }));
  const store = new FileSecretStore(dir);
  await store.set('k1', 'first-secret-value');
  await store.set('k2', 'second-secret-value');
  await store.delete('k1');
  assert.ok(existsSync(store.path));
  assert.ok(!readFileSync(store.path, 'utf8').includes('first-secret-value'));
  await store.delete('k2');
  assert.equal(existsSync(store.path), false);
  await store.delete('k2'); // idempotent
  assert.equal(existsSync(store.path), false);
});

test('file store: concurrent writers do not lose each other\'s keys', async (t) => {
  const dir = tempDir();
  t.after(() => rm(dir, { recursive: true, force: true }));
  const store = new FileSecretStore(dir);
  await Promise.all(Array.from({ length: 20 }, (_, i) => store.set(`key${i}`, `secret-value-${i}`)));
  const fresh = new FileSecretStore(dir);
  for (let i = 0; i < 20; i++) assert.equal(await fresh.get(`key${i}`), `secret-value-${i}`);
});

test('file store: a damaged file reads as empty and is replaced by the next write', async (t) => {
  const dir = tempDir();
  t.after(() => rm(dir, { recursive: true, force: true }));
  const store = new FileSecretStore(dir);
  await store.set('x', 'some-secret-value');
  const { writeFile } = await import('node:fs/promises');
  await writeFile(store.path, '{not json', { mode: 0o600 });
  assert.equal(await store.get('x'), undefined);
  await store.set('y', 'another-secret-value');
  assert.deepEqual(JSON.parse(readFileSync(store.path, 'utf8')), { y: 'another-secret-value' });
});

test('createSecretStore: "file" gives the file store; "auto" without a working keyring falls back to the file and says so', async (t) => {
  const dir = tempDir();
  t.after(() => rm(dir, { recursive: true, force: true }));
  const file = await createSecretStore({ preference: 'file', dir });
  assert.equal(file.kind, 'file');
  // No session bus: the Secret Service cannot be reached.
  const oldBus = process.env.DBUS_SESSION_BUS_ADDRESS;
  process.env.DBUS_SESSION_BUS_ADDRESS = `unix:path=${join(dir, 'no-bus-here')}`;
  try {
    const auto = await createSecretStore({ preference: 'auto', dir });
    assert.equal(auto.kind, 'file');
    assert.match(auto.description, /keyring is not available/);
    const forced = await createSecretStore({ preference: 'keyring', dir });
    assert.equal(forced.kind, 'file');
  } finally {
    if (oldBus === undefined) delete process.env.DBUS_SESSION_BUS_ADDRESS;
    else process.env.DBUS_SESSION_BUS_ADDRESS = oldBus;
  }
  const unknown = await createSecretStore({ preference: 'auto', dir, platform: 'aix' });
  assert.equal(unknown.kind, 'file');
});
