/**
 * The peer in the benchmark: geotiff.js reading the same object through the same shaped
 * link with its defaults (`fromUrl(url)`), doing what a viewer built on it would do:
 * open the file and learn the pyramid, then read the first viewport's window at full
 * resolution. Requests and bytes come from the shaper's meter, as for the engine.
 */
import { fromUrl } from 'geotiff';
import type { LinkShaper } from './shaper.js';

export interface Measured {
  requests: number;
  bytes: number;
  ms: number;
}

export interface Viewport {
  x: number;
  y: number;
  width: number;
  height: number;
}

export async function measurePeer(shaper: LinkShaper, url: string, viewport: Viewport): Promise<{ open: Measured; firstViewport: Measured; levels: number }> {
  shaper.resetCounters();
  let t0 = performance.now();
  const tiff = await fromUrl(url);
  // A viewer needs every level's size before it can show anything.
  const levels = await tiff.getImageCount();
  const images = [];
  for (let i = 0; i < levels; i++) images.push(await tiff.getImage(i));
  const openMs = performance.now() - t0;
  const openCounters = shaper.resetCounters();

  t0 = performance.now();
  const full = images[0]!;
  await full.readRasters({ window: [viewport.x, viewport.y, viewport.x + viewport.width, viewport.y + viewport.height] });
  const viewMs = performance.now() - t0;
  const viewCounters = shaper.resetCounters();
  tiff.close?.();
  return {
    open: { requests: openCounters.requests, bytes: openCounters.bytesDown, ms: Math.round(openMs) },
    firstViewport: { requests: viewCounters.requests, bytes: viewCounters.bytesDown, ms: Math.round(viewMs) },
    levels,
  };
}
