/**
 * The CLI of an installed app, from the packaged layout: `resources/cli/slide-workstation`
 * finds the app binary two folders up and runs it with `--cli`; the bundle (the same
 * scripts/build-electron.mjs output that is packaged) then runs the command, with only the
 * modules package.json keeps in "dependencies" beside it, and exits with the CLI's code.
 * The Electron runtime cannot be downloaded here, so the "app binary" is Node running the
 * bundle with a minimal stand-in for the `electron` module (app.exit/whenReady only):
 * what Electron itself adds is on the release checklist.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { projectRoot, testdata } from '../support/paths.js';

const root = projectRoot();
const dir = mkdtempSync(join(tmpdir(), 'wsi-packaged-'));
const install = join(dir, 'Slide Workstation');
const launcher = join(install, 'resources', 'cli', 'slide-workstation');

before(() => {
  const appDir = join(install, 'resources', 'app');
  const built = spawnSync(process.execPath, [join(root, 'scripts', 'build-electron.mjs'), '--outdir', join(appDir, 'dist', 'electron')], { encoding: 'utf8', cwd: root });
  assert.equal(built.status, 0, built.stderr);
  // Exactly the runtime dependencies, as electron-builder copies them: nothing else resolves.
  const deps = Object.keys((JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { dependencies: Record<string, string> }).dependencies);
  for (const d of deps) {
    mkdirSync(join(appDir, 'node_modules', ...d.split('/').slice(0, -1)), { recursive: true });
    symlinkSync(join(root, 'node_modules', d), join(appDir, 'node_modules', d), 'dir');
  }
  // better-sqlite3 loads its binary through `bindings`, which electron-builder ships with it.
  for (const d of ['bindings', 'file-uri-to-path']) symlinkSync(join(root, 'node_modules', d), join(appDir, 'node_modules', d), 'dir');
  mkdirSync(join(appDir, 'node_modules', 'electron'), { recursive: true });
  writeFileSync(
    join(appDir, 'node_modules', 'electron', 'index.js'),
    [
      '// Stand-in for the Electron runtime: the CLI mode needs app.exit and nothing else.',
      'const noop = () => undefined;',
      'module.exports = {',
      "  app: { isPackaged: true, enableSandbox: noop, whenReady: () => Promise.resolve(), exit: (c) => process.exit(c), quit: noop, on: noop,",
      "         requestSingleInstanceLock: () => { throw new Error('the CLI mode must not take the single-instance lock'); } },",
      '  protocol: { registerSchemesAsPrivileged: noop },',
      '};',
      '',
    ].join('\n'),
  );
  writeFileSync(join(appDir, 'package.json'), JSON.stringify({ name: 'slide-workstation', type: 'module', main: 'dist/electron/main.js' }));
  // The "app binary": what Electron does with its bundled app, minus Electron.
  writeFileSync(join(install, 'slide-workstation'), `#!/bin/sh\nexec "${process.execPath}" "$(dirname "$0")/resources/app/dist/electron/main.js" "$@"\n`);
  chmodSync(join(install, 'slide-workstation'), 0o755);
  mkdirSync(join(install, 'resources', 'cli'), { recursive: true });
  copyFileSync(join(root, 'resources', 'cli', 'slide-workstation'), launcher);
  chmodSync(launcher, 0o755);
});
after(() => rmSync(dir, { recursive: true, force: true }));

function run(args: string[]): Promise<{ code: number | null; out: string; err: string }> {
  const config = join(dir, 'config.json');
  writeFileSync(config, JSON.stringify({ organisation: { name: 'Packaged Test' }, paths: { data: join(dir, 'data'), cache: join(dir, 'cache') } }));
  return new Promise((resolve, reject) => {
    const p = spawn(launcher, [...args, '--config', config], {
      env: { ...process.env, SLIDE_WORKSTATION_POLICY: join(dir, 'no-policy.json'), XDG_CONFIG_HOME: join(dir, 'xdg') },
    });
    let out = '';
    let err = '';
    p.stdout.on('data', (d: Buffer) => (out += d.toString()));
    p.stderr.on('data', (d: Buffer) => (err += d.toString()));
    p.on('error', reject);
    p.on('close', (code) => resolve({ code, out, err }));
  });
}

test('the installed launcher runs a slide command through the app binary, with only the runtime modules', async () => {
  const r = await run(['info', testdata('aperio-svs', 'CMU-1-Small-Region.svs')]);
  assert.equal(r.code, 0, r.err);
  assert.match(r.out, /2220/);
  assert.match(r.out, /2967/);
  // JPEG 2000 (the OpenJPEG .wasm, in a decoder thread) into the tile cache (better-sqlite3).
  const png = join(dir, 'j2k.png');
  const j2k = await run(['region', testdata('dicom-wsi', 'wsi2dcm-single-level', 'jpeg2000-lossless.dcm'), '--level', '0', '--x', '0', '--y', '0', '--width', '64', '--height', '64', '-o', png]);
  assert.equal(j2k.code, 0, j2k.err);
  assert.deepEqual([...readFileSync(png).subarray(1, 4)], [...Buffer.from('PNG')]);
});

test('the CLI’s exit codes come through the launcher', async () => {
  const r = await run(['no-such-command']);
  assert.equal(r.code, 2, r.out + r.err);
  assert.match(r.err, /no-such-command|Unknown command/i);
});

test('the launcher says what is wrong when the app binary is missing', () => {
  const lonely = join(dir, 'lonely', 'resources', 'cli');
  mkdirSync(lonely, { recursive: true });
  copyFileSync(launcher, join(lonely, 'slide-workstation'));
  chmodSync(join(lonely, 'slide-workstation'), 0o755);
  const r = spawnSync(join(lonely, 'slide-workstation'), ['whoami'], { encoding: 'utf8' });
  assert.equal(r.status, 70);
  assert.match(r.stderr, /reinstall the app/);
});
