/**
 * The shared work done once after a format's `open`, as OpenSlide's core does: check the
 * levels a vendor returned (sizes, order, tile grid), compute exact downsamples, and
 * write the standard `openslide.*` properties. Vendors never repeat this.
 */
import { checkTileGeometry } from './bounds.js';
import { corrupt } from './errors.js';
import type { SlideDescriptor, SlideLevel } from './types.js';

export interface LevelGeometry {
  width: number;
  height: number;
  tileWidth: number;
  tileHeight: number;
}

/** Largest dimension accepted for a level or a tile: beyond this a header is lying. */
const MAX_DIMENSION = 2 ** 31 - 1;
const MAX_TILE_DIMENSION = 1 << 16;

export function buildLevels(geoms: readonly LevelGeometry[]): SlideLevel[] {
  if (geoms.length === 0) throw corrupt('the slide has no pyramid level', undefined);
  const level0 = geoms[0]!;
  return geoms.map((g, i) => {
    if (!ok(g.width, MAX_DIMENSION) || !ok(g.height, MAX_DIMENSION)) throw corrupt(`level ${i} has an impossible size ${g.width}×${g.height}`, undefined);
    if (!ok(g.tileWidth, MAX_TILE_DIMENSION) || !ok(g.tileHeight, MAX_TILE_DIMENSION)) {
      throw corrupt(`level ${i} has an impossible tile size ${g.tileWidth}×${g.tileHeight}`, undefined);
    }
    // Every format passes here (DICOM Rows/Columns, CZI and NDPI tile grids), so the bound holds at open.
    checkTileGeometry(g.tileWidth, g.tileHeight, `level ${i}`);
    if (i > 0 && g.width > geoms[i - 1]!.width) throw corrupt(`level ${i} is larger than level ${i - 1}`, undefined);
    return {
      width: g.width,
      height: g.height,
      tileWidth: g.tileWidth,
      tileHeight: g.tileHeight,
      columns: Math.ceil(g.width / g.tileWidth),
      rows: Math.ceil(g.height / g.tileHeight),
      downsample: level0.width / g.width,
    };
  });
}

function ok(n: number, max: number): boolean {
  return Number.isSafeInteger(n) && n > 0 && n <= max;
}

/** Sort geometry candidates largest first and drop duplicates of the same size. */
export function sortLevels<T extends LevelGeometry>(levels: T[]): T[] {
  const sorted = [...levels].sort((a, b) => b.width * b.height - a.width * a.height);
  return sorted.filter((l, i) => i === 0 || l.width !== sorted[i - 1]!.width || l.height !== sorted[i - 1]!.height);
}

export function finalizeDescriptor(d: SlideDescriptor): SlideDescriptor {
  const p = d.properties;
  p['openslide.vendor'] ??= d.vendor ?? d.format;
  p['openslide.level-count'] = String(d.levels.length);
  d.levels.forEach((l, i) => {
    p[`openslide.level[${i}].width`] = String(l.width);
    p[`openslide.level[${i}].height`] = String(l.height);
    p[`openslide.level[${i}].downsample`] = String(l.downsample);
    p[`openslide.level[${i}].tile-width`] = String(l.tileWidth);
    p[`openslide.level[${i}].tile-height`] = String(l.tileHeight);
  });
  if (d.mpp && !(d.mpp.x > 0 && d.mpp.y > 0 && Number.isFinite(d.mpp.x) && Number.isFinite(d.mpp.y))) d.mpp = undefined;
  if (d.mpp) {
    p['openslide.mpp-x'] = String(d.mpp.x);
    p['openslide.mpp-y'] = String(d.mpp.y);
  }
  if (d.objectivePower !== undefined && !(d.objectivePower > 0 && Number.isFinite(d.objectivePower))) d.objectivePower = undefined;
  if (d.objectivePower !== undefined) p['openslide.objective-power'] = String(d.objectivePower);
  return d;
}
