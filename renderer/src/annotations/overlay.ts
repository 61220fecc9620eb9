/**
 * The canvas overlay over an OpenSeadragon pane: draws the objects the view shows (asked
 * of the spatial index), the selection with its vertices and the shape being drawn.
 * Redrawn once per animation frame while OSD moves (rotation and flips included: the
 * level-0 → screen transform comes from OSD's own image ↔ viewer-element conversion).
 *
 * Level of detail, so 100,000 detections stay interactive: an object under half a screen
 * pixel is a single dot, under 4 pixels its box, larger its full path; objects of one
 * colour are batched into one path per frame.
 */
import OpenSeadragon from 'openseadragon';
import type { AnnotationGeometry, AnnotationObject, AnnotationPosition } from '../../../main/api/contract.js';
import { vertices } from './geometry';
import type { ObjectIndex } from './spatial-index';

export interface OverlayStyle {
  /** 0–1. */
  fillOpacity: number;
  /** Class names not drawn; '' is "no class". */
  hidden: ReadonlySet<string>;
  selected: ReadonlySet<string>;
}

export interface Layer {
  index: ObjectIndex;
  /** Colleagues' layers are drawn dashed and cannot be selected. */
  readOnly: boolean;
  visible: boolean;
}

/** What the tools are drawing right now, in level-0 pixels. */
export interface Draft {
  geometry?: AnnotationGeometry;
  /** Vertices of a polygon or line in progress, and where the pointer is. */
  path?: AnnotationPosition[];
  closed?: boolean;
}

/** Screen (CSS) pixels ← level-0 pixels: x' = a x + c y + e, y' = b x + d y + f. */
export interface Affine {
  a: number;
  b: number;
  c: number;
  d: number;
  e: number;
  f: number;
}

const UNCLASSIFIED: [number, number, number] = [255, 200, 0];

export function imageToScreen(viewer: OpenSeadragon.Viewer): Affine | undefined {
  const item = viewer.world.getItemAt(0);
  if (!item) return undefined;
  const k = 1e4;
  // current=true: the frame's animated position, so the overlay moves with the tiles.
  const o = item.imageToViewerElementCoordinates(new OpenSeadragon.Point(0, 0));
  const px = item.imageToViewerElementCoordinates(new OpenSeadragon.Point(k, 0));
  const py = item.imageToViewerElementCoordinates(new OpenSeadragon.Point(0, k));
  return { a: (px.x - o.x) / k, b: (px.y - o.y) / k, c: (py.x - o.x) / k, d: (py.y - o.y) / k, e: o.x, f: o.y };
}

export function colorOf(o: AnnotationObject): [number, number, number] {
  return o.classification?.color ?? UNCLASSIFIED;
}

export class Overlay {
  readonly canvas = document.createElement('canvas');
  private frame = 0;
  private style: OverlayStyle = { fillOpacity: 0.25, hidden: new Set(), selected: new Set() };
  private draft: Draft = {};
  private layers: Layer[] = [];
  /** Objects drawn in the last frame (for the bench and the tests). */
  drawn = 0;
  private readonly onFrame = (): void => this.request();

  constructor(private readonly viewer: OpenSeadragon.Viewer) {
    this.canvas.className = 'annotation-overlay';
    this.canvas.setAttribute('data-testid', 'annotation-overlay');
    viewer.canvas.appendChild(this.canvas);
    for (const e of ['animation', 'viewport-change', 'resize', 'rotate', 'flip', 'open', 'update-viewport'] as const) viewer.addHandler(e, this.onFrame);
    this.request();
  }

  destroy(): void {
    cancelAnimationFrame(this.frame);
    for (const e of ['animation', 'viewport-change', 'resize', 'rotate', 'flip', 'open', 'update-viewport'] as const) this.viewer.removeHandler(e, this.onFrame);
    this.canvas.remove();
  }

  setLayers(layers: Layer[]): void {
    this.layers = layers;
    this.request();
  }

  setStyle(style: OverlayStyle): void {
    this.style = style;
    this.request();
  }

  setDraft(draft: Draft): void {
    this.draft = draft;
    this.request();
  }

  request(): void {
    if (this.frame) return;
    this.frame = requestAnimationFrame(() => {
      this.frame = 0;
      this.draw();
    });
  }

  /** Level-0 pixels the screen shows (the bounds of the turned view). */
  private viewBox(t: Affine, w: number, h: number): { minX: number; minY: number; maxX: number; maxY: number } {
    const det = t.a * t.d - t.b * t.c;
    const inv = (x: number, y: number): [number, number] => {
      const X = x - t.e;
      const Y = y - t.f;
      return [(t.d * X - t.c * Y) / det, (-t.b * X + t.a * Y) / det];
    };
    const corners = [inv(0, 0), inv(w, 0), inv(0, h), inv(w, h)];
    return {
      minX: Math.min(...corners.map((c) => c[0])),
      minY: Math.min(...corners.map((c) => c[1])),
      maxX: Math.max(...corners.map((c) => c[0])),
      maxY: Math.max(...corners.map((c) => c[1])),
    };
  }

  draw(): void {
    const started = performance.now();
    const size = this.viewer.viewport.getContainerSize();
    const dpr = window.devicePixelRatio || 1;
    const w = Math.round(size.x * dpr);
    const h = Math.round(size.y * dpr);
    if (this.canvas.width !== w || this.canvas.height !== h) {
      this.canvas.width = w;
      this.canvas.height = h;
      this.canvas.style.width = `${size.x}px`;
      this.canvas.style.height = `${size.y}px`;
    }
    const ctx = this.canvas.getContext('2d');
    const t = imageToScreen(this.viewer);
    if (!ctx) return;
    ctx.setTransform(1, 0, 0, 1, 0, 0);
    ctx.clearRect(0, 0, w, h);
    if (!t) return;
    const scale = Math.hypot(t.a, t.b);
    const box = this.viewBox(t, size.x, size.y);
    // Paths are built under the level-0 → device transform and stroked under the identity,
    // so line widths stay in screen pixels whatever the zoom.
    const toDevice = (): void => ctx.setTransform(t.a * dpr, t.b * dpr, t.c * dpr, t.d * dpr, t.e * dpr, t.f * dpr);
    let drawn = 0;
    for (const layer of this.layers) {
      if (!layer.visible) continue;
      const groups = new Map<string, { color: [number, number, number]; full: AnnotationObject[]; boxes: number[]; dots: number[]; selected: boolean }>();
      for (const e of layer.index.search(box)) {
        const o = e.object;
        if (this.style.hidden.has(o.classification?.name ?? '')) continue;
        const selected = !layer.readOnly && this.style.selected.has(o.id);
        const color = colorOf(o);
        const key = `${color.join(',')}${selected ? 's' : ''}`;
        let g = groups.get(key);
        if (!g) groups.set(key, (g = { color, full: [], boxes: [], dots: [], selected }));
        const px = Math.max(e.maxX - e.minX, e.maxY - e.minY) * scale;
        drawn++;
        if (o.geometry.type === 'Point' || o.geometry.type === 'MultiPoint' || px >= 4 || selected) g.full.push(o);
        else if (px >= 0.5) g.boxes.push(e.minX, e.minY, e.maxX - e.minX, e.maxY - e.minY);
        else g.dots.push((e.minX + e.maxX) / 2, (e.minY + e.maxY) / 2);
      }
      for (const g of groups.values()) {
        const rgb = g.color.join(',');
        ctx.setTransform(1, 0, 0, 1, 0, 0);
        ctx.setLineDash(layer.readOnly ? [6 * dpr, 4 * dpr] : []);
        ctx.lineWidth = (g.selected ? 3 : 1.5) * dpr;
        ctx.strokeStyle = g.selected ? 'rgb(0,170,255)' : `rgb(${rgb})`;
        ctx.fillStyle = `rgba(${rgb},${this.style.fillOpacity})`;
        if (g.dots.length) {
          // Sub-pixel objects: one device pixel each, in screen space.
          ctx.fillStyle = `rgb(${rgb})`;
          for (let i = 0; i < g.dots.length; i += 2) {
            const x = t.a * g.dots[i]! + t.c * g.dots[i + 1]! + t.e;
            const y = t.b * g.dots[i]! + t.d * g.dots[i + 1]! + t.f;
            ctx.fillRect(Math.floor(x * dpr), Math.floor(y * dpr), dpr, dpr);
          }
          ctx.fillStyle = `rgba(${rgb},${this.style.fillOpacity})`;
        }
        ctx.beginPath();
        toDevice();
        for (let i = 0; i < g.boxes.length; i += 4) ctx.rect(g.boxes[i]!, g.boxes[i + 1]!, g.boxes[i + 2]!, g.boxes[i + 3]!);
        const points: AnnotationPosition[] = [];
        const lines = g.full.filter((o) => o.geometry.type === 'LineString');
        for (const o of g.full) if (o.geometry.type !== 'LineString') tracePath(ctx, o.geometry, points);
        ctx.setTransform(1, 0, 0, 1, 0, 0);
        if (this.style.fillOpacity > 0) ctx.fill('evenodd');
        ctx.stroke();
        if (lines.length) {
          // Lines are only stroked: a fill would close them.
          ctx.beginPath();
          toDevice();
          for (const o of lines) tracePath(ctx, o.geometry, points);
          ctx.setTransform(1, 0, 0, 1, 0, 0);
          ctx.stroke();
        }
        if (points.length) {
          ctx.beginPath();
          for (const [x, y] of points) {
            const sx = (t.a * x + t.c * y + t.e) * dpr;
            const sy = (t.b * x + t.d * y + t.f) * dpr;
            ctx.moveTo(sx + 5 * dpr, sy);
            ctx.arc(sx, sy, 5 * dpr, 0, 2 * Math.PI);
          }
          ctx.fillStyle = `rgb(${rgb})`;
          ctx.fill();
          ctx.stroke();
        }
        if (g.selected) for (const o of g.full) this.handles(ctx, t, dpr, o.geometry);
      }
    }
    ctx.setLineDash([]);
    this.drawDraft(ctx, t, dpr, toDevice);
    this.drawn = drawn;
    this.canvas.dataset.drawn = String(drawn);
    // For the bench (bench/annotations.ts): the overlay's share of the frame.
    this.canvas.dataset.drawMs = (performance.now() - started).toFixed(2);
  }

  private handles(ctx: CanvasRenderingContext2D, t: Affine, dpr: number, g: AnnotationGeometry): void {
    ctx.setTransform(1, 0, 0, 1, 0, 0);
    ctx.fillStyle = 'white';
    ctx.strokeStyle = 'rgb(0,170,255)';
    ctx.lineWidth = dpr;
    for (const [x, y] of vertices(g)) {
      const sx = (t.a * x + t.c * y + t.e) * dpr;
      const sy = (t.b * x + t.d * y + t.f) * dpr;
      ctx.fillRect(sx - 4 * dpr, sy - 4 * dpr, 8 * dpr, 8 * dpr);
      ctx.strokeRect(sx - 4 * dpr, sy - 4 * dpr, 8 * dpr, 8 * dpr);
    }
  }

  private drawDraft(ctx: CanvasRenderingContext2D, t: Affine, dpr: number, toDevice: () => void): void {
    const { geometry, path } = this.draft;
    if (!geometry && !path?.length) return;
    ctx.beginPath();
    toDevice();
    const points: AnnotationPosition[] = [];
    if (geometry) tracePath(ctx, geometry, points);
    if (path?.length) {
      ctx.moveTo(path[0]![0], path[0]![1]);
      for (const p of path.slice(1)) ctx.lineTo(p[0], p[1]);
      if (this.draft.closed) ctx.closePath();
    }
    ctx.setTransform(1, 0, 0, 1, 0, 0);
    ctx.setLineDash([4 * dpr, 3 * dpr]);
    ctx.lineWidth = 2 * dpr;
    ctx.strokeStyle = 'rgb(0,170,255)';
    ctx.stroke();
    ctx.setLineDash([]);
    for (const [x, y] of [...points, ...(path ?? [])]) {
      ctx.fillStyle = 'rgb(0,170,255)';
      ctx.fillRect((t.a * x + t.c * y + t.e) * dpr - 3 * dpr, (t.b * x + t.d * y + t.f) * dpr - 3 * dpr, 6 * dpr, 6 * dpr);
    }
  }
}

/** Adds a geometry's rings and lines to the current path; points are collected to be drawn as dots in screen space. */
function tracePath(ctx: CanvasRenderingContext2D, g: AnnotationGeometry, points: AnnotationPosition[]): void {
  const ring = (r: AnnotationPosition[], closed: boolean): void => {
    if (!r.length) return;
    ctx.moveTo(r[0]![0], r[0]![1]);
    for (let i = 1; i < r.length; i++) ctx.lineTo(r[i]![0], r[i]![1]);
    if (closed) ctx.closePath();
  };
  switch (g.type) {
    case 'Point':
      points.push(g.coordinates);
      break;
    case 'MultiPoint':
      points.push(...g.coordinates);
      break;
    case 'LineString':
      ring(g.coordinates, false);
      break;
    case 'Polygon':
      for (const r of g.coordinates) ring(r, true);
      break;
    case 'MultiPolygon':
      for (const p of g.coordinates) for (const r of p) ring(r, true);
      break;
  }
}
