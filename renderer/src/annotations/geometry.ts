/**
 * Plane geometry of annotation objects in level-0 pixels (x right, y down): the shapes
 * the tools make, their bounds for the spatial index, lengths and areas in µm / µm²,
 * hit tests and vertex edits. Pure functions, no DOM, so they are unit-tested under Node.
 */
import type { AnnotationGeometry, AnnotationPosition } from '../../../main/api/contract.js';

export interface Box {
  minX: number;
  minY: number;
  maxX: number;
  maxY: number;
}

/** Microns per level-0 pixel, or undefined when the slide does not give its pixel size. */
export interface PixelSize {
  x: number;
  y: number;
}

const close = (ring: AnnotationPosition[]): AnnotationPosition[] => {
  const first = ring[0];
  const last = ring[ring.length - 1];
  if (!first || !last) return ring;
  return first[0] === last[0] && first[1] === last[1] ? ring : [...ring, [first[0], first[1]]];
};

export function polygon(points: AnnotationPosition[]): AnnotationGeometry {
  return { type: 'Polygon', coordinates: [close(points)] };
}

/** The axis-aligned rectangle between two corners (level-0 axes, so it stays upright in the slide when the pane is turned). */
export function rectangle(a: AnnotationPosition, b: AnnotationPosition): AnnotationGeometry {
  const [x0, x1] = [Math.min(a[0], b[0]), Math.max(a[0], b[0])];
  const [y0, y1] = [Math.min(a[1], b[1]), Math.max(a[1], b[1])];
  return polygon([
    [x0, y0],
    [x1, y0],
    [x1, y1],
    [x0, y1],
  ]);
}

/** Vertices per ellipse: smooth at any screen size a drawn ellipse takes (under 0.1 % radial error). */
export const ELLIPSE_VERTICES = 72;

/** The ellipse inscribed in the box between two corners, as a polygon (QuPath stores ellipses as polygons too). */
export function ellipse(a: AnnotationPosition, b: AnnotationPosition): AnnotationGeometry {
  const cx = (a[0] + b[0]) / 2;
  const cy = (a[1] + b[1]) / 2;
  const rx = Math.abs(b[0] - a[0]) / 2;
  const ry = Math.abs(b[1] - a[1]) / 2;
  const pts: AnnotationPosition[] = [];
  for (let i = 0; i < ELLIPSE_VERTICES; i++) {
    const t = (2 * Math.PI * i) / ELLIPSE_VERTICES;
    pts.push([cx + rx * Math.cos(t), cy + ry * Math.sin(t)]);
  }
  return polygon(pts);
}

/** Every position of a geometry (rings' closing repeats included). */
export function positions(g: AnnotationGeometry): AnnotationPosition[] {
  switch (g.type) {
    case 'Point':
      return [g.coordinates];
    case 'MultiPoint':
    case 'LineString':
      return g.coordinates;
    case 'Polygon':
      return g.coordinates.flat();
    case 'MultiPolygon':
      return g.coordinates.flat(2);
  }
}

export function bounds(g: AnnotationGeometry): Box {
  let minX = Infinity;
  let minY = Infinity;
  let maxX = -Infinity;
  let maxY = -Infinity;
  for (const [x, y] of positions(g)) {
    if (x < minX) minX = x;
    if (y < minY) minY = y;
    if (x > maxX) maxX = x;
    if (y > maxY) maxY = y;
  }
  return { minX, minY, maxX, maxY };
}

/** Shoelace area of one ring in (scaled) pixel units, positive whatever its winding. */
function ringArea(ring: AnnotationPosition[], sx: number, sy: number): number {
  let s = 0;
  for (let i = 0; i + 1 < ring.length; i++) {
    const a = ring[i]!;
    const b = ring[i + 1]!;
    s += a[0] * sx * (b[1] * sy) - b[0] * sx * (a[1] * sy);
  }
  return Math.abs(s) / 2;
}

/** Area in µm² when `mpp` is given, else in level-0 pixels²; holes are subtracted. Zero for points and lines. */
export function area(g: AnnotationGeometry, mpp?: PixelSize): number {
  const sx = mpp?.x ?? 1;
  const sy = mpp?.y ?? 1;
  const poly = (rings: AnnotationPosition[][]): number => rings.reduce((s, r, i) => (i === 0 ? s + ringArea(r, sx, sy) : s - ringArea(r, sx, sy)), 0);
  if (g.type === 'Polygon') return poly(g.coordinates);
  if (g.type === 'MultiPolygon') return g.coordinates.reduce((s, p) => s + poly(p), 0);
  return 0;
}

function pathLength(pts: AnnotationPosition[], sx: number, sy: number): number {
  let s = 0;
  for (let i = 0; i + 1 < pts.length; i++) s += Math.hypot((pts[i + 1]![0] - pts[i]![0]) * sx, (pts[i + 1]![1] - pts[i]![1]) * sy);
  return s;
}

/** A line's length, or a polygon's perimeter (outer rings), in µm when `mpp` is given. */
export function length(g: AnnotationGeometry, mpp?: PixelSize): number {
  const sx = mpp?.x ?? 1;
  const sy = mpp?.y ?? 1;
  if (g.type === 'LineString') return pathLength(g.coordinates, sx, sy);
  if (g.type === 'Polygon') return pathLength(g.coordinates[0] ?? [], sx, sy);
  if (g.type === 'MultiPolygon') return g.coordinates.reduce((s, p) => s + pathLength(p[0] ?? [], sx, sy), 0);
  return 0;
}

/** The measurements an object carries, named as QuPath names them. */
export function measure(g: AnnotationGeometry, mpp?: PixelSize): Record<string, number> {
  const unit = mpp ? 'µm' : 'px';
  if (g.type === 'LineString') return { [`Length ${unit}`]: length(g, mpp) };
  if (g.type === 'Polygon' || g.type === 'MultiPolygon') return { [`Area ${unit}^2`]: area(g, mpp), [`Perimeter ${unit}`]: length(g, mpp) };
  return {};
}

/** Words for a length: µm below a millimetre, mm above; pixels when the slide has no pixel size. */
export function formatLength(value: number, mpp?: PixelSize): string {
  if (!mpp) return `${value.toFixed(0)} px`;
  return value >= 1000 ? `${(value / 1000).toFixed(2)} mm` : `${value.toFixed(value < 10 ? 2 : 1)} µm`;
}

export function formatArea(value: number, mpp?: PixelSize): string {
  if (!mpp) return `${Math.round(value).toLocaleString('en')} px²`;
  return value >= 1e6 ? `${(value / 1e6).toFixed(3)} mm²` : `${Math.round(value).toLocaleString('en')} µm²`;
}

function inRing(x: number, y: number, ring: AnnotationPosition[]): boolean {
  let inside = false;
  for (let i = 0, j = ring.length - 1; i < ring.length; j = i++) {
    const [xi, yi] = ring[i]!;
    const [xj, yj] = ring[j]!;
    if (yi > y !== yj > y && x < ((xj - xi) * (y - yi)) / (yj - yi) + xi) inside = !inside;
  }
  return inside;
}

function segmentDistance(p: AnnotationPosition, a: AnnotationPosition, b: AnnotationPosition): number {
  const dx = b[0] - a[0];
  const dy = b[1] - a[1];
  const len2 = dx * dx + dy * dy;
  const t = len2 ? Math.max(0, Math.min(1, ((p[0] - a[0]) * dx + (p[1] - a[1]) * dy) / len2)) : 0;
  return Math.hypot(p[0] - (a[0] + t * dx), p[1] - (a[1] + t * dy));
}

/** Whether level-0 point `p` hits the geometry: inside a polygon (not in a hole), or within `tolerance` of a point or line. */
export function hits(g: AnnotationGeometry, p: AnnotationPosition, tolerance: number): boolean {
  const nearPath = (pts: AnnotationPosition[]): boolean => pts.some((a, i) => i + 1 < pts.length && segmentDistance(p, a, pts[i + 1]!) <= tolerance);
  const inPoly = (rings: AnnotationPosition[][]): boolean => rings.length > 0 && inRing(p[0], p[1], rings[0]!) && !rings.slice(1).some((h) => inRing(p[0], p[1], h));
  switch (g.type) {
    case 'Point':
      return Math.hypot(p[0] - g.coordinates[0], p[1] - g.coordinates[1]) <= tolerance;
    case 'MultiPoint':
      return g.coordinates.some((c) => Math.hypot(p[0] - c[0], p[1] - c[1]) <= tolerance);
    case 'LineString':
      return nearPath(g.coordinates);
    case 'Polygon':
      return inPoly(g.coordinates) || g.coordinates.some(nearPath);
    case 'MultiPolygon':
      return g.coordinates.some((rings) => inPoly(rings) || rings.some(nearPath));
  }
}

export function translate(g: AnnotationGeometry, dx: number, dy: number): AnnotationGeometry {
  const m = (c: AnnotationPosition): AnnotationPosition => [c[0] + dx, c[1] + dy];
  switch (g.type) {
    case 'Point':
      return { type: 'Point', coordinates: m(g.coordinates) };
    case 'MultiPoint':
      return { type: 'MultiPoint', coordinates: g.coordinates.map(m) };
    case 'LineString':
      return { type: 'LineString', coordinates: g.coordinates.map(m) };
    case 'Polygon':
      return { type: 'Polygon', coordinates: g.coordinates.map((r) => r.map(m)) };
    case 'MultiPolygon':
      return { type: 'MultiPolygon', coordinates: g.coordinates.map((p) => p.map((r) => r.map(m))) };
  }
}

/** The editable vertices of a line or a polygon's outer ring (the closing repeat left out). */
export function vertices(g: AnnotationGeometry): AnnotationPosition[] {
  if (g.type === 'LineString') return g.coordinates;
  if (g.type === 'Polygon') return (g.coordinates[0] ?? []).slice(0, -1);
  return [];
}

/** The geometry with its editable vertices replaced (holes kept). */
export function withVertices(g: AnnotationGeometry, pts: AnnotationPosition[]): AnnotationGeometry {
  if (g.type === 'LineString') return { type: 'LineString', coordinates: pts };
  if (g.type === 'Polygon') return { type: 'Polygon', coordinates: [close(pts), ...g.coordinates.slice(1)] };
  return g;
}

/** Index of the vertex within `tolerance` of `p`, or -1. */
export function nearestVertex(g: AnnotationGeometry, p: AnnotationPosition, tolerance: number): number {
  let best = -1;
  let bestD = tolerance;
  vertices(g).forEach((v, i) => {
    const d = Math.hypot(v[0] - p[0], v[1] - p[1]);
    if (d <= bestD) {
      best = i;
      bestD = d;
    }
  });
  return best;
}

/** Inserts `p` into the edge nearest to it (within `tolerance`); undefined when no edge is that near. */
export function insertVertex(g: AnnotationGeometry, p: AnnotationPosition, tolerance: number): AnnotationGeometry | undefined {
  const pts = vertices(g);
  const ring = g.type === 'Polygon';
  let best = -1;
  let bestD = tolerance;
  const edges = ring ? pts.length : pts.length - 1;
  for (let i = 0; i < edges; i++) {
    const d = segmentDistance(p, pts[i]!, pts[(i + 1) % pts.length]!);
    if (d <= bestD) {
      best = i;
      bestD = d;
    }
  }
  if (best < 0) return undefined;
  return withVertices(g, [...pts.slice(0, best + 1), p, ...pts.slice(best + 1)]);
}

/** Removes vertex `i`, unless the shape would fall below a line's 2 or a polygon's 3 vertices. */
export function removeVertex(g: AnnotationGeometry, i: number): AnnotationGeometry | undefined {
  const pts = vertices(g);
  const min = g.type === 'Polygon' ? 3 : 2;
  if (pts.length <= min || i < 0 || i >= pts.length) return undefined;
  return withVertices(g, pts.filter((_, k) => k !== i));
}
