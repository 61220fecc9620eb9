/** Sibling objects of a local file: the other regular files in its folder (for DICOM series). */
import { readdir } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { FileRangeReader } from '../sources/file.js';
import type { RangeReader } from '../sources/types.js';

export function localSiblings(path: string, limit = 2000): () => Promise<RangeReader[]> {
  return async () => {
    const dir = dirname(resolve(path));
    const entries = await readdir(dir, { withFileTypes: true });
    return entries
      .filter((e) => e.isFile() && join(dir, e.name) !== resolve(path))
      .slice(0, limit)
      .map((e) => new FileRangeReader(join(dir, e.name)));
  };
}
