/**
 * Tells main, in one call, every tile OpenSeadragon is loading right now (`slides.want`),
 * so main reads the whole view at once with merged requests instead of in rounds of as
 * many tiles as the browser has connections (see main/app/tile-hints.ts). Each hint
 * replaces the previous one: tiles OSD gave up on are cancelled in main too.
 *
 * The set is read from OSD's own tile matrix (`tile.loading`), the one source that knows
 * which tiles OSD has asked for and not yet received, whatever level it chose.
 */
import type OpenSeadragon from 'openseadragon';
import type { OpenedSlide } from '../../../main/api/contract.js';
import { api } from '../api';
import { descriptorLevel } from './tile-source';

interface OsdTile {
  level: number;
  x: number;
  y: number;
  loading: boolean;
}
/** OSD's per-level tile matrix: not in its typings, stable since OSD 2 (TiledImage.tilesMatrix). */
type TileMatrix = Record<string, Record<string, Record<string, OsdTile>>>;

export function loadingTiles(slide: OpenedSlide, item: OpenSeadragon.TiledImage): [number, number, number][] {
  const matrix = (item as unknown as { tilesMatrix?: TileMatrix }).tilesMatrix ?? {};
  const out: [number, number, number][] = [];
  for (const columns of Object.values(matrix)) {
    for (const rows of Object.values(columns)) {
      for (const tile of Object.values(rows)) if (tile.loading) out.push([descriptorLevel(slide, tile.level), tile.x, tile.y]);
    }
  }
  return out;
}

export function installTileHints(
  viewer: OpenSeadragon.Viewer,
  slide: OpenedSlide,
  send: (tiles: [number, number, number][]) => Promise<unknown> = (tiles) => api.call('slides.want', { id: slide.id, tiles }),
): () => void {
  let last = '';
  let sending = false;
  let dirty = false;
  let stopped = false;
  const flush = (): void => {
    const item = viewer.world.getItemAt(0);
    if (!item || stopped) return;
    const tiles = loadingTiles(slide, item);
    const signature = tiles.map((t) => t.join('/')).sort().join(',');
    if (signature === last) return;
    if (sending) {
      dirty = true;
      return;
    }
    last = signature;
    sending = true;
    // A hint is an optimisation: if it fails, the tiles still come through their own requests.
    void send(tiles)
      .catch(() => undefined)
      .finally(() => {
        sending = false;
        if (dirty) {
          dirty = false;
          flush();
        }
      });
  };
  // Raised after each update pass, which is when OSD starts or gives up tile loads.
  viewer.addHandler('update-viewport', flush);
  return () => {
    stopped = true;
    viewer.removeHandler('update-viewport', flush);
  };
}
