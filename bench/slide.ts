/**
 * The benchmark's large slide: a pyramidal JPEG BigTIFF of more than 1 GB and more than
 * 100,000 pixels on its long side, made at bench time from the real scanner pixels of
 * CMU-1-Small-Region (read in place from ../shared/testdata) by libvips. It is cached
 * under ~/.cache/slide-workstation/bench so later runs reuse it.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, renameSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';

export interface BigSlide {
  path: string;
  bytes: number;
  width: number;
  height: number;
}

const SOURCE = resolve(import.meta.dirname, '..', '..', 'shared', 'testdata', 'derived', 'generic-tiff', 'CMU-1-Small-Region.pyramid-jpeg.tif');
// 48 × 2220 px = 106,560 px wide; 16 × 2967 px = 47,472 px high; about 1.2 GB at Q85.
const ACROSS = 48;
const DOWN = 16;

export function ensureBigSlide(log: (m: string) => void = () => undefined): BigSlide {
  const dir = join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'slide-workstation', 'bench');
  const path = join(dir, `cmu1-replicated-${ACROSS}x${DOWN}-q85.tif`);
  if (!existsSync(path)) {
    if (!existsSync(SOURCE)) throw new Error(`The bench needs the real test pixels at ${SOURCE} (../shared/testdata).`);
    mkdirSync(dir, { recursive: true });
    const base = join(dir, 'base.v');
    const partial = `${path}.partial.tif`;
    log(`making the large bench slide (${ACROSS * 2220} x ${DOWN * 2967} px) with libvips; once, a few minutes`);
    try {
      execFileSync('vips', ['copy', `${SOURCE}[page=0]`, base], { stdio: 'inherit' });
      execFileSync(
        'vips',
        ['replicate', base, `${partial}[tile,tile-width=256,tile-height=256,pyramid,compression=jpeg,Q=85,bigtiff]`, String(ACROSS), String(DOWN)],
        { stdio: 'inherit' },
      );
    } catch (err) {
      throw new Error(`libvips could not make the bench slide (is libvips-tools installed?): ${(err as Error).message}`, { cause: err });
    }
    renameSync(partial, path);
  }
  return { path, bytes: statSync(path).size, width: ACROSS * 2220, height: DOWN * 2967 };
}
