/** Run reference.py (Debian's python3 with openslide / pydicom / tifffile) and read its output. */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const SCRIPT = fileURLToPath(new URL('./reference.py', import.meta.url));
export { TESTDATA } from '../../support/paths.js';

export interface RefResult {
  shapes: unknown[];
  data: Uint8Array[];
}

/** `python`: another interpreter, e.g. the test stack's venv with OpenSlide 4 (openslide-bin). */
export async function reference(mode: 'openslide' | 'dicom' | 'tifffile' | 'pillow' | 'j2k', file: string, requests: object[], python = '/usr/bin/python3'): Promise<RefResult> {
  const dir = await mkdtemp(join(tmpdir(), 'fmt-ref-'));
  try {
    const stdout = await new Promise<string>((resolve, reject) => {
      const child = execFile(python, [SCRIPT, mode, file, dir], { maxBuffer: 16 << 20 }, (err, out, errOut) => {
        if (err) reject(new Error(`${err.message}\n${errOut}`));
        else resolve(out);
      });
      child.stdin!.end(JSON.stringify(requests));
    });
    const shapes = JSON.parse(stdout) as unknown[];
    const data = await Promise.all(requests.map((_, i) => readFile(join(dir, `${i}.raw`)).then((b) => new Uint8Array(b))));
    return { shapes, data };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** PSNR in dB over the RGB channels of two RGBA images of the same size (Infinity when identical). */
export function psnrRgba(a: Uint8Array, b: Uint8Array, width: number, height: number, strideA = width, strideB = width): number {
  let se = 0;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const pa = (y * strideA + x) * 4;
      const pb = (y * strideB + x) * 4;
      for (let c = 0; c < 3; c++) {
        const d = a[pa + c]! - b[pb + c]!;
        se += d * d;
      }
    }
  }
  const mse = se / (width * height * 3);
  return mse === 0 ? Infinity : 10 * Math.log10((255 * 255) / mse);
}

/** Expand RGB or gray samples to RGBA. */
export function toRgba(samples: Uint8Array, pixels: number, spp: number): Uint8Array {
  const out = new Uint8Array(pixels * 4);
  for (let p = 0; p < pixels; p++) {
    for (let c = 0; c < 3; c++) out[p * 4 + c] = samples[p * spp + (spp === 1 ? 0 : c)]!;
    out[p * 4 + 3] = 255;
  }
  return out;
}
