/**
 * The reference readers from PyPI (Zeiss' pylibCZIrw, slideio, OpenSlide 4 via
 * openslide-bin, boto3) in one virtual environment the test stack makes when missing,
 * under ~/.cache/slide-workstation/pyvenv-<hash of the package list>. Debian's own
 * Python stays untouched; its openslide/tifffile/scikit-image are used as they are
 * through /usr/bin/python3.
 *
 * Usage in a test: `const py = pythonVenv(); spawnSync(py.python, [script, ...])`.
 * When the venv cannot be made (no network to PyPI, no python3-venv), this throws with
 * the reason, so the test fails saying what is missing instead of silently skipping.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

/** Pinned so every machine compares against the same reference. */
export const PYTHON_PACKAGES = [
  'numpy==2.4.6',
  'pylibCZIrw==6.1.0',
  'slideio==2.10.0',
  'openslide-bin==4.0.1.2',
  'openslide-python==1.4.7',
  'boto3==1.44.8',
  'tifffile',
  'imagecodecs',
] as const;

/** Debian's interpreter: the venv is built on it so its wheels match the system. */
const BASE_PYTHON = '/usr/bin/python3';

export interface PythonVenv {
  /** The venv's interpreter. */
  python: string;
  dir: string;
}

function cacheRoot(): string {
  return join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'slide-workstation');
}

let cached: PythonVenv | undefined;

export function pythonVenv(): PythonVenv {
  if (cached) return cached;
  const hash = createHash('sha256').update(PYTHON_PACKAGES.join('\n')).digest('hex').slice(0, 12);
  const dir = join(cacheRoot(), `pyvenv-${hash}`);
  const python = join(dir, 'bin', 'python');
  const stamp = join(dir, '.complete');
  if (!existsSync(stamp)) {
    if (!existsSync(BASE_PYTHON)) throw new Error(`${BASE_PYTHON} is missing: install Debian's python3 (test/stack/install-prereqs.sh does).`);
    mkdirSync(cacheRoot(), { recursive: true });
    // Built beside the final folder and renamed, so a run killed half-way leaves no
    // half-made venv that looks complete, and two test processes do not collide.
    const tmp = `${dir}.tmp-${process.pid}`;
    rmSync(tmp, { recursive: true, force: true });
    const mk = spawnSync(BASE_PYTHON, ['-m', 'venv', tmp], { encoding: 'utf8' });
    if (mk.status !== 0) throw new Error(`Could not create a Python venv (${(mk.stderr || mk.error?.message || '').trim()}); install python3-venv.`);
    const pip = spawnSync(join(tmp, 'bin', 'python'), ['-m', 'pip', 'install', '--disable-pip-version-check', '-q', ...PYTHON_PACKAGES], {
      encoding: 'utf8',
      maxBuffer: 64 * 1024 * 1024,
    });
    if (pip.status !== 0) {
      rmSync(tmp, { recursive: true, force: true });
      throw new Error(`pip could not install the reference readers (${PYTHON_PACKAGES.join(', ')}): ${(pip.stderr || pip.error?.message || '').trim().slice(-2000)}`);
    }
    writeFileSync(join(tmp, '.complete'), PYTHON_PACKAGES.join('\n') + '\n');
    if (existsSync(stamp)) {
      rmSync(tmp, { recursive: true, force: true }); // another process finished first
    } else {
      rmSync(dir, { recursive: true, force: true });
      renameSync(tmp, dir);
    }
  }
  cached = { python, dir };
  return cached;
}
