/**
 * The layers of main/ (eslint-layers.mjs) bite: a file planted in the tree with a back edge
 * fails the project's own lint, the tree has none, the table has no cycle and covers every
 * folder of main/, and docs/architecture.md states the same table. Planted files are real
 * files (the resolver judges an import by the file it reaches) and are removed in `finally`.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ESLint } from 'eslint';
import { AREAS, LAYERS, findCycle } from '../../../eslint-layers.mjs';

const root = join(import.meta.dirname, '..', '..', '..');
const LAYER_RULES = new Set(['import-x/no-restricted-paths', 'no-restricted-syntax', 'no-restricted-imports']);
// Only the layer rules run: the verdict is theirs, and the whole tree lints in seconds.
const eslint = new ESLint({ cwd: root, ruleFilter: ({ ruleId }) => LAYER_RULES.has(ruleId) });

interface Finding {
  ruleId: string | null;
  message: string;
}

/** Lints `code` as a real file at `rel` (created, then removed whatever happens). */
async function planted(rel: string, code: string): Promise<Finding[]> {
  const file = join(root, rel);
  writeFileSync(file, code, { flag: 'wx' }); // never overwrite a real file
  try {
    const [result] = await eslint.lintFiles([file]);
    return (result?.messages ?? []).map((m) => ({ ruleId: m.ruleId, message: m.message }));
  } finally {
    rmSync(file, { force: true });
  }
}

const tag = `${process.pid}`;

test('a planted back edge (formats importing app) fails the layer rule', async () => {
  const found = await planted(`main/formats/__planted-${tag}.ts`, "import type { Services } from '../app/services.js';\nexport type X = Services;\n");
  assert.equal(found.length, 1, JSON.stringify(found));
  assert.equal(found[0]!.ruleId, 'import-x/no-restricted-paths');
  assert.match(found[0]!.message, /main\/formats may import only main\/common, main\/config, main\/sources/);
});

test('back edges into sub-folders and from sub-folders fail too; allowed edges pass', async () => {
  // formats/codecs is inside formats; sources/dicomweb inside sources.
  const deep = await planted(`main/sources/dicomweb/__planted-${tag}.ts`, "import { openSlide } from '../../formats/open.js';\nexport const x = openSlide;\n");
  assert.deepEqual(deep.map((f) => f.ruleId), ['import-x/no-restricted-paths']);
  const contract = await planted(`main/auth/__planted-${tag}.ts`, "import type { ApiCalls } from '../api/contract.js';\nexport type X = ApiCalls;\n");
  assert.deepEqual(contract.map((f) => f.ruleId), ['import-x/no-restricted-paths'], 'the contract is api: auth may not import it');
  const allowed = await planted(
    `main/formats/__planted-${tag}.ts`,
    "import type { RangeReader } from '../sources/types.js';\nimport { logger } from '../common/log.js';\nexport type X = RangeReader;\nexport const y = logger;\n",
  );
  assert.deepEqual(allowed, []);
});

test('Electron outside main/electron fails however it is loaded', async () => {
  const ways = [
    "import { app } from 'electron';\nexport const x = app;\n",
    "import { createRequire } from 'node:module';\nexport const x = createRequire(import.meta.url)('electron') as unknown;\n",
    "declare const require: (m: string) => unknown;\nexport const x = require('electron');\n",
    "export const x = import('electron');\n",
  ];
  for (const code of ways) {
    const found = await planted(`main/tiles/__planted-${tag}.ts`, code);
    assert.equal(found.length, 1, `${code}: ${JSON.stringify(found)}`);
    assert.match(found[0]!.message, /Only main\/electron\/ may/);
  }
  assert.deepEqual(await planted(`main/electron/__planted-${tag}.ts`, "import { createRequire } from 'node:module';\nexport const x = createRequire(import.meta.url)('electron') as unknown;\n"), []);
});

test('the tree has no layer violation', async () => {
  const results = await eslint.lintFiles(['main']);
  const bad = results.flatMap((r) => r.messages.map((m) => `${r.filePath.slice(root.length + 1)}:${m.line} ${m.ruleId}: ${m.message}`));
  assert.deepEqual(bad, []);
  assert.ok(results.length > 100, `linted ${results.length} files of main/`);
});

test('the table has no cycle and names every folder of main/', () => {
  assert.equal(findCycle(), undefined);
  const folders = readdirSync(join(root, 'main'), { withFileTypes: true }).filter((d) => d.isDirectory()).map((d) => d.name).sort();
  assert.deepEqual([...AREAS].sort(), folders, 'a new folder of main/ needs its row in eslint-layers.mjs');
  for (const [area, deps] of Object.entries(LAYERS)) for (const d of deps) assert.ok(AREAS.includes(d), `${area} names unknown area ${d}`);
});

test('docs/architecture.md states the same table', () => {
  const doc = readFileSync(join(root, 'docs', 'architecture.md'), 'utf8');
  const section = doc.slice(doc.indexOf('## Layers'), doc.indexOf('\n## ', doc.indexOf('## Layers') + 1));
  const rows = new Map<string, string[]>();
  for (const m of section.matchAll(/^\| `main\/([a-z]+)` \| ([^|]*) \|/gm)) {
    rows.set(m[1]!, m[2]!.trim() === '—' ? [] : m[2]!.split(',').map((s) => s.trim().replace(/^`main\/|`$/g, '')));
  }
  assert.deepEqual(Object.fromEntries(rows), Object.fromEntries(Object.entries(LAYERS).map(([a, d]) => [a, [...d]])));
});
