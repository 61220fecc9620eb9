import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadSettings, DEFAULTS, isConfigured } from '../../../main/config/index.js';
import { isAppError } from '../../../main/common/errors.js';
import { flatten, validateLayer } from '../../../main/config/load.js';

function file(dir: string, name: string, value: unknown): string {
  const p = join(dir, name);
  writeFileSync(p, typeof value === 'string' ? value : JSON.stringify(value));
  return p;
}

test('defaults alone are valid and not configured', () => {
  const { settings, locked, sources } = loadSettings({ isolated: true });
  assert.equal(settings.auth.timeoutSeconds, DEFAULTS.auth.timeoutSeconds);
  assert.equal(isConfigured(settings), false);
  assert.equal(locked.size, 0);
  assert.deepEqual(sources, []);
  assert.ok(settings.paths.data.length > 0, 'an OS default data path is filled in');
});

test('layers merge user < file < policy, and policy keys are locked', () => {
  const dir = mkdtempSync(join(tmpdir(), 'cfg-'));
  const user = file(dir, 'user.json', { organisation: { name: 'User Org' }, cache: { budgetMiB: 2048 } });
  const cfg = file(dir, 'config.json', { auth: { issuer: 'https://idp.example.org/realms/p' }, organisation: { name: 'File Org' } });
  const policy = file(dir, 'policy.json', { auth: { issuer: 'https://login.hospital.example' }, storage: { s3: { buckets: [{ name: 'slides' }] } } });
  const { settings, locked, origin } = loadSettings({ isolated: true, userFile: user, configFile: cfg, policyFile: policy });
  assert.equal(settings.organisation.name, 'File Org');
  assert.equal(settings.cache.budgetMiB, 2048);
  assert.equal(settings.auth.issuer, 'https://login.hospital.example');
  assert.deepEqual(settings.storage.s3.buckets, [{ name: 'slides' }]);
  assert.ok(locked.has('auth.issuer'));
  assert.ok(locked.has('storage.s3.buckets'));
  assert.equal(origin['organisation.name'], 'file');
  assert.equal(settings.auth.clientId, DEFAULTS.auth.clientId, 'untouched keys keep defaults');
});

test('bad values are refused with the dotted key named', () => {
  const dir = mkdtempSync(join(tmpdir(), 'cfg-'));
  const cfg = file(dir, 'bad.json', { auth: { redirect: { port: 70000 }, issuer: 'not a url' }, storage: { sts: { provider: 'gcp' } } });
  assert.throws(
    () => loadSettings({ isolated: true, configFile: cfg }),
    (e: unknown) =>
      isAppError(e, 'CONFIG_INVALID') &&
      /auth\.redirect\.port/.test(e.message) &&
      /auth\.issuer/.test(e.message) &&
      /storage\.sts\.provider/.test(e.message),
  );
});

test('unknown keys (typos) and non-JSON files are refused', () => {
  const dir = mkdtempSync(join(tmpdir(), 'cfg-'));
  const typo = file(dir, 'typo.json', { auth: { issuerr: 'https://x' } });
  assert.throws(() => loadSettings({ isolated: true, configFile: typo }), (e: unknown) => isAppError(e, 'CONFIG_INVALID') && /auth\.issuerr/.test(e.message));
  const broken = file(dir, 'broken.json', '{ "auth": ');
  assert.throws(() => loadSettings({ isolated: true, configFile: broken }), (e: unknown) => isAppError(e, 'CONFIG_INVALID'));
  assert.throws(() => loadSettings({ isolated: true, configFile: join(dir, 'missing.json') }), (e: unknown) => isAppError(e, 'CONFIG_UNREADABLE'));
});

test('a typo inside a bucket entry, a number as its label or an impossible bucket name is refused, naming the entry', () => {
  const refused = (bucket: unknown, why: RegExp): void =>
    assert.throws(
      () => validateLayer(flatten({ storage: { s3: { buckets: [bucket] } } }), 'policy.json'),
      (e) => isAppError(e, 'CONFIG_INVALID') && why.test(e.message) && e.message.includes('storage.s3.buckets'),
    );
  refused({ name: 'pathology-slides', prefx: 'cases/' }, /unknown key\(s\) "prefx"/);
  refused({ name: 'pathology-slides', label: 42 }, /"label" must be a non-empty string/);
  refused({ name: 'Pathology_Slides' }, /as S3 spells it/);
  refused({ name: 'pathology-slides', prefix: '/cases' }, /without a leading/);
  validateLayer(flatten({ storage: { s3: { buckets: [{ name: 'pathology-slides', prefix: 'cases/', label: 'Cases' }] } } }), 'policy.json');
});
