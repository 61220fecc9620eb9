/**
 * An OpenSeadragon tile source over one opened slide. OSD numbers levels from the smallest
 * (0) to full resolution (maxLevel) and assumes each level is ceil(W / 2^k) wide with one
 * tile size; slide pyramids do not (vips and dicomizer floor the sizes, Aperio steps by 4,
 * DICOM tile sizes may differ per level). So every OSD level is one descriptor level,
 * with its own scale (its real width over level 0's), tile grid and tile size.
 */
import OpenSeadragon from 'openseadragon';
import type { OpenedSlide, SlideLevelSummary } from '../../../main/api/contract.js';

/** OSD level (0 = smallest) → descriptor level (0 = full resolution). */
export function descriptorLevel(slide: OpenedSlide, osdLevel: number): number {
  return slide.summary.levels.length - 1 - osdLevel;
}

export function tileUrl(slide: OpenedSlide, level: number, col: number, row: number, plane?: number): string {
  const url = slide.tileUrlTemplate.replace('{level}', String(level)).replace('{col}', String(col)).replace('{row}', String(row));
  return plane ? `${url}?plane=${plane}` : url;
}

export function createTileSource(slide: OpenedSlide): OpenSeadragon.TileSource {
  const levels = slide.summary.levels;
  const base = levels[0]!;
  const n = levels.length;
  const level = (osdLevel: number): SlideLevelSummary => levels[descriptorLevel(slide, osdLevel)] ?? base;
  // OSD copies these options onto the instance (deep extend), so they replace the
  // prototype's power-of-two assumptions.
  const options = {
    width: base.width,
    height: base.height,
    tileWidth: base.tileWidth,
    tileHeight: base.tileHeight,
    tileOverlap: 0,
    minLevel: 0,
    maxLevel: n - 1,
    getLevelScale: (osdLevel: number): number => level(osdLevel).width / base.width,
    getNumTiles: (osdLevel: number): OpenSeadragon.Point => new OpenSeadragon.Point(level(osdLevel).columns, level(osdLevel).rows),
    getTileWidth: (osdLevel: number): number => level(osdLevel).tileWidth,
    getTileHeight: (osdLevel: number): number => level(osdLevel).tileHeight,
    getTileUrl: (osdLevel: number, x: number, y: number): string => tileUrl(slide, descriptorLevel(slide, osdLevel), x, y),
  };
  // The typings describe only the documented options; the methods above are OSD's own names.
  return new OpenSeadragon.TileSource(options as unknown as OpenSeadragon.TileSourceOptions);
}
