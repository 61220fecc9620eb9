/**
 * The RFC 8252 loopback redirect listener. It binds loopback only (never 0.0.0.0, never
 * ::), so nothing on the network can reach it: 127.0.0.1, and when the redirect URI says
 * `localhost` (providers that match redirect URLs exactly) also [::1] on the same port,
 * because a browser may resolve localhost to ::1 and another local process holding
 * [::1]:PORT would receive the code. If [::1]:PORT is taken the sign-in picks another
 * port (ephemeral) or is refused (a fixed port). It hands the FIRST request on the
 * callback path to the caller and then refuses everything: whoever answers first decides
 * the sign-in, so an attacker's request can make a sign-in fail (loudly) but never hang.
 * Other paths get a 404 and do not count.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { PAGE_HEADERS, notFoundPage, renderPage, type PageContent } from './pages.js';
import { authError } from './errors.js';

export const LOOPBACK_BIND_ADDRESS = '127.0.0.1';
export const LOOPBACK_V6_BIND_ADDRESS = '::1';

/** One HTTP server on host:port; a port in use (or not allowed) is AUTH_PORT_IN_USE with the errno as cause. */
async function listen(host: string, port: number, configuredPort: number): Promise<Server> {
  const server = createServer();
  // Browsers keep connections alive; a short keep-alive stops a stale socket from
  // carrying a second callback past close().
  server.keepAliveTimeout = 1000;
  await new Promise<void>((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException): void => {
      server.off('listening', onListening);
      if (err.code === 'EADDRINUSE' || err.code === 'EACCES') {
        reject(authError('AUTH_PORT_IN_USE', { cause: err, details: { port: configuredPort || port, host } }));
      } else reject(Object.assign(new Error(`cannot listen on ${host}:${port}`), { cause: err }));
    };
    const onListening = (): void => {
      server.off('error', onError);
      resolve();
    };
    server.once('error', onError);
    server.once('listening', onListening);
    server.listen({ host, port, exclusive: true, ...(host.includes(':') ? { ipv6Only: true } : {}) });
  });
  return server;
}

export interface LoopbackOptions {
  host: '127.0.0.1' | 'localhost';
  /** 0 = ephemeral. */
  port: number;
  path: string;
  organisation: string;
}

export interface CallbackRequest {
  /** The full callback URL, rebuilt on the redirect URI so it matches what the provider saw. */
  url: URL;
  /** Answer the browser with a page; the listener closes once it is sent. */
  respond(page: PageContent): Promise<void>;
}

export class LoopbackListener {
  readonly redirectUri: string;
  readonly #server: Server;
  readonly #options: LoopbackOptions;
  readonly #sockets = new Set<Socket>();
  #taken = false;
  #closed = false;
  #waiter: { resolve: (c: CallbackRequest) => void; reject: (e: unknown) => void } | undefined;
  #pending: CallbackRequest | undefined;

  /** [::1] on the same port, for `localhost` redirect URIs (undefined: none, or IPv6 has no loopback here). */
  readonly #v6: Server | undefined;

  private constructor(server: Server, v6: Server | undefined, options: LoopbackOptions) {
    this.#server = server;
    this.#v6 = v6;
    this.#options = options;
    const port = (server.address() as AddressInfo).port;
    this.redirectUri = `http://${options.host}:${port}${options.path}`;
    for (const srv of [server, ...(v6 ? [v6] : [])]) {
      srv.on('connection', (s: Socket) => {
        this.#sockets.add(s);
        s.on('close', () => this.#sockets.delete(s));
      });
      srv.on('request', (req, res) => this.#onRequest(req, res));
    }
  }

  static async start(options: LoopbackOptions): Promise<LoopbackListener> {
    // An ephemeral port whose [::1] twin is taken is simply given up for another one.
    for (let attempt = 1; ; attempt++) {
      const server = await listen(LOOPBACK_BIND_ADDRESS, options.port, options.port);
      if (options.host !== 'localhost') return new LoopbackListener(server, undefined, options);
      const port = (server.address() as AddressInfo).port;
      try {
        const v6 = await listen(LOOPBACK_V6_BIND_ADDRESS, port, options.port);
        return new LoopbackListener(server, v6, options);
      } catch (err) {
        const code = (err as { cause?: NodeJS.ErrnoException }).cause?.code;
        // No IPv6 loopback on this machine: nobody can hold [::1] either, and browsers fall back to 127.0.0.1.
        if (code === 'EADDRNOTAVAIL' || code === 'EAFNOSUPPORT') return new LoopbackListener(server, undefined, options);
        await new Promise<void>((r) => server.close(() => r()));
        if (options.port !== 0 || attempt >= 5) throw err;
      }
    }
  }

  /** Where the listener is bound on [::1], if it is (tests). */
  addressV6(): AddressInfo | undefined {
    return this.#v6?.address() as AddressInfo | undefined;
  }

  /** Where the listener is actually bound (tests check it is 127.0.0.1). */
  address(): AddressInfo {
    return this.#server.address() as AddressInfo;
  }

  /** Resolves with the first request on the callback path. */
  next(): Promise<CallbackRequest> {
    if (this.#pending) {
      const p = this.#pending;
      this.#pending = undefined;
      return Promise.resolve(p);
    }
    if (this.#closed) return Promise.reject(new Error('loopback listener closed'));
    return new Promise((resolve, reject) => {
      this.#waiter = { resolve, reject };
    });
  }

  #onRequest(req: IncomingMessage, res: ServerResponse): void {
    if (this.#taken || this.#closed) {
      // After the one callback: no page, no information, just a closed connection.
      req.socket.destroy();
      return;
    }
    let url: URL;
    try {
      url = new URL(req.url ?? '/', this.redirectUri);
    } catch {
      res.writeHead(400, PAGE_HEADERS).end(notFoundPage(this.#options.organisation));
      return;
    }
    if (req.method !== 'GET' || url.pathname !== this.#options.path) {
      res.writeHead(404, PAGE_HEADERS).end(notFoundPage(this.#options.organisation));
      return;
    }
    this.#taken = true;
    const callbackUrl = new URL(this.redirectUri);
    callbackUrl.search = url.search;
    let answered = false;
    const request: CallbackRequest = {
      url: callbackUrl,
      respond: async (page) => {
        if (answered) return;
        answered = true;
        const body = renderPage(page, this.#options.organisation);
        await new Promise<void>((resolve) => {
          res.writeHead(page.ok ? 200 : 400, { ...PAGE_HEADERS, connection: 'close' });
          res.end(body, () => resolve());
        });
        await this.close();
      },
    };
    if (this.#waiter) {
      this.#waiter.resolve(request);
      this.#waiter = undefined;
    } else this.#pending = request;
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#waiter?.reject(new Error('loopback listener closed'));
    this.#waiter = undefined;
    const closed = Promise.all([this.#server, ...(this.#v6 ? [this.#v6] : [])].map((srv) => new Promise<void>((resolve) => srv.close(() => resolve()))));
    // Give a response that is being written a moment to flush, then drop every socket.
    for (const s of this.#sockets) s.end();
    setTimeout(() => {
      for (const s of this.#sockets) s.destroy();
    }, 200).unref();
    await closed;
  }
}
