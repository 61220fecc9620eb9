/**
 * The project's own demo slides: deterministic tissue-like pixels (demo-slide.py) saved as
 * pyramidal JPEG TIFFs by `vips tiffsave --tile --pyramid --compression jpeg`, at
 * 0.25 µm/px. Cached under ~/.cache/slide-workstation/demo-slides, keyed by the generator's
 * content and parameters, so only the first start pays for them.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { AppError } from '../../main/common/errors.js';

const here = dirname(fileURLToPath(import.meta.url));
const GENERATOR = join(here, 'demo-slide.py');
const PYTHON = process.env.STACK_PYTHON ?? '/usr/bin/python3';

export interface DemoSlideSpec {
  name: string;
  width: number;
  height: number;
  seed: number;
}

/** Microns per pixel written into the TIFF resolution tags. */
export const DEMO_MPP = 0.25;

export function demoSlideCacheDir(): string {
  return join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'slide-workstation', 'demo-slides');
}

function checkTools(): void {
  const vips = spawnSync('vips', ['--version'], { encoding: 'utf8' });
  if (vips.error || vips.status !== 0) {
    throw new AppError('STACK_VIPS_MISSING', 'The `vips` command (libvips) is not installed; it writes the demo slides.', {
      hint: 'Install it with `apt-get install libvips-tools`.',
    });
  }
  const py = spawnSync(PYTHON, ['-c', 'import numpy, skimage'], { encoding: 'utf8' });
  if (py.error || py.status !== 0) {
    throw new AppError('STACK_PYTHON_MISSING', `${PYTHON} with numpy and scikit-image is needed to generate the demo slides.`, {
      hint: 'Install them with `apt-get install python3-skimage` (or set STACK_PYTHON to a Python that has numpy and scikit-image).',
      details: { stderr: (py.stderr ?? String(py.error)).slice(-500) },
    });
  }
}

/** Returns the path of the cached TIFF for `spec`, generating it first when needed. */
export function ensureDemoSlide(spec: DemoSlideSpec): string {
  const key = createHash('sha256')
    .update(readFileSync(GENERATOR))
    .update(JSON.stringify({ ...spec, mpp: DEMO_MPP, v: 1 }))
    .digest('hex')
    .slice(0, 12);
  const dir = demoSlideCacheDir();
  const out = join(dir, `${spec.name}-${key}.tif`);
  if (existsSync(out)) return out;
  checkTools();
  mkdirSync(dir, { recursive: true });
  const ppm = join(dir, `.${spec.name}-${key}-${process.pid}.ppm`);
  const tmp = join(dir, `.${spec.name}-${key}-${process.pid}.tif`);
  try {
    const gen = spawnSync(PYTHON, [GENERATOR, String(spec.width), String(spec.height), String(spec.seed), ppm], { encoding: 'utf8' });
    if (gen.status !== 0) {
      throw new AppError('STACK_DEMO_SLIDE', `Generating the demo slide "${spec.name}" failed: ${(gen.stderr ?? String(gen.error)).slice(-500)}`);
    }
    const pxPerMm = String(1000 / DEMO_MPP);
    const save = spawnSync(
      'vips',
      ['tiffsave', ppm, tmp, '--tile', '--pyramid', '--compression', 'jpeg', '--Q', '85', '--tile-width', '256', '--tile-height', '256', '--xres', pxPerMm, '--yres', pxPerMm],
      { encoding: 'utf8' },
    );
    if (save.status !== 0) {
      throw new AppError('STACK_DEMO_SLIDE', `vips could not write the demo slide "${spec.name}": ${(save.stderr ?? String(save.error)).slice(-500)}`);
    }
    // Rename last, so a concurrent or interrupted start never sees half a file.
    renameSync(tmp, out);
    // Drop slides made by an earlier version of the generator.
    for (const f of readdirSync(dir)) {
      if (f.startsWith(`${spec.name}-`) && f.endsWith('.tif') && join(dir, f) !== out) rmSync(join(dir, f), { force: true });
    }
    return out;
  } finally {
    rmSync(ppm, { force: true });
    rmSync(tmp, { force: true });
  }
}
