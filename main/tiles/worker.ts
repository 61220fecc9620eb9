/**
 * Worker-thread side of the pool: runs `module#export(...args)` and posts the result
 * back, transferring the big byte arrays instead of copying them. Only pure functions of
 * their arguments are run here (codecs, tile assembly from bytes), never anything that
 * needs the main process' state.
 */
import { parentPort } from 'node:worker_threads';
import { ERROR_KINDS, toAppError, type SerializedError } from '../common/errors.js';
import { tileErrors } from './errors.js';

interface Task {
  id: number;
  module: string;
  export: string;
  args: unknown[];
}

type Importer = (url: string) => Promise<Record<string, unknown>>;

const port = parentPort;
if (!port) throw new Error('worker.ts must run in a worker thread');

/**
 * The app's own task modules, imported statically by name so a bundler (esbuild for the
 * Electron build) puts them into the worker bundle: a file URL computed at run time
 * would point into the bundle's folder, where those modules do not exist.
 */
const BUILTIN: Record<string, () => Promise<Record<string, unknown>>> = {
  'builtin:decode': () => import('../formats/codecs/decode.js'),
  'builtin:region-codec': () => import('./region-codec.js'),
  'builtin:assemble-raw': () => import('../formats/codecs/assemble-raw.js'),
  'builtin:czi-compose': () => import('../formats/czi/compose.js'),
};

// Other modules by file URL (tests, extensions). Under tsx (tests, dev) the pool hands us
// a loader able to import .ts modules.
const byUrl: Importer =
  ((globalThis as { __tileWorkerImport?: Importer }).__tileWorkerImport) ?? ((url) => import(url) as Promise<Record<string, unknown>>);
const importer: Importer = (name) => BUILTIN[name]?.() ?? byUrl(name);

port.on('message', (task: Task) => {
  void run(task);
});

async function run(task: Task): Promise<void> {
  try {
    const mod = await importer(task.module);
    const fn = mod[task.export];
    if (typeof fn !== 'function') throw new Error(`${task.module} has no function ${task.export}`);
    const result: unknown = await (fn as (...a: unknown[]) => unknown)(...task.args);
    port!.postMessage({ id: task.id, ok: true, result }, transferables(result));
  } catch (err) {
    // The kind travels with the error, so the pool's side does not guess it from the code.
    port!.postMessage({
      id: task.id,
      ok: false,
      error: serialize(err),
    });
  }
}

/** Byte arrays at the top level of the result (or one level down) that own their whole buffer. */
function transferables(result: unknown): ArrayBuffer[] {
  const out = new Set<ArrayBuffer>();
  const visit = (v: unknown): void => {
    if (v instanceof Uint8Array && v.byteOffset === 0 && v.byteLength === v.buffer.byteLength && v.buffer instanceof ArrayBuffer) out.add(v.buffer);
  };
  if (result && typeof result === 'object') {
    visit(result);
    for (const v of Object.values(result)) visit(v);
  }
  return [...out];
}

/**
 * An AppError as it crosses to the pool. Checked by shape, not `instanceof`: a task
 * module may reach main/common/errors through another module URL than this file does.
 */
function serialize(err: unknown): SerializedError {
  const e = err as Partial<SerializedError> | null;
  if (typeof e?.code === 'string' && typeof e.message === 'string' && typeof e.kind === 'string' && (ERROR_KINDS as readonly string[]).includes(e.kind)) {
    return {
      code: e.code,
      kind: e.kind,
      message: e.message,
      ...(typeof e.hint === 'string' ? { hint: e.hint } : {}),
      ...(e.details && typeof e.details === 'object' ? { details: e.details } : {}),
      retryable: e.retryable === true,
    };
  }
  return toAppError(err, tileErrors, 'TILE_WORKER_FAILED', err instanceof Error ? err.message : String(err)).toJSON();
}
