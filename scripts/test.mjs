#!/usr/bin/env node
// Runs the test suite with Node's own runner (its summary is what CI reads).
// Usage: node scripts/test.mjs [unit|integration|e2e|keycloak ...] [--only substring]
// Node 20's --test takes no globs, so the files are listed here. With no kind, all four run.
// `keycloak`: the interop pass. Keycloak is started ONCE (its start-up time is printed), and
// the sign-in, credentials and CLI suites run again with every test stack on a realm of it
// (WSI_TEST_IDP=keycloak), plus test/integration/keycloak. Skipped, saying why, without Java 21+.
import { mkdtempSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { spawn, spawnSync } from 'node:child_process';
import { createInterface } from 'node:readline';

const root = new URL('..', import.meta.url).pathname;
const args = process.argv.slice(2);
const onlyIdx = args.indexOf('--only');
const only = onlyIdx >= 0 ? args[onlyIdx + 1] : undefined;
const kinds = args.filter((a, i) => !a.startsWith('--') && (onlyIdx < 0 || i !== onlyIdx + 1));
const selected = kinds.length ? kinds : ['unit', 'integration', 'e2e', 'keycloak'];

/** The suites that run against Keycloak too (paths under test/), kept small for the CI budget. */
const KEYCLOAK_SUITES = ['integration/keycloak', 'integration/credentials/sts.test.ts', 'integration/cli/cli.test.ts'];

function walk(dir) {
  let out = [];
  let entries;
  try { entries = readdirSync(dir); } catch { return out; }
  for (const name of entries.sort()) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out = out.concat(walk(p));
    else if (/\.test\.ts$/.test(name)) out.push(p);
  }
  return out;
}

// Matched against the path inside the project: the checkout's own folder name must not match.
const pick = (f) => !only || relative(root, f).includes(only);
// The Keycloak interop suite needs the Keycloak the keycloak pass starts; it runs only there.
const files = selected
  .filter((k) => k !== 'keycloak')
  .flatMap((k) => walk(join(root, 'test', k)))
  .filter((f) => !relative(root, f).startsWith(join('test', 'integration', 'keycloak')))
  .filter(pick);
const keycloakFiles = selected.includes('keycloak') ? KEYCLOAK_SUITES.flatMap((p) => (p.endsWith('.ts') ? [join(root, 'test', p)] : walk(join(root, 'test', p)))).filter(pick) : [];
if (files.length === 0 && keycloakFiles.length === 0) {
  console.error(`No test files found for: ${selected.join(', ')}`);
  process.exit(1);
}
function runFiles(list, env, label) {
  console.log(`${label}: running ${list.length} test files: ${list.map((f) => relative(root, f)).join(' ')}`);
  const concurrency = process.env.TEST_CONCURRENCY ?? '2';
  // Spec output for people; a TAP copy in a file so the closing line below can count.
  const tapFile = join(mkdtempSync(join(tmpdir(), 'wsi-test-')), 'results.tap');
  const r = spawnSync(
    process.execPath,
    [
      '--import', 'tsx', '--test', `--test-concurrency=${concurrency}`,
      // A hung test must fail, not stall CI: no single test may take longer than this.
      `--test-timeout=${process.env.TEST_TIMEOUT_MS ?? 240000}`,
      '--test-reporter=spec', '--test-reporter-destination=stdout',
      '--test-reporter=tap', `--test-reporter-destination=${tapFile}`,
      ...list,
    ],
    { stdio: 'inherit', cwd: root, env: { ...process.env, WSI_LOG_CONSOLE: process.env.WSI_LOG_CONSOLE ?? '0', ...env } },
  );
  let tap = '';
  try { tap = readFileSync(tapFile, 'utf8'); } catch { /* the runner died before writing: the exit code says so */ }
  const count = (name) => Number((tap.match(new RegExp(`^# ${name} (\\d+)$`, "m")) ?? [])[1] ?? 0);
  return { status: r.status ?? 1, passed: count('pass'), failed: count('fail') + count('cancelled'), skipped: count('skipped') + count('todo') };
}

/** Keycloak for the whole pass (test/stack/keycloak-server.ts); undefined with the reason when it cannot run. */
async function startKeycloakOnce() {
  const probe = "import('./test/stack/keycloak.ts').then((k) => process.stdout.write(k.keycloakUnavailable() ?? ''))";
  const why = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', probe], { cwd: root, encoding: 'utf8' }).stdout.trim();
  if (why) return { why };
  const t0 = Date.now();
  const child = spawn(process.execPath, ['--import', 'tsx', 'test/stack/keycloak-server.ts'], { cwd: root, stdio: ['pipe', 'pipe', 'inherit'] });
  const info = await new Promise((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`Keycloak did not start (exit ${code})`)));
    createInterface({ input: child.stdout }).once('line', (line) => resolve(JSON.parse(line)));
  });
  console.log(`Keycloak started in ${(info.startupMs / 1000).toFixed(1)} s (${((Date.now() - t0) / 1000).toFixed(1)} s with download and build checks) at ${info.url}`);
  return { info, stop: () => new Promise((r) => { child.once('exit', r); child.stdin.end(); }) };
}

const results = [];
if (files.length) results.push(runFiles(files, {}, 'oidc-provider pass'));
if (keycloakFiles.length) {
  const kc = await startKeycloakOnce().catch((err) => ({ why: err.message }));
  if (kc.why) {
    console.log(`Keycloak pass skipped: ${kc.why}`);
    results.push({ status: 0, passed: 0, failed: 0, skipped: keycloakFiles.length });
  } else {
    try {
      results.push(runFiles(keycloakFiles, { WSI_TEST_IDP: 'keycloak', WSI_KEYCLOAK_URL: kc.info.url, WSI_KEYCLOAK_ADMIN: kc.info.admin }, 'Keycloak pass'));
    } finally {
      await kc.stop();
    }
  }
}
const sum = (k) => results.reduce((a, r) => a + r[k], 0);
console.log(`\ntests: ${sum('passed')} passed, ${sum('failed')} failed, ${sum('skipped')} skipped`);
process.exit(results.some((r) => r.status !== 0) ? 1 : 0);
