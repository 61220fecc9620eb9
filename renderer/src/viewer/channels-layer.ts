/**
 * The fluorescence layer: an OpenSeadragon tile source whose tiles are the raw planes of
 * every channel (fetched as bytes, so 16-bit samples stay 16-bit), composited into RGB in
 * the browser with the current display settings.
 *
 * OSD 6's data model does the bookkeeping. A tile's original data is a `TilePlanes`
 * object (a data type of our own); the 'tile-invalidated' handler composites it into a
 * canvas, which becomes the tile's working data, and leaves the planes in place. A change
 * of settings asks OSD to invalidate every loaded tile: the handler runs again from the
 * kept planes, so nothing is fetched twice.
 *
 * Loads are cancellable: each tile's plane fetches share an AbortController that OSD's
 * abort (timeout, queue clear) and the viewer's destruction fire; the tile route passes
 * the request's signal on to the range scheduler.
 */
import OpenSeadragon from 'openseadragon';
import type { OpenedSlide } from '../../../main/api/contract.js';
import { autoWindow, composite, defaultDisplay, parseRawHeader, planeFromRaw, planeFromRgba, type ChannelDisplay, type ChannelPlane, type TilePlanes } from './channels';
import { createTileSource, descriptorLevel, tileUrl } from './tile-source';

/** OSD data type name of a tile's raw planes. */
const PLANES_TYPE = 'wsi-channel-planes';

let typeLearned = false;
function learnPlanesType(): void {
  if (typeLearned) return;
  typeLearned = true;
  // OSD copies a tile's original data before handing it to 'tile-invalidated'; the planes
  // are never written after they arrive, so the copy may share them.
  OpenSeadragon.converter.learn(PLANES_TYPE, PLANES_TYPE, (_tile: unknown, planes: TilePlanes) => planes, 0, 1);
}

export interface ChannelLayer {
  /** The tile source to open in the viewer. */
  readonly tileSource: OpenSeadragon.TileSource;
  /** Hook into the viewer (compositing handler); returns the detach function. */
  attach(viewer: OpenSeadragon.Viewer): () => void;
  display(): ChannelDisplay[];
  /** Show with new settings; resolves once every loaded tile is composited again. */
  setDisplay(display: ChannelDisplay[]): Promise<void>;
  /**
   * Contrast windows from the samples of the tiles on screen (undefined: no samples yet):
   * the `low` and `high` quantiles; 0 and 1 give the range of the data seen.
   */
  autoWindows(low?: number, high?: number): ({ min: number; max: number } | undefined)[];
  /** Resolves when the first view is fully loaded (for the initial automatic contrast). */
  firstLoad(): Promise<void>;
}

type Job = OpenSeadragon.ImageJob & { userData: { abort?: AbortController } };

export function createChannelLayer(slide: OpenedSlide): ChannelLayer {
  learnPlanesType();
  const channels = slide.summary.channels;
  let current = defaultDisplay(channels);
  let viewer: OpenSeadragon.Viewer | undefined;
  const inflight = new Set<AbortController>();
  // The planes behind each tile OSD holds, for the automatic contrast (weak: OSD decides their life).
  const planesOf = new WeakMap<object, TilePlanes>();
  let scratch = new Float32Array(0);
  let resolveFirstLoad: () => void = () => undefined;
  const firstLoad = new Promise<void>((resolve) => (resolveFirstLoad = resolve));

  const source = createTileSource(slide);
  const base = slide.summary.levels;

  const planeUrl = (level: number, col: number, row: number, plane: number): string => {
    const url = new URL(tileUrl(slide, level, col, row), window.location.href);
    url.searchParams.set('plane', String(plane));
    url.searchParams.set('format', 'raw');
    return url.pathname + url.search;
  };

  // The methods below are OSD's own names (tile source overrides); the typings cover them.
  Object.assign(source, {
    hasTransparency: () => false,
    downloadTileStart(job: Job): void {
      const tile = job.tile;
      const level = descriptorLevel(slide, tile.level);
      const l = base[level];
      if (!l) {
        job.fail(`There is no level ${level} in this slide.`, null);
        return;
      }
      const abort = new AbortController();
      job.userData.abort = abort;
      inflight.add(abort);
      const fetches = channels.map((_, p) => fetchPlane(planeUrl(level, tile.x, tile.y, p), abort.signal));
      Promise.all(fetches)
        .then((planes) => {
          const first = planes.find((p): p is ChannelPlane => p !== null);
          const width = first?.width ?? l.tileWidth;
          const height = first?.height ?? l.tileHeight;
          const odd = planes.findIndex((p) => p && (p.width !== width || p.height !== height));
          if (odd >= 0) throw new Error(`Channel ${odd} of tile ${tile.x},${tile.y} is ${planes[odd]!.width}×${planes[odd]!.height}, channel 0 is ${width}×${height}.`);
          const data: TilePlanes = {
            width,
            height,
            validWidth: Math.min(width, l.width - tile.x * l.tileWidth),
            validHeight: Math.min(height, l.height - tile.y * l.tileHeight),
            planes,
          };
          job.finish(data, null, PLANES_TYPE);
        })
        .catch((err: unknown) => {
          // After an abort OSD has already failed the job itself.
          if (!abort.signal.aborted) job.fail(err instanceof Error ? err.message : String(err), null);
        })
        .finally(() => inflight.delete(abort));
    },
    downloadTileAbort(job: Job): void {
      job.userData.abort?.abort();
    },
    destroy(): void {
      for (const a of inflight) a.abort();
      inflight.clear();
    },
  });

  const render = (planes: TilePlanes): CanvasRenderingContext2D => {
    const canvas = document.createElement('canvas');
    canvas.width = planes.width;
    canvas.height = planes.height;
    const ctx = canvas.getContext('2d');
    if (!ctx) throw new Error('The browser gave no 2D canvas to draw the tile on.');
    const image = ctx.createImageData(planes.width, planes.height);
    const n = planes.width * planes.height * 3;
    if (scratch.length < n) scratch = new Float32Array(n);
    composite(planes, current, image.data, scratch);
    ctx.putImageData(image, 0, 0);
    return ctx;
  };

  const onInvalidated = async (e: OpenSeadragon.TileInvalidatedEvent): Promise<void> => {
    if (e.tiledImage.source !== source) return;
    const planes = (await e.getData(PLANES_TYPE)) as TilePlanes | undefined;
    if (!planes || (await e.outdated())) return;
    planesOf.set(e.tile, planes);
    await e.setData(render(planes), 'context2d');
  };

  return {
    tileSource: source,
    attach(v) {
      viewer = v;
      v.addHandler('tile-invalidated', onInvalidated);
      const onOpen = (): void => {
        v.world.getItemAt(0)?.addHandler('fully-loaded-change', (e) => {
          if (e.fullyLoaded) resolveFirstLoad();
        });
      };
      v.addHandler('open', onOpen);
      return () => {
        v.removeHandler('tile-invalidated', onInvalidated);
        v.removeHandler('open', onOpen);
        for (const a of inflight) a.abort();
        inflight.clear();
        viewer = undefined;
      };
    },
    display: () => current.map((d) => ({ ...d })),
    async setDisplay(display) {
      current = display.map((d) => ({ ...d }));
      if (!viewer || !viewer.isOpen()) return;
      // Every drawer of this viewer (the navigator's too) re-runs 'tile-invalidated' from the kept planes.
      await viewer.requestInvalidate(true);
    },
    autoWindows(low, high) {
      const drawn = viewer?.world.getItemAt(0)?.getTilesToDraw() ?? [];
      const tiles = drawn.map((t) => planesOf.get(t.tile)).filter((p): p is TilePlanes => p !== undefined);
      return channels.map((_, c) => {
        const samples = tiles.flatMap((t) => {
          const plane = t.planes[c];
          return plane ? [{ plane, validWidth: t.validWidth, validHeight: t.validHeight }] : [];
        });
        return autoWindow(samples, low, high);
      });
    },
    firstLoad: () => firstLoad,
  };
}

/** One channel plane of one tile: raw samples, or an image the browser decodes (8-bit); null when the slide has none there. */
async function fetchPlane(url: string, signal: AbortSignal): Promise<ChannelPlane | null> {
  const r = await fetch(url, { signal, credentials: 'same-origin' });
  if (r.status === 204) return null;
  if (!r.ok) throw new Error(`The tile could not be loaded (${r.status}): ${(await r.text()).slice(0, 200)}`);
  const type = r.headers.get('content-type') ?? '';
  if (type.startsWith('application/octet-stream')) return planeFromRaw(await r.arrayBuffer(), parseRawHeader((name) => r.headers.get(name)));
  if (type.startsWith('image/')) {
    // Exact decoded values: no colour management, no premultiplication.
    const bitmap = await createImageBitmap(await r.blob(), { colorSpaceConversion: 'none', premultiplyAlpha: 'none' });
    try {
      const canvas = new OffscreenCanvas(bitmap.width, bitmap.height);
      const ctx = canvas.getContext('2d', { willReadFrequently: true });
      if (!ctx) throw new Error('The browser gave no 2D canvas to decode the tile on.');
      ctx.drawImage(bitmap, 0, 0);
      return planeFromRgba(ctx.getImageData(0, 0, bitmap.width, bitmap.height).data, bitmap.width, bitmap.height);
    } finally {
      bitmap.close();
    }
  }
  throw new Error(`The tile came as ${type || 'an unknown type'}, which the fluorescence view cannot read.`);
}
