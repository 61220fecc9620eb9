#!/usr/bin/env node
// Runs the test suite with Node's own runner (its summary is what CI reads).
// Usage: node scripts/test.mjs [unit|integration|e2e ...] [--only substring]
// Node 20's --test takes no globs, so the files are listed here.
import { mkdtempSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { spawnSync } from 'node:child_process';

const root = new URL('..', import.meta.url).pathname;
const args = process.argv.slice(2);
const onlyIdx = args.indexOf('--only');
const only = onlyIdx >= 0 ? args[onlyIdx + 1] : undefined;
const kinds = args.filter((a, i) => !a.startsWith('--') && (onlyIdx < 0 || i !== onlyIdx + 1));
const selected = kinds.length ? kinds : ['unit', 'integration', 'e2e'];

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

const files = selected.flatMap((k) => walk(join(root, 'test', k))).filter((f) => !only || f.includes(only));
if (files.length === 0) {
  console.error(`No test files found for: ${selected.join(', ')}`);
  process.exit(1);
}
console.log(`Running ${files.length} test files: ${files.map((f) => relative(root, f)).join(' ')}`);
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
    ...files,
  ],
  { stdio: 'inherit', cwd: root, env: { ...process.env, WSI_LOG_CONSOLE: process.env.WSI_LOG_CONSOLE ?? '0' } },
);
let tap = '';
try { tap = readFileSync(tapFile, 'utf8'); } catch { /* the runner died before writing: the exit code says so */ }
const count = (name) => Number((tap.match(new RegExp(`^# ${name} (\\d+)$`, "m")) ?? [])[1] ?? 0);
const passed = count('pass');
const failed = count('fail') + count('cancelled');
const skipped = count('skipped') + count('todo');
console.log(`\ntests: ${passed} passed, ${failed} failed, ${skipped} skipped`);
process.exit(r.status ?? 1);
