/**
 * Worker-thread side of the pool: runs `module#export(...args)` and posts the result
 * back, transferring the big byte arrays instead of copying them. Only pure functions of
 * their arguments are run here (codecs, tile assembly from bytes), never anything that
 * needs the main process' state.
 */
import { parentPort } from 'node:worker_threads';

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
  'builtin:assemble-raw': () => import('./assemble-raw.js'),
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
    const e = err as { code?: unknown; message?: unknown; hint?: unknown; details?: unknown; retryable?: unknown };
    port!.postMessage({
      id: task.id,
      ok: false,
      error: {
        code: typeof e?.code === 'string' ? e.code : 'TILE_WORKER_FAILED',
        message: typeof e?.message === 'string' ? e.message : String(err),
        hint: typeof e?.hint === 'string' ? e.hint : undefined,
        details: e?.details,
        retryable: e?.retryable === true,
      },
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
