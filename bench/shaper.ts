/**
 * A link shaper: a TCP proxy on 127.0.0.1 that makes a loopback connection behave like
 * a WAN link with a given bandwidth and round-trip time. Bandwidth is shared by all
 * connections in each direction (one serialisation queue, as on a real access link);
 * each chunk is delivered half an RTT after it has been "transmitted"; a new connection
 * costs one RTT before data flows (the TCP handshake). It also counts HTTP requests and
 * bytes, so the engine and its peer are measured by the same meter.
 */
import { createServer, connect, type Server, type Socket } from 'node:net';

export interface LinkOptions {
  mbit: number;
  rttMs: number;
  target: { host: string; port: number };
}

export interface LinkCounters {
  requests: number;
  bytesDown: number;
  bytesUp: number;
  connections: number;
}

/** One direction of the link: a serialisation queue at `bitsPerMs`, then a fixed delay. */
class Pipe {
  #nextFree = 0;
  constructor(
    private readonly bitsPerMs: number,
    private readonly delayMs: number,
  ) {}

  /** When a chunk of `bytes` entering now arrives at the far end (ms, performance clock). */
  schedule(bytes: number): number {
    const now = performance.now();
    const start = Math.max(now, this.#nextFree);
    this.#nextFree = start + (bytes * 8) / this.bitsPerMs;
    return this.#nextFree + this.delayMs;
  }
}

const CHUNK = 16 * 1024; // finer slices let concurrent connections interleave fairly
const HIGH_WATER = 512 * 1024; // pause a source when this much is queued on the link

export class LinkShaper {
  readonly counters: LinkCounters = { requests: 0, bytesDown: 0, bytesUp: 0, connections: 0 };
  #server: Server | undefined;
  #sockets = new Set<Socket>();
  #down: Pipe;
  #up: Pipe;

  constructor(readonly options: LinkOptions) {
    const bitsPerMs = options.mbit * 1000;
    this.#down = new Pipe(bitsPerMs, options.rttMs / 2);
    this.#up = new Pipe(bitsPerMs, options.rttMs / 2);
  }

  async start(): Promise<{ host: string; port: number; url: string }> {
    const server = createServer((client) => this.#accept(client));
    this.#server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    const address = server.address();
    if (typeof address !== 'object' || address === null) throw new Error('shaper did not bind');
    return { host: '127.0.0.1', port: address.port, url: `http://127.0.0.1:${address.port}` };
  }

  resetCounters(): LinkCounters {
    const snapshot = { ...this.counters };
    Object.assign(this.counters, { requests: 0, bytesDown: 0, bytesUp: 0, connections: 0 });
    return snapshot;
  }

  /**
   * Close every connection through the link, as if each client started afresh: the
   * engine and the peer share Node's HTTP client pool in this process, and neither may
   * ride on connections the other opened.
   */
  async dropConnections(): Promise<void> {
    for (const s of this.#sockets) s.destroy();
    this.#sockets.clear();
    // Let the clients see the closes before they pick a pooled connection again.
    await new Promise((resolve) => setTimeout(resolve, 200));
  }

  async stop(): Promise<void> {
    for (const s of this.#sockets) s.destroy();
    await new Promise<void>((resolve) => (this.#server ? this.#server.close(() => resolve()) : resolve()));
  }

  #accept(client: Socket): void {
    this.counters.connections++;
    this.#sockets.add(client);
    client.pause();
    const upstream = connect(this.options.target.port, this.options.target.host);
    this.#sockets.add(upstream);
    const closeBoth = (): void => {
      client.destroy();
      upstream.destroy();
      this.#sockets.delete(client);
      this.#sockets.delete(upstream);
    };
    client.on('error', closeBoth);
    upstream.on('error', closeBoth);
    client.on('close', closeBoth);
    // A server that ends its answer by closing (Orthanc's multipart WADO-RS: no length, no
    // chunking) must not lose the bytes still on the link: the client side is ended once
    // they are delivered (see #forward), and its own close then tears both down.
    upstream.on('close', () => this.#sockets.delete(upstream));
    // The handshake costs one round trip before the first byte can flow.
    upstream.once('connect', () => setTimeout(() => client.resume(), this.options.rttMs));
    this.#forward(client, upstream, this.#up, (chunk) => {
      this.counters.bytesUp += chunk.length;
      // Count request heads; GETs have no body, so each head starts a new request.
      const text = chunk.toString('latin1');
      const m = text.match(/(?:^|\r\n\r\n)(?:GET|HEAD|PUT|POST|DELETE) \S+ HTTP\/1\.[01]\r\n/g);
      if (m) this.counters.requests += m.length;
    });
    this.#forward(upstream, client, this.#down, (chunk) => {
      this.counters.bytesDown += chunk.length;
    });
  }

  #forward(from: Socket, to: Socket, pipe: Pipe, meter: (chunk: Buffer) => void): void {
    // One FIFO per direction of a connection, drained by one timer: per-chunk timers can
    // fire out of order (Node measures them from its cached loop time) and scramble bytes.
    const queue: { at: number; piece: Buffer }[] = [];
    let queued = 0;
    let lastDelivery = 0;
    let timer: NodeJS.Timeout | undefined;
    let ended = false;
    const drain = (): void => {
      timer = undefined;
      const now = performance.now();
      while (queue.length > 0 && queue[0]!.at <= now) {
        const { piece } = queue.shift()!;
        queued -= piece.length;
        if (!to.destroyed) to.write(piece);
      }
      if (queued < HIGH_WATER && from.isPaused() && !from.destroyed) from.resume();
      if (queue.length > 0) timer = setTimeout(drain, Math.max(0, queue[0]!.at - now));
      else if (ended && !to.destroyed) to.end();
    };
    from.on('data', (data: Buffer) => {
      meter(data);
      for (let off = 0; off < data.length; off += CHUNK) {
        const piece = data.subarray(off, Math.min(off + CHUNK, data.length));
        lastDelivery = Math.max(pipe.schedule(piece.length), lastDelivery);
        queue.push({ at: lastDelivery, piece });
        queued += piece.length;
      }
      timer ??= setTimeout(drain, Math.max(0, queue[0]!.at - performance.now()));
      if (queued >= HIGH_WATER) from.pause();
    });
    from.on('end', () => {
      ended = true;
      if (queue.length === 0 && timer === undefined && !to.destroyed) to.end();
    });
    from.on('close', () => {
      // Closed without an orderly end (reset, destroyed): deliver what is queued, then end.
      ended = true;
      if (queue.length === 0 && timer === undefined && !to.destroyed) to.end();
    });
  }
}
