/** Geometry checks and bounds (level-0 pixels, y down), shared by edits and GeoJSON import. */
import type { AnnotationGeometry, AnnotationPosition } from '../common/api-types.js';

/** Far beyond any slide (≈ 10 m at 0.25 µm/px), small enough to stay exact in a double. */
const LIMIT = 4e7;

/** Returns the geometry as stored, or the reason it is malformed. */
export function checkGeometry(v: unknown): AnnotationGeometry | string {
  if (typeof v !== 'object' || v === null) return 'geometry is missing';
  const g = v as { type?: unknown; coordinates?: unknown };
  const c = g.coordinates;
  switch (g.type) {
    case 'Point':
      return isPos(c) ? { type: 'Point', coordinates: c } : 'a Point needs [x, y]';
    case 'MultiPoint':
      return isPosList(c, 1) ? { type: 'MultiPoint', coordinates: c } : 'a MultiPoint needs a list of [x, y]';
    case 'LineString':
      return isPosList(c, 2) ? { type: 'LineString', coordinates: c } : 'a LineString needs at least two [x, y]';
    case 'Polygon':
      return isRings(c) ? { type: 'Polygon', coordinates: c } : 'a Polygon needs closed rings of at least four [x, y]';
    case 'MultiPolygon':
      return Array.isArray(c) && c.length > 0 && c.every(isRings)
        ? { type: 'MultiPolygon', coordinates: c as AnnotationPosition[][][] }
        : 'a MultiPolygon needs polygons of closed rings';
    default:
      return `geometry type ${JSON.stringify(g.type)} is not one of Point, MultiPoint, LineString, Polygon, MultiPolygon`;
  }
}

function isPos(v: unknown): v is AnnotationPosition {
  return Array.isArray(v) && v.length >= 2 && v.length <= 3 && v.every((x) => typeof x === 'number' && Number.isFinite(x) && Math.abs(x) <= LIMIT);
}
function isPosList(v: unknown, min: number): v is AnnotationPosition[] {
  return Array.isArray(v) && v.length >= min && v.every(isPos);
}
function isRings(v: unknown): v is AnnotationPosition[][] {
  if (!Array.isArray(v) || v.length === 0) return false;
  return v.every((ring) => {
    if (!isPosList(ring, 4)) return false;
    const a = ring[0]!;
    const b = ring[ring.length - 1]!;
    return a[0] === b[0] && a[1] === b[1];
  });
}

export interface Bounds {
  minX: number;
  minY: number;
  maxX: number;
  maxY: number;
}

export function bounds(g: AnnotationGeometry): Bounds {
  const b = { minX: Infinity, minY: Infinity, maxX: -Infinity, maxY: -Infinity };
  const add = (p: AnnotationPosition): void => {
    if (p[0] < b.minX) b.minX = p[0];
    if (p[0] > b.maxX) b.maxX = p[0];
    if (p[1] < b.minY) b.minY = p[1];
    if (p[1] > b.maxY) b.maxY = p[1];
  };
  switch (g.type) {
    case 'Point':
      add(g.coordinates);
      break;
    case 'MultiPoint':
    case 'LineString':
      g.coordinates.forEach(add);
      break;
    case 'Polygon':
      g.coordinates.forEach((r) => r.forEach(add));
      break;
    case 'MultiPolygon':
      g.coordinates.forEach((p) => p.forEach((r) => r.forEach(add)));
      break;
  }
  return b;
}
