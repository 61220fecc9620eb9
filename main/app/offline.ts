/**
 * Whether storage can be reached, as the app last found out. Nothing polls while things
 * work: a storage call that fails with a network error (connection refused, DNS, reset,
 * timeout, as `isNetworkError` in main/tiles/service.ts decides) turns the state to
 * offline, any storage call that succeeds turns it back. While offline, a cheap probe
 * (one HEAD request per endpoint; any HTTP answer, even 403, means "reachable") runs with
 * a growing interval, so the app notices by itself when the network is back.
 *
 * The renderer gets the state in a call (`offline.state`) and as an event
 * (`connectivity.changed`) and says it in words; pin jobs resume when it turns online.
 */
import { EventEmitter } from 'node:events';
import type { RequestHandler } from '../api/app-protocol.js';
import type { ConnectivityState } from '../api/contract.js';
import { isAbortError } from '../common/errors.js';
import { logger } from '../common/log.js';
import type { Settings } from '../config/index.js';
import type { FetchLike } from '../sources/types.js';
import { isNetworkError } from '../tiles/service.js';

const log = logger('offline');

export interface ConnectivityOptions {
  /** Resolves when storage answers at all; rejects with a network error when it cannot be reached. */
  probe: (signal: AbortSignal) => Promise<void>;
  /** First probe interval once offline; doubles up to maxProbeMs. Default 2 s. */
  minProbeMs?: number;
  /** Default 30 s: a pathologist back on the network waits at most this long (or presses "Try again"). */
  maxProbeMs?: number;
  /** One probe gives up after this long. Default 5 s. */
  probeTimeoutMs?: number;
}

export class Connectivity {
  #probe: ConnectivityOptions['probe'];
  #minMs: number;
  #maxMs: number;
  #timeoutMs: number;
  #state: ConnectivityState = { status: 'online', since: Date.now() };
  #events = new EventEmitter();
  #timer: NodeJS.Timeout | undefined;
  #delay: number;
  #probing: Promise<ConnectivityState> | undefined;
  #disposed = false;

  constructor(o: ConnectivityOptions) {
    this.#probe = o.probe;
    this.#minMs = o.minProbeMs ?? 2_000;
    this.#maxMs = o.maxProbeMs ?? 30_000;
    this.#timeoutMs = o.probeTimeoutMs ?? 5_000;
    this.#delay = this.#minMs;
  }

  state(): ConnectivityState {
    return { ...this.#state };
  }

  get offline(): boolean {
    return this.#state.status === 'offline';
  }

  onChange(listener: (s: ConnectivityState) => void): () => void {
    this.#events.on('change', listener);
    return () => this.#events.off('change', listener);
  }

  /**
   * Run a storage call and learn from its outcome. Only network failures count: an
   * access-denied or not-found answer proves storage is reachable.
   */
  async track<T>(call: () => Promise<T>): Promise<T> {
    try {
      const result = await call();
      this.markOnline();
      return result;
    } catch (err) {
      if (isNetworkError(err)) this.markOffline(err);
      else if (!isAbortError(err)) this.markOnline();
      throw err;
    }
  }

  /**
   * Run a call that may succeed without touching the network (credentials still cached,
   * a slide opened from the cache): its failure says storage is unreachable, its success
   * says nothing.
   */
  async observe<T>(call: () => Promise<T>): Promise<T> {
    try {
      return await call();
    } catch (err) {
      if (isNetworkError(err)) this.markOffline(err);
      throw err;
    }
  }

  markOffline(cause: unknown): void {
    if (this.#disposed) return;
    if (this.#state.status !== 'offline') {
      const reason = describe(cause);
      this.#state = { status: 'offline', since: Date.now(), ...(reason ? { reason } : {}) };
      this.#delay = this.#minMs;
      log.warn('storage unreachable: working offline', { cause });
      this.#emit();
    }
    this.#schedule();
  }

  markOnline(): void {
    if (this.#state.status === 'online' || this.#disposed) return;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#state = { status: 'online', since: Date.now() };
    log.info('storage reachable again');
    this.#emit();
  }

  /** Probe now ("Try again"); resolves with the state it leads to. */
  check(): Promise<ConnectivityState> {
    this.#probing ??= this.#runProbe().finally(() => (this.#probing = undefined));
    return this.#probing;
  }

  async #runProbe(): Promise<ConnectivityState> {
    const signal = AbortSignal.timeout(this.#timeoutMs);
    try {
      await this.#probe(signal);
      this.markOnline();
    } catch (err) {
      // A probe that timed out is as good as a refused connection here.
      if (isNetworkError(err) || signal.aborted || isAbortError(err)) this.markOffline(err);
      else this.markOnline();
    }
    if (this.#state.status === 'offline') this.#state = { ...this.#state, lastCheck: Date.now() };
    return this.state();
  }

  #schedule(): void {
    if (this.#timer || this.#disposed) return;
    const delay = this.#delay;
    this.#delay = Math.min(this.#maxMs, this.#delay * 2);
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      void this.check().then((s) => {
        if (s.status === 'offline') this.#schedule();
      });
    }, delay);
    // A probe timer must not keep a CLI or a test process alive.
    this.#timer.unref();
  }

  #emit(): void {
    this.#events.emit('change', this.state());
  }

  dispose(): void {
    this.#disposed = true;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#events.removeAllListeners();
  }
}

/**
 * The tile route, watched: a tile that failed because storage could not be reached (503
 * with a network error code, see main/api/tile-route.ts) means storage went away while a
 * slide was on screen, which no other call would notice until the next listing.
 */
export function watchTileRoute(route: RequestHandler, connectivity: Connectivity): RequestHandler {
  return async (request) => {
    const response = await route(request);
    if (response.status === 503 && /(^|_)(UNREACHABLE|NETWORK|TIMEOUT|CONNECTION)($|_)/.test(response.headers.get('x-error-code') ?? '')) {
      connectivity.markOffline(undefined);
    }
    return response;
  };
}

/** The storage endpoints the app needs: S3 itself and the STS that gives credentials for it. */
export function storageEndpoints(settings: Settings): string[] {
  const region = settings.storage.s3.region || 'us-east-1';
  const s3 = settings.storage.s3.endpoint || `https://s3.${region}.amazonaws.com`;
  const sts = settings.storage.sts.endpoint || `https://sts.${region}.amazonaws.com`;
  return [...new Set([s3, sts].map((u) => new URL(u).origin))];
}

/**
 * A HEAD request to every endpoint, unsigned: the answer's status does not matter (S3
 * says 403 to an anonymous HEAD), only that an answer came.
 */
export function endpointProbe(endpoints: string[], fetchImpl: FetchLike = fetch): (signal: AbortSignal) => Promise<void> {
  return async (signal) => {
    await Promise.all(
      endpoints.map(async (url) => {
        const res = await fetchImpl(`${url}/`, { method: 'HEAD', signal, redirect: 'manual' });
        await res.body?.cancel().catch(() => undefined);
      }),
    );
  };
}

const REASONS: Record<string, string> = {
  ECONNREFUSED: 'the connection was refused',
  ECONNRESET: 'the connection was cut',
  EPIPE: 'the connection was cut',
  UND_ERR_SOCKET: 'the connection was cut',
  ENOTFOUND: 'the server name could not be found',
  EAI_AGAIN: 'the server name could not be looked up',
  ETIMEDOUT: 'no answer in time',
  UND_ERR_CONNECT_TIMEOUT: 'no answer in time',
  ENETUNREACH: 'no network',
  EHOSTUNREACH: 'the server is out of reach of this network',
};

/** Why, in a few words for the banner; undefined when the failure does not say. */
function describe(err: unknown): string | undefined {
  for (let e: unknown = err, depth = 0; e && depth < 6; depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && REASONS[code]) return REASONS[code];
    if ((e as { name?: unknown }).name === 'TimeoutError') return REASONS['ETIMEDOUT'];
    e = (e as { cause?: unknown }).cause;
  }
  return undefined;
}
