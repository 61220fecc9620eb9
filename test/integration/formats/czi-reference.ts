/** Run czi-reference.py (pylibCZIrw in the test stack's venv) and read its answers. */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { pythonVenv } from '../../stack/python-venv.js';

const SCRIPT = fileURLToPath(new URL('./czi-reference.py', import.meta.url));

export interface CziRegionRequest {
  /** Level-0 pixels, relative to the total bounding box's origin. */
  x: number;
  y: number;
  w: number;
  h: number;
  zoom: number;
  plane: number;
}

export interface CziReference {
  box: [number, number, number, number];
  scenes: Record<string, [number, number, number, number]>;
  channels: (string | null)[];
  pixelTypes: Record<string, string>;
  mpp: [number | null, number | null];
  shapes: [number, number, number][];
  data: Uint8Array[];
}

export async function cziReference(file: string, requests: CziRegionRequest[]): Promise<CziReference> {
  const { python } = pythonVenv();
  const dir = await mkdtemp(join(tmpdir(), 'czi-ref-'));
  try {
    const stdout = await new Promise<string>((resolve, reject) => {
      const child = execFile(python, [SCRIPT, file, dir], { maxBuffer: 16 << 20 }, (err, out, errOut) => {
        if (err) reject(new Error(`${err.message}\n${errOut}`));
        else resolve(out);
      });
      child.stdin!.end(JSON.stringify(requests));
    });
    const parsed = JSON.parse(stdout) as Omit<CziReference, 'data'>;
    const data = await Promise.all(requests.map((_, i) => readFile(join(dir, `${i}.raw`)).then((b) => new Uint8Array(b))));
    return { ...parsed, data };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
