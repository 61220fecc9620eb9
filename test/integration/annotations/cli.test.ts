/**
 * `slide-workstation annotations ls|export` read the same annotations.db the app writes
 * (the data folder comes from XDG_CONFIG_HOME on Linux, a folder of the test's own).
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AnnotationService } from '../../../main/annotations/service.js';
import { ANNOTATIONS_FILE, openAnnotationStore } from '../../../main/annotations/store.js';
import { BIN } from '../cli/run-cli.js';

const home = mkdtempSync(join(tmpdir(), 'wsi-annot-cli-'));
after(() => rmSync(home, { recursive: true, force: true }));
const env = { ...process.env, XDG_CONFIG_HOME: join(home, 'config'), XDG_CACHE_HOME: join(home, 'cache') };

function cli(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, [BIN, ...args], { cwd: tmpdir(), env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (b: Buffer) => (stdout += b.toString('utf8')));
    child.stderr.on('data', (b: Buffer) => (stderr += b.toString('utf8')));
    child.on('error', fail);
    child.on('close', (code) => done({ code, stdout, stderr }));
  });
}

test('ls and export show what the app stored; a missing -o is a usage error', { skip: process.platform !== 'linux' }, async () => {
  const slide = 's3://slides/cli.svs';
  const store = openAnnotationStore(join(home, 'config', 'slide-workstation', ANNOTATIONS_FILE));
  const svc = new AnnotationService({ store, author: () => ({ sub: 'alice', name: 'Alice' }) });
  const [a] = svc.create(slide, [{ geometry: { type: 'Point', coordinates: [1, 2] }, name: 'mitosis', classification: { name: 'Tumor', color: [200, 0, 0] } }]);
  const expected = svc.export(slide).geojson;
  store.close();

  const ls = await cli(['annotations', 'ls', slide]);
  assert.equal(ls.code, 0, ls.stderr);
  assert.match(ls.stdout, new RegExp(`^${a!.id}\tannotation\tPoint\tTumor\tmitosis$`, 'm'));
  const out = join(home, 'out.geojson');
  const ex = await cli(['annotations', 'export', slide, '-o', out]);
  assert.equal(ex.code, 0, ex.stderr);
  assert.equal(readFileSync(out, 'utf8'), expected);
  const bad = await cli(['annotations', 'export', slide]);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /CLI_USAGE/);
});
