/**
 * A small pool of worker threads for CPU work that must not block the main process:
 * decoding tiles to pixels (region reads, thumbnails) and assembling tiles whose
 * compression is not passed through (LZW, Deflate, JPEG 2000…). A task names an ES
 * module and one of its exported functions; arguments and results cross by structured
 * clone, byte arrays by transfer where they own their buffer.
 *
 * Error codes: TILE_WORKER_FAILED (the function threw something that was not an
 * AppError, or a worker died), ABORTED (cancelled while queued), TILE_WORKERS_CLOSED.
 */
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { commonErrors, fromSerialized, type SerializedError } from '../common/errors.js';
import { tileErrors } from './errors.js';

export interface WorkerPoolOptions {
  /** Threads. Default: cores − 1, between 1 and 4. */
  size?: number;
}

interface Job {
  id: number;
  module: string;
  export: string;
  args: unknown[];
  transfer: ArrayBuffer[];
  resolve: (v: unknown) => void;
  reject: (e: unknown) => void;
  signal: AbortSignal | undefined;
}

interface Slot {
  worker: Worker;
  job: Job | undefined;
}

const RUNNING_TS = import.meta.url.endsWith('.ts');

export class WorkerPool {
  readonly size: number;
  #slots: Slot[] = [];
  #queue: Job[] = [];
  #nextId = 1;
  #closed = false;
  #completed = 0;

  constructor(options: WorkerPoolOptions = {}) {
    this.size = Math.max(1, options.size ?? Math.min(4, Math.max(1, availableParallelism() - 1)));
  }

  /**
   * Run `exportName` of a module in a worker thread. `moduleUrl` is one of the app's
   * built-in task modules (`builtin:decode`, `builtin:region-codec`, `builtin:assemble-raw`)
   * or a file: URL of an ES module.
   */
  run<T>(moduleUrl: string, exportName: string, args: unknown[], options: { transfer?: ArrayBuffer[]; signal?: AbortSignal } = {}): Promise<T> {
    if (this.#closed) return Promise.reject(tileErrors.make('TILE_WORKERS_CLOSED', 'The decoder threads have been shut down.'));
    if (options.signal?.aborted) return Promise.reject(commonErrors.make('ABORTED', 'The operation was cancelled.', { cause: options.signal.reason }));
    return new Promise<T>((resolve, reject) => {
      const job: Job = {
        id: this.#nextId++,
        module: moduleUrl,
        export: exportName,
        args,
        transfer: options.transfer ?? [],
        resolve: resolve as (v: unknown) => void,
        reject,
        signal: options.signal,
      };
      options.signal?.addEventListener(
        'abort',
        () => {
          const i = this.#queue.indexOf(job);
          if (i >= 0) {
            this.#queue.splice(i, 1);
            reject(commonErrors.make('ABORTED', 'The operation was cancelled.', { cause: options.signal?.reason }));
          }
        },
        { once: true },
      );
      this.#queue.push(job);
      this.#pump();
    });
  }

  stats(): { size: number; busy: number; queued: number; completed: number } {
    return { size: this.size, busy: this.#slots.filter((s) => s.job).length, queued: this.#queue.length, completed: this.#completed };
  }

  async close(): Promise<void> {
    this.#closed = true;
    for (const job of this.#queue.splice(0)) job.reject(tileErrors.make('TILE_WORKERS_CLOSED', 'The decoder threads have been shut down.'));
    await Promise.all(this.#slots.map((s) => s.worker.terminate()));
    this.#slots = [];
  }

  #pump(): void {
    while (this.#queue.length > 0) {
      let slot = this.#slots.find((s) => !s.job);
      if (!slot && this.#slots.length < this.size) slot = this.#spawn();
      if (!slot) return;
      const job = this.#queue.shift()!;
      slot.job = job;
      slot.worker.ref();
      slot.worker.postMessage({ id: job.id, module: job.module, export: job.export, args: job.args }, job.transfer);
    }
  }

  #spawn(): Slot {
    const worker = RUNNING_TS ? tsWorker() : new Worker(new URL('./worker.js', import.meta.url));
    const slot: Slot = { worker, job: undefined };
    worker.unref();
    worker.on('message', (msg: { id: number; ok: boolean; result?: unknown; error?: SerializedError }) => {
      const job = slot.job;
      if (!job || job.id !== msg.id) return;
      slot.job = undefined;
      worker.unref();
      this.#completed += 1;
      if (msg.ok) job.resolve(msg.result);
      else {
        const e = msg.error!;
        job.reject(fromSerialized(e));
      }
      this.#pump();
    });
    const onDeath = (err: unknown): void => {
      this.#slots = this.#slots.filter((s) => s !== slot);
      slot.job?.reject(tileErrors.make('TILE_WORKER_FAILED', 'A decoder thread stopped unexpectedly.', { cause: err, retryable: true }));
      slot.job = undefined;
      if (!this.#closed) this.#pump();
    };
    worker.on('error', onDeath);
    worker.on('exit', (code) => {
      if (this.#slots.includes(slot)) onDeath(new Error(`worker exited with code ${code}`));
    });
    this.#slots.push(slot);
    return slot;
  }
}

/**
 * Running from TypeScript sources (tests, `tsx` dev runs): Node's worker cannot load a
 * .ts entry, so a tiny bootstrap loads tsx's scoped importer first and hands it to the
 * worker script for the task modules as well. Built code takes the plain path above.
 */
function tsWorker(): Worker {
  const api = import.meta.resolve('tsx/esm/api');
  const entry = new URL('./worker.ts', import.meta.url).href;
  const parent = import.meta.url;
  const code = `
    import(${JSON.stringify(api)}).then(async ({ tsImport }) => {
      globalThis.__tileWorkerImport = (url) => tsImport(url, ${JSON.stringify(parent)});
      await tsImport(${JSON.stringify(entry)}, ${JSON.stringify(parent)});
    });`;
  return new Worker(code, { eval: true });
}
