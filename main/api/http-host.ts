/**
 * The headless transport: the same handlers and the same renderer bundle as the Electron
 * app, behind an HTTP server on 127.0.0.1 for a real Chromium (end-to-end tests, and
 * machines without the Electron runtime).
 *
 * Any local process or web page can reach a loopback port, so nothing is answered
 * without proof that the caller was handed this launch's secret:
 * - `/?launch=SECRET` (the URL printed at start) sets an HttpOnly SameSite=Strict session
 *   cookie and redirects to `/`; every other request, pages, `POST /api/<method>`, the
 *   event stream `GET /api/events` and `/tiles/…`, needs that cookie.
 * - a launch link works once: a link seen in a terminal's scroll-back, a shell history or a
 *   browser's history cannot sign a second browser in. Reopening a used link in the browser
 *   that used it goes on to the app (it holds the cookie); anywhere else it is refused with
 *   a page that says how to get a new one. `newLaunchUrl()` mints another one-time link.
 * - the Host header must be exactly 127.0.0.1:PORT (a DNS-rebinding page arrives with its
 *   own host name), and an Origin header, when sent, must be this origin.
 * - API calls must be JSON (a cross-site form cannot send that without a preflight).
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import type { ReadableStream as NodeReadableStream } from 'node:stream/web';
import { logger, registerSecret } from '../common/log.js';
import type { RequestHandler } from './app-protocol.js';
import { dispatch, type ApiEventBus, type ApiHandlers } from './handlers.js';
import { SECURITY_HEADERS } from './security.js';

const log = logger('api.http');
const MAX_BODY = 1 << 20;
const PING_MS = 20_000;

export interface HttpHostOptions {
  handlers: ApiHandlers;
  events: ApiEventBus;
  /** The shared renderer/tiles handler (createAppRequestHandler). */
  app: RequestHandler;
  /** 0 (default) = an ephemeral port. */
  port?: number;
}

export interface HttpHost {
  port: number;
  /** http://127.0.0.1:PORT */
  origin: string;
  /** Opening this URL in a browser signs that browser into this launch, once. */
  launchUrl: string;
  /** Another one-time launch link; `onUsed` runs when a browser has exchanged it for the cookie. */
  newLaunchUrl(onUsed?: () => void): string;
  close(): Promise<void>;
}

const USED_LINK_PAGE = `<!doctype html><meta charset="utf-8"><title>Launch link already used</title>
<h1>This launch link has already been used</h1>
<p>Each link printed by Slide Workstation opens the app once, so a copy of it (in a terminal or a browser history) cannot be used by someone else.</p>
<p>Go back to the browser tab where the app is already open. To open it in another browser, stop the app (Ctrl-C) and start it again: it prints a new link.</p>`;

/**
 * What a launch answers when the browser came from another site (the private launch file
 * `--open` hands the OS opener, a file:// page): a SameSite=Strict cookie set on a
 * cross-site navigation is not sent on its redirect, so the page navigates to `/` itself,
 * as a same-site navigation.
 */
const HANDOFF_PAGE = '<!doctype html><meta charset="utf-8"><meta http-equiv="refresh" content="0;url=/"><title>Slide Workstation</title><a href="/">Open Slide Workstation</a>';

function sameSecret(a: string | undefined, b: string): boolean {
  if (a === undefined) return false;
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

function cookieValue(header: string | undefined, name: string): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const i = part.indexOf('=');
    if (i > 0 && part.slice(0, i).trim() === name) return part.slice(i + 1).trim();
  }
  return undefined;
}

function send(res: ServerResponse, status: number, body: string, type = 'text/plain; charset=utf-8', extra: Record<string, string> = {}): void {
  res.writeHead(status, { ...SECURITY_HEADERS, 'content-type': type, 'cache-control': 'no-store', ...extra });
  res.end(body);
}

async function readBody(req: IncomingMessage): Promise<string | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY) return undefined;
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

export async function startHttpHost(options: HttpHostOptions): Promise<HttpHost> {
  const sessionSecret = randomBytes(32).toString('base64url');
  registerSecret(sessionSecret);
  /** Launch secrets not used yet, with what to do once one is. */
  const launches = new Map<string, (() => void) | undefined>();
  /** Used ones, to tell "already used" from "never valid". */
  const usedLaunches = new Set<string>();
  const mintLaunch = (onUsed?: () => void): string => {
    const secret = randomBytes(32).toString('base64url');
    registerSecret(secret);
    launches.set(secret, onUsed);
    return secret;
  };
  const launchSecret = mintLaunch();
  const streams = new Set<ServerResponse>();
  let port = 0;
  let cookieName = '';

  const server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      log.error('request failed', { path: req.url?.split('?')[0], err });
      if (!res.headersSent) send(res, 500, 'Internal error');
      else res.destroy();
    });
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const origin = `http://127.0.0.1:${port}`;
    if (req.headers.host !== `127.0.0.1:${port}`) {
      send(res, 403, 'Refused: this local service answers only http://127.0.0.1:' + port);
      return;
    }
    const requestOrigin = req.headers.origin;
    if (requestOrigin !== undefined && requestOrigin !== origin) {
      send(res, 403, 'Refused: cross-origin request');
      return;
    }
    const url = new URL(req.url ?? '/', origin);
    const launch = url.searchParams.get('launch');
    if (launch !== null) {
      const secret = req.method === 'GET' ? [...launches.keys()].find((s) => sameSecret(launch, s)) : undefined;
      if (secret === undefined) {
        const hasSession = sameSecret(cookieValue(req.headers.cookie, cookieName), sessionSecret);
        if (req.method === 'GET' && hasSession) {
          res.writeHead(302, { ...SECURITY_HEADERS, location: '/', 'cache-control': 'no-store' });
          res.end();
        } else if (req.method === 'GET' && [...usedLaunches].some((s) => sameSecret(launch, s))) {
          send(res, 410, USED_LINK_PAGE, 'text/html; charset=utf-8');
        } else {
          send(res, 403, 'This launch link is not valid for this run of the app. Use the link printed when it started.');
        }
        return;
      }
      const onUsed = launches.get(secret);
      launches.delete(secret);
      usedLaunches.add(secret);
      onUsed?.();
      const cookie = `${cookieName}=${sessionSecret}; Path=/; HttpOnly; SameSite=Strict`;
      if (req.headers['sec-fetch-site'] === 'cross-site') {
        send(res, 200, HANDOFF_PAGE, 'text/html; charset=utf-8', { 'set-cookie': cookie });
      } else {
        res.writeHead(302, { ...SECURITY_HEADERS, location: '/', 'cache-control': 'no-store', 'set-cookie': cookie });
        res.end();
      }
      return;
    }
    if (!sameSecret(cookieValue(req.headers.cookie, cookieName), sessionSecret)) {
      send(res, 403, 'Refused: open the app with the launch link printed when it started.');
      return;
    }
    if (url.pathname === '/api/events') {
      if (req.method !== 'GET') return send(res, 405, 'Method not allowed');
      return openEventStream(req, res);
    }
    if (url.pathname.startsWith('/api/')) {
      if (req.method !== 'POST') return send(res, 405, 'Method not allowed', undefined, { allow: 'POST' });
      if (!(req.headers['content-type'] ?? '').startsWith('application/json')) return send(res, 415, 'API calls must be JSON');
      const text = await readBody(req);
      if (text === undefined) return send(res, 413, 'Request too large');
      let params: unknown;
      try {
        params = text === '' ? undefined : (JSON.parse(text) as { params?: unknown }).params;
      } catch {
        return send(res, 400, 'Malformed JSON');
      }
      const reply = await dispatch(options.handlers, decodeURIComponent(url.pathname.slice('/api/'.length)), params);
      return send(res, 200, JSON.stringify(reply), 'application/json');
    }
    return forward(req, res, url);
  }

  function openEventStream(req: IncomingMessage, res: ServerResponse): void {
    res.writeHead(200, { ...SECURITY_HEADERS, 'content-type': 'text/event-stream', 'cache-control': 'no-store', connection: 'keep-alive' });
    res.write('retry: 2000\n: connected\n\n');
    streams.add(res);
    const off = options.events.onAny((event, payload) => {
      res.write(`event: ${event}\ndata: ${JSON.stringify(payload)}\n\n`);
    });
    const ping = setInterval(() => res.write(': ping\n\n'), PING_MS);
    ping.unref();
    req.on('close', () => {
      off();
      clearInterval(ping);
      streams.delete(res);
    });
  }

  async function forward(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    // A browser that stops wanting a tile closes the request: pass that on as an abort.
    const abort = new AbortController();
    res.on('close', () => {
      if (!res.writableFinished) abort.abort();
    });
    const headers = new Headers();
    for (const [k, v] of Object.entries(req.headers)) if (typeof v === 'string') headers.set(k, v);
    const response = await options.app(new Request(url, { method: req.method ?? 'GET', headers, signal: abort.signal }));
    const out: Record<string, string> = {};
    response.headers.forEach((v, k) => (out[k] = v));
    res.writeHead(response.status, out);
    if (!response.body || req.method === 'HEAD') {
      res.end();
      return;
    }
    Readable.fromWeb(response.body as NodeReadableStream<Uint8Array>)
      .on('error', () => res.destroy())
      .pipe(res);
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  port = (server.address() as AddressInfo).port;
  // Cookies are not port-scoped: two hosts on 127.0.0.1 must not overwrite each other's.
  cookieName = `wsi_session_${port}`;
  const origin = `http://127.0.0.1:${port}`;
  log.info('headless host listening', { origin });
  return {
    port,
    origin,
    launchUrl: `${origin}/?launch=${launchSecret}`,
    newLaunchUrl: (onUsed) => `${origin}/?launch=${mintLaunch(onUsed)}`,
    close: async () => {
      for (const res of streams) res.end();
      streams.clear();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
