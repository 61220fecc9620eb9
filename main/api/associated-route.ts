/**
 * `/tiles/<slideId>/associated/<name>`: the label, macro or thumbnail image of an open
 * slide, through the TileService (cached with the slide, so a pinned slide's label shows
 * offline). JPEG, PNG and WebP images go out as stored; anything else (Aperio's LZW label, raw DICOM
 * frames) is decoded in main and sent as PNG, which every browser draws.
 */
import type { AssociatedImageName } from '../formats/types.js';
import { decodeTileToRgba } from '../formats/codecs/decode.js';
import { encodePng } from '../tiles/region.js';
import type { SlideHandle, TileService } from '../tiles/service.js';
import { textResponse, type RequestHandler } from './app-protocol.js';
import { SECURITY_HEADERS } from './security.js';
import { errorResponse } from './tile-route.js';

const ROUTE = /^\/tiles\/([0-9a-f]{32})\/associated\/(label|macro|thumbnail|overview|map)$/;

export function isAssociatedPath(pathname: string): boolean {
  return /^\/tiles\/[0-9a-f]{32}\/associated\//.test(pathname);
}

export function createAssociatedRoute(o: { tiles: TileService; slide(id: string): SlideHandle | undefined }): RequestHandler {
  return async (request) => {
    const m = ROUTE.exec(new URL(request.url).pathname);
    if (!m) return textResponse(404, 'No such image.');
    const handle = o.slide(m[1]!);
    if (!handle) return textResponse(404, 'This slide is not open (it was closed, or you signed out).');
    const name = m[2] as AssociatedImageName;
    try {
      const image = await o.tiles.getAssociated(handle, name, { signal: request.signal });
      const kind = image.encoding.kind;
      const stored = kind === 'jpeg' || kind === 'png' || kind === 'webp';
      const body = stored ? image.bytes : await encodePng(await decodeTileToRgba(image));
      const type = stored ? `image/${kind}` : 'image/png';
      const headers = { ...SECURITY_HEADERS, 'cache-control': 'private, max-age=3600', 'content-type': type, 'content-length': String(body.length) };
      return new Response(request.method === 'HEAD' ? null : body, { status: 200, headers });
    } catch (err) {
      return errorResponse(err, request.signal);
    }
  };
}
