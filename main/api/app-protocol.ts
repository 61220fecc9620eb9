/**
 * The one `(Request) => Promise<Response>` handler behind both hosts' URLs: the renderer
 * bundle and the tile routes. Electron's `protocol.handle('wsi', …)` calls it for
 * `wsi://app/…`; the headless host calls it for `http://127.0.0.1:<port>/…` after its
 * own cookie/Host checks. It answers only known routes, normalises paths and never
 * serves anything outside the bundle folder.
 */
import { readFile, stat } from 'node:fs/promises';
import { extname, join, resolve, sep } from 'node:path';
import { SECURITY_HEADERS } from './security.js';

export type RequestHandler = (request: Request) => Promise<Response>;

export interface AppProtocolOptions {
  /** The built renderer (dist/renderer). */
  rendererDir: string;
  /** Tile routes (/tiles/…), answered by the tile service once it exists. */
  tiles?: RequestHandler;
}

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
  '.map': 'application/json',
  '.txt': 'text/plain; charset=utf-8',
};

export function textResponse(status: number, text: string, extra: Record<string, string> = {}): Response {
  return new Response(text, { status, headers: { ...SECURITY_HEADERS, 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store', ...extra } });
}

export function createAppRequestHandler(options: AppProtocolOptions): RequestHandler {
  const root = resolve(options.rendererDir);
  return async (request) => {
    if (request.method !== 'GET' && request.method !== 'HEAD') return textResponse(405, 'Method not allowed', { allow: 'GET, HEAD' });
    let pathname: string;
    try {
      pathname = decodeURIComponent(new URL(request.url).pathname);
    } catch {
      return textResponse(400, 'Bad path');
    }
    if (pathname.includes('\0') || pathname.split('/').some((p) => p === '..')) return textResponse(400, 'Bad path');
    if (pathname.startsWith('/tiles/')) {
      return options.tiles ? options.tiles(request) : textResponse(404, 'Tiles are not available in this version.');
    }
    // Client-side routes (no extension) get the app shell; assets must exist.
    const relative = pathname === '/' || extname(pathname) === '' ? 'index.html' : pathname.slice(1);
    const file = resolve(join(root, relative));
    if (file !== root && !file.startsWith(root + sep)) return textResponse(400, 'Bad path');
    const type = TYPES[extname(file)];
    if (!type) return textResponse(404, 'Not found');
    try {
      const info = await stat(file);
      if (!info.isFile()) return textResponse(404, 'Not found');
      const body = request.method === 'HEAD' ? null : await readFile(file);
      return new Response(body, {
        status: 200,
        headers: {
          ...SECURITY_HEADERS,
          'content-type': type,
          // Hashed assets never change; the shell is re-read so a rebuild shows at once.
          'cache-control': relative.startsWith('assets/') ? 'public, max-age=31536000, immutable' : 'no-cache',
        },
      });
    } catch {
      if (relative === 'index.html') {
        return textResponse(503, 'The user interface has not been built. Run `npm run build:renderer` (npm start does this for you).');
      }
      return textResponse(404, 'Not found');
    }
  };
}
