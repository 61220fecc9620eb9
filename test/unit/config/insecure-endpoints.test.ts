/**
 * Endpoints that carry credentials must be https:// unless they are on this computer or
 * storage.allowInsecureEndpoints says otherwise (the counterpart of auth.allowInsecureIssuer).
 * The flag may come from another layer than the endpoint, so the merged settings are checked.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadSettings } from '../../../main/config/index.js';
import { isAppError } from '../../../main/common/errors.js';

function withFiles(layers: Record<string, unknown>, run: (paths: Record<string, string>) => void): void {
  const dir = mkdtempSync(join(tmpdir(), 'cfg-insecure-'));
  try {
    const paths: Record<string, string> = {};
    for (const [name, value] of Object.entries(layers)) {
      paths[name] = join(dir, `${name}.json`);
      writeFileSync(paths[name], JSON.stringify(value));
    }
    run(paths);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const cases: [string, unknown][] = [
  ['storage.s3.endpoint', { storage: { s3: { endpoint: 'http://s3.hospital.example' } } }],
  ['storage.sts.endpoint', { storage: { sts: { endpoint: 'http://10.0.0.5:9000' } } }],
  ['storage.dicomweb[0].url', { storage: { dicomweb: [{ name: 'pacs', url: 'http://pacs.hospital.example/dicom-web' }] } }],
];

for (const [key, layer] of cases) {
  test(`a plain-http ${key} on another host is refused, naming the key`, () => {
    withFiles({ config: layer }, (p) => {
      assert.throws(
        () => loadSettings({ isolated: true, configFile: p.config }),
        (e) => isAppError(e, 'CONFIG_INSECURE_ENDPOINT') && e.kind === 'invalid-input' && e.message.includes(key),
      );
    });
  });
}

test('loopback http:// (a test stack) and https:// are accepted', () => {
  withFiles(
    {
      config: {
        storage: {
          s3: { endpoint: 'http://127.0.0.1:9000' },
          sts: { endpoint: 'http://[::1]:9000' },
          dicomweb: [{ name: 'pacs', url: 'http://localhost:8042/dicom-web' }, { name: 'remote', url: 'https://pacs.hospital.example/dicom-web' }],
        },
      },
    },
    (p) => {
      const { settings } = loadSettings({ isolated: true, configFile: p.config });
      assert.equal(settings.storage.s3.endpoint, 'http://127.0.0.1:9000');
    },
  );
});

test('storage.allowInsecureEndpoints from another layer (policy) allows them', () => {
  withFiles({ config: cases[0]![1], policy: { storage: { allowInsecureEndpoints: true } } }, (p) => {
    const { settings, locked } = loadSettings({ isolated: true, configFile: p.config, policyFile: p.policy });
    assert.equal(settings.storage.s3.endpoint, 'http://s3.hospital.example');
    assert.ok(locked.has('storage.allowInsecureEndpoints'));
  });
});
