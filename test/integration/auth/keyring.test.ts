/**
 * The Linux keyring path of the secret store, against a real Secret Service: a private
 * D-Bus session bus and gnome-keyring-daemon started for this test only. Skipped where
 * those programs are not installed (Debian: dbus-daemon, libsecret-tools, gnome-keyring).
 * The store writes through @napi-rs/keyring; `secret-tool` only reads back, as an independent client.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AuthService, REFRESH_TOKEN_KEY, createSecretStore } from '../../../main/auth/index.js';
import { startIdp, type RunningIdp } from '../../stack/idp.js';
import { alice, authSettings, closeBrowser, loginAs } from './helpers.js';

const TOOLS = ['dbus-daemon', 'secret-tool', 'gnome-keyring-daemon'];
const missing = process.platform !== 'linux' ? ['linux'] : TOOLS.filter((t) => spawnSync('sh', ['-c', `command -v ${t}`]).status !== 0);
const skip = missing.length ? `needs ${missing.join(', ')}` : false;

let base = '';
const children: ChildProcess[] = [];
let idp: RunningIdp | undefined;

function lookup(key: string): string {
  const r = spawnSync('secret-tool', ['lookup', 'service', 'slide-workstation', 'username', key], { encoding: 'utf8' });
  return r.stdout;
}

before(async () => {
  if (skip) return;
  base = mkdtempSync(join(tmpdir(), 'keyring-'));
  const home = join(base, 'home');
  mkdirSync(home);
  const bus = `unix:path=${join(base, 'bus')}`;
  const env = { ...process.env, HOME: home, XDG_DATA_HOME: join(home, 'share'), XDG_RUNTIME_DIR: base, DBUS_SESSION_BUS_ADDRESS: bus };
  const dbus = spawn('dbus-daemon', ['--session', '--nofork', `--address=${bus}`], { env, stdio: 'ignore' });
  children.push(dbus);
  for (let i = 0; i < 100 && !existsSync(join(base, 'bus')); i++) await new Promise((r) => setTimeout(r, 50));
  // --unlock reads the (test) keyring password on stdin; --foreground keeps it our child.
  const keyring = spawn('gnome-keyring-daemon', ['--foreground', '--unlock', '--components=secrets'], { env, stdio: ['pipe', 'ignore', 'ignore'] });
  children.push(keyring);
  keyring.stdin?.end('test-keyring-password');
  process.env.DBUS_SESSION_BUS_ADDRESS = bus;
  idp = await startIdp();
});

after(async () => {
  await closeBrowser();
  await idp?.stop();
  for (const c of children) c.kill('SIGTERM');
  if (base) await rm(base, { recursive: true, force: true });
});

test('auto picks the working Secret Service keyring; values round-trip and are deleted', { skip }, async () => {
  const dir = join(base, 'data-1');
  // The daemon needs a moment to own its bus name; the probe says when it works.
  let store = await createSecretStore({ preference: 'auto', dir });
  for (let i = 0; i < 40 && store.kind !== 'keyring'; i++) {
    await new Promise((r) => setTimeout(r, 250));
    store = await createSecretStore({ preference: 'auto', dir });
  }
  assert.equal(store.kind, 'keyring');
  assert.match(store.description, /keyring/);
  await store.set('k-test', 'keyring-secret-value-1');
  assert.equal(await store.get('k-test'), 'keyring-secret-value-1');
  await store.set('k-test', 'keyring-secret-value-2');
  assert.equal(await store.get('k-test'), 'keyring-secret-value-2');
  await store.delete('k-test');
  assert.equal(await store.get('k-test'), undefined);
  await store.delete('k-test');
  assert.equal(existsSync(dir), false, 'nothing was written to the data folder');
});

test('sign-in keeps the refresh token in the keyring; sign-out deletes the entry', { skip }, async () => {
  const dir = join(base, 'data-2');
  const store = await createSecretStore({ preference: 'keyring', dir });
  assert.equal(store.kind, 'keyring');
  const service = new AuthService({ auth: authSettings(idp!.issuer), organisation: 'Demo Hospital', secretStore: store, openBrowser: loginAs(alice) });
  const s = await service.signIn();
  assert.equal(s.status, 'signed-in', JSON.stringify(s.error));
  assert.equal(s.secretStore.kind, 'keyring');
  const stored = lookup(REFRESH_TOKEN_KEY);
  assert.match(stored, /"refreshToken":"[^"]+"/);
  await service.signOut();
  assert.equal(lookup(REFRESH_TOKEN_KEY), '');
  assert.equal(existsSync(dir) ? readdirSync(dir).length : 0, 0);
});
