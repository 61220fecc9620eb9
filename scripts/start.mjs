#!/usr/bin/env node
// `npm start` / `npm run start:headless`.
// Builds the renderer, then runs the Electron app when its runtime is installed, else (or
// with --headless) the headless host on 127.0.0.1 in the default browser. Without
// settings (no --config and nothing configured) the headless host starts the built-in
// demo environment; the Electron app does the same through its own main process.
import { spawn, spawnSync } from 'node:child_process';
import { createInterface } from 'node:readline';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const args = process.argv.slice(2);
const headlessAsked = args.includes('--headless');
// --idp keycloak: the demo on a real Keycloak (test/stack/keycloak.ts) instead of the in-process provider.
const idpIdx = args.indexOf('--idp');
const idpAsked = idpIdx >= 0 ? args[idpIdx + 1] : undefined;
if (idpIdx >= 0 && idpAsked !== 'keycloak' && idpAsked !== 'oidc-provider') {
  console.error('--idp takes keycloak or oidc-provider.');
  process.exit(2);
}
const passArgs = args.filter((a, i) => a !== '--headless' && (idpIdx < 0 || (i !== idpIdx && i !== idpIdx + 1)));

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

/** Whether settings name an identity provider (user settings or IT policy), as the app reads them. */
function configured() {
  const probe = "import('./main/config/index.ts').then((c) => process.stdout.write(String(c.isConfigured(c.loadSettings().settings))))";
  const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', probe], { cwd: root, encoding: 'utf8' });
  return r.stdout.trim() === 'true';
}

/** --idp keycloak where Java 21+ is present; else says why and the demo uses the in-process provider. */
let keycloakChecked;
function useKeycloak() {
  if (idpAsked !== 'keycloak') return false;
  if (keycloakChecked !== undefined) return keycloakChecked;
  const probe = "import('./test/stack/keycloak.ts').then((k) => process.stdout.write(k.keycloakUnavailable() ?? ''))";
  const why = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', probe], { cwd: root, encoding: 'utf8' }).stdout.trim();
  if (why) console.error(`Keycloak cannot run here (${why}); the demo uses the in-process identity provider.`);
  else console.error('The demo signs in with Keycloak (the first start downloads and builds it, about a minute).');
  keycloakChecked = !why;
  return keycloakChecked;
}

/** The demo environment in a child process; resolves with its settings file once it is up. */
function startDemoStack() {
  console.error('No sign-in service is configured: starting the built-in demo environment (identity provider, MinIO, and a DICOMweb archive where this machine can run Orthanc)…');
  const stackArgs = ['--import', 'tsx', 'test/stack/cli.ts', '--dicomweb-if-available'];
  if (useKeycloak()) stackArgs.push('--idp', 'keycloak');
  const stack = spawn(process.execPath, stackArgs, { cwd: root, stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    stack.once('exit', (code) => reject(new Error(`the demo environment stopped (exit ${code})`)));
    createInterface({ input: stack.stdout }).once('line', (line) => {
      const info = JSON.parse(line);
      console.error(`Demo users: ${info.users.map((u) => `${u.username} / ${u.password}`).join(', ')}`);
      resolve({ stack, config: info.config });
    });
  });
}

const electron = headlessAsked ? { reason: 'headless mode was asked for' } : electronBinary();
let child;
let demo;
if (electron.path) {
  run(process.execPath, ['scripts/build-electron.mjs'], 'Building the Electron main process');
  const electronArgs = ['.', ...passArgs];
  if (!passArgs.includes('--config') && !passArgs.some((a) => a.startsWith('--config=')) && !configured()) {
    demo = await startDemoStack();
    electronArgs.push('--config', demo.config);
  }
  child = spawn(electron.path, electronArgs, { cwd: root, stdio: 'inherit' });
} else {
  if (!headlessAsked) {
    console.error(`The Electron runtime is not installed: ${electron.reason}.`);
    console.error('Running the headless host instead: the same app in your web browser, on 127.0.0.1 only.');
  }
  const open = headlessAsked ? [] : ['--open'];
  // The headless host starts the demo environment itself; WSI_TEST_IDP picks its provider.
  const env = useKeycloak() ? { ...process.env, WSI_TEST_IDP: 'keycloak' } : process.env;
  child = spawn(process.execPath, ['--import', 'tsx', 'main/app/headless.ts', ...open, ...passArgs], { cwd: root, stdio: 'inherit', env });
}
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => child.kill(sig));
child.on('exit', (code, signal) => {
  if (demo) {
    demo.stack.once('exit', () => process.exit(code ?? (signal ? 1 : 0)));
    demo.stack.kill('SIGINT');
  } else {
    process.exit(code ?? (signal ? 1 : 0));
  }
});
