/**
 * Whether storage can be reached, as the app last found out. Nothing polls while things
 * work: a storage call that fails with a network error (connection refused, DNS, reset,
 * timeout, as `isNetworkError` in main/common/network.ts decides) turns the state to
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
import { assertNever, isAbortError, isAppError, type ErrorKind } from '../common/errors.js';
import { logger } from '../common/log.js';
import type { Settings } from '../config/index.js';
import type { FetchLike } from '../common/fetch.js';
import { isNetworkError, networkReason } from '../common/network.js';

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
      const verdict = whatItSays(err);
      if (verdict === 'unreachable') this.markOffline(err);
      else if (verdict === 'reached') this.markOnline();
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
      const reason = networkReason(cause);
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
 * with kind `unreachable`, see main/api/tile-route.ts) means storage went away while a
 * slide was on screen, which no other call would notice until the next listing.
 */
export function watchTileRoute(route: RequestHandler, connectivity: Connectivity): RequestHandler {
  return async (request) => {
    const response = await route(request);
    // TILE_OFFLINE is a miss in the offline copy, itself a consequence of being offline: it says nothing new.
    if (response.headers.get('x-error-kind') === 'unreachable' && response.headers.get('x-error-code') !== 'TILE_OFFLINE') {
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

/** What a failed storage call says about the connection. */
type Verdict = 'unreachable' | 'reached' | 'nothing';

function whatItSays(err: unknown): Verdict {
  if (isNetworkError(err)) return 'unreachable';
  if (isAbortError(err)) return 'nothing';
  return isAppError(err) ? verdictOf(err.kind) : 'nothing';
}

/**
 * Only `unreachable` turns the app offline. A busy service (503 SlowDown, throttling)
 * answered, so it is reachable: it is retried, and the pathologist is told it is busy,
 * not that the network is gone.
 */
export function verdictOf(kind: ErrorKind): Verdict {
  switch (kind) {
    case 'unreachable':
      return 'unreachable';
    case 'busy':
    case 'denied':
    case 'signin-needed':
    case 'not-found':
    case 'unsupported':
    case 'invalid-input':
    case 'conflict':
      return 'reached';
    case 'cancelled':
    case 'internal':
      return 'nothing';
    default:
      return assertNever(kind);
  }
}
