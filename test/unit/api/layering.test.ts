/**
 * The layering rules in eslint.config.js bite: the renderer cannot reach Node or main's
 * services, plain-Node main code cannot import Electron. Linted as text with the
 * project's own config, so a relaxed rule fails here.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { ESLint } from 'eslint';

const root = join(import.meta.dirname, '..', '..', '..');
const eslint = new ESLint({ cwd: root });

async function restricted(file: string, code: string): Promise<string[]> {
  const [result] = await eslint.lintText(code, { filePath: join(root, file) });
  return (result?.messages ?? []).filter((m) => m.ruleId === 'no-restricted-imports').map((m) => m.message);
}

test('the renderer may import only the contract from main, and no Node module', async () => {
  assert.equal((await restricted('renderer/src/probe.ts', "import { readFileSync } from 'node:fs';\nexport const x = readFileSync;\n")).length, 1);
  assert.equal((await restricted('renderer/src/probe.ts', "import { AuthService } from '../../main/auth/index.js';\nexport const x = AuthService;\n")).length, 1);
  assert.equal((await restricted('renderer/src/probe.ts', "import { ipcRenderer } from 'electron';\nexport const x = ipcRenderer;\n")).length, 1);
  assert.deepEqual(await restricted('renderer/src/probe.ts', "import { ApiError } from '../../main/api/contract';\nexport const x = ApiError;\n"), []);
});

test('only main/electron may import electron', async () => {
  assert.equal((await restricted('main/auth/probe.ts', "import { app } from 'electron';\nexport const x = app;\n")).length, 1);
  assert.deepEqual(await restricted('main/electron/probe.ts', "import { app } from 'electron';\nexport const x = app;\n"), []);
});

test('the preload imports only the contract and the Electron type shim', async () => {
  assert.equal((await restricted('preload/probe.ts', "import { AuthService } from '../main/auth/index.js';\nexport const x = AuthService;\n")).length, 1);
  assert.equal((await restricted('preload/probe.ts', "import { readFileSync } from 'node:fs';\nexport const x = readFileSync;\n")).length, 1);
  assert.deepEqual(await restricted('preload/probe.ts', "import type { WsiApi } from '../main/api/contract.js';\nexport type X = WsiApi;\n"), []);
});
