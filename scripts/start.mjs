#!/usr/bin/env node
// `npm start` / `npm run start:headless`.
// Builds the renderer, then runs the Electron app when its runtime is installed, else (or
// with --headless) the headless host on 127.0.0.1 in the default browser. Without
// settings (no --config and nothing configured) the headless host starts the built-in
// demo environment; the Electron app does the same through its own main process.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const args = process.argv.slice(2);
const headlessAsked = args.includes('--headless');
const passArgs = args.filter((a) => a !== '--headless');

function run(cmd, cmdArgs, what) {
  const r = spawnSync(cmd, cmdArgs, { cwd: root, stdio: 'inherit' });
  if (r.status !== 0) {
    console.error(`${what} failed (exit ${r.status ?? r.signal}).`);
    process.exit(r.status ?? 1);
  }
}

/** The Electron binary path, or undefined with the reason. */
function electronBinary() {
  const require = createRequire(import.meta.url);
  try {
    require.resolve('electron');
  } catch {
    return { reason: 'the electron package is not installed (it is an optional dependency)' };
  }
  try {
    // The package's main export is the path of the downloaded binary; it throws when the
    // download failed (ELECTRON_SKIP_BINARY_DOWNLOAD, or no access to its download site).
    const path = require('electron');
    if (typeof path === 'string' && existsSync(path)) return { path };
    return { reason: `the Electron binary ${path} is missing` };
  } catch (err) {
    return { reason: `the Electron binary was not downloaded (${err.message.split('\n')[0]})` };
  }
}

run(process.execPath, [fileURLToPath(new URL('../node_modules/vite/bin/vite.js', import.meta.url)), 'build', '--config', 'renderer/vite.config.ts', '--logLevel', 'warn'], 'Building the user interface');

const electron = headlessAsked ? { reason: 'headless mode was asked for' } : electronBinary();
let child;
if (electron.path) {
  run(process.execPath, ['scripts/build-electron.mjs'], 'Building the Electron main process');
  child = spawn(electron.path, ['.', ...passArgs], { cwd: root, stdio: 'inherit' });
} else {
  if (!headlessAsked) {
    console.error(`The Electron runtime is not installed: ${electron.reason}.`);
    console.error('Running the headless host instead: the same app in your web browser, on 127.0.0.1 only.');
  }
  const open = headlessAsked ? [] : ['--open'];
  child = spawn(process.execPath, ['--import', 'tsx', 'main/app/headless.ts', ...open, ...passArgs], { cwd: root, stdio: 'inherit' });
}
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => child.kill(sig));
child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
