/**
 * Where tests find the project and the shared scanner files: `../shared/testdata` beside the
 * project root, resolved from this file, so a clone anywhere works (never an absolute path).
 */
import { fileURLToPath } from 'node:url';
import { join, resolve } from 'node:path';

const ROOT = resolve(fileURLToPath(new URL('../..', import.meta.url)));

export function projectRoot(): string {
  return ROOT;
}

export const TESTDATA = resolve(ROOT, '..', 'shared', 'testdata');

/** A file under ../shared/testdata, by its path inside it. */
export function testdata(...parts: string[]): string {
  return join(TESTDATA, ...parts);
}
