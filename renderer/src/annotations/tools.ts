/**
 * The drawing tools on one pane, as pointer gestures in level-0 pixels. OSD reports
 * press / drag / release in viewer-element coordinates; OSD's TiledImage converts them
 * to level-0 pixels whatever the pane's rotation or flip.
 *
 * A click is a press and release within CLICK_SLOP screen pixels, decided here: OSD's
 * timing-based `quick` flag misses clicks when the machine is busy. Polygons and lines
 * end on the canvas's DOM `dblclick` (or Enter); OSD's own double-click handler is only
 * told not to zoom while a tool draws.
 */
import OpenSeadragon from 'openseadragon';
import type { AnnotationGeometry, AnnotationInput, AnnotationPosition } from '../../../main/api/contract.js';
import { ellipse, hits, insertVertex, nearestVertex, polygon, rectangle, removeVertex, translate, vertices, withVertices } from './geometry';
import type { Draft } from './overlay';
import type { ObjectIndex } from './spatial-index';

export type Tool = 'select' | 'vertices' | 'point' | 'polygon' | 'freehand' | 'rectangle' | 'ellipse' | 'line';

export const TOOLS: { tool: Tool; label: string; key: string }[] = [
  { tool: 'select', label: 'Select and move', key: 'v' },
  { tool: 'vertices', label: 'Edit vertices', key: 'e' },
  { tool: 'point', label: 'Point', key: 'n' },
  { tool: 'polygon', label: 'Polygon', key: 'p' },
  { tool: 'freehand', label: 'Freehand', key: 'h' },
  { tool: 'rectangle', label: 'Rectangle', key: 'b' },
  { tool: 'ellipse', label: 'Ellipse', key: 'o' },
  { tool: 'line', label: 'Line', key: 'l' },
];

/** Screen pixels a press may move and still be a click. */
export const CLICK_SLOP = 4;
/** Screen pixels within which a click picks a vertex or an edge. */
export const PICK_PX = 6;

export interface ToolHost {
  tool(): Tool;
  index(): ObjectIndex;
  selected(): ReadonlySet<string>;
  select(ids: string[]): void;
  /** One finished shape: the caller adds the class and sends it. */
  create(input: AnnotationInput): void;
  /** A moved or reshaped object (one edit when the gesture ends). */
  update(id: string, geometry: AnnotationGeometry): void;
  draft(d: Draft): void;
}

type Gesture =
  | { kind: 'none' }
  | { kind: 'press'; start: OpenSeadragon.Point; startImage: AnnotationPosition; moved: boolean }
  | { kind: 'move'; id: string; from: AnnotationPosition; geometry: AnnotationGeometry; start: OpenSeadragon.Point }
  | { kind: 'vertex'; id: string; i: number; geometry: AnnotationGeometry; start: OpenSeadragon.Point };

export function attachTools(viewer: OpenSeadragon.Viewer, host: ToolHost): { cancel(): void; finish(): void; detach(): void } {
  const item = (): OpenSeadragon.TiledImage | undefined => viewer.world.getItemAt(0);
  const toImage = (p: OpenSeadragon.Point): AnnotationPosition => {
    const q = item()?.viewerElementToImageCoordinates(p) ?? p;
    return [q.x, q.y];
  };
  /** Level-0 pixels per screen pixel now. */
  const perScreenPixel = (): number => {
    const i = item();
    return i ? 1 / i.viewportToImageZoom(viewer.viewport.getZoom(true)) : 1;
  };
  let gesture: Gesture = { kind: 'none' };
  /** Vertices of a polygon or line being clicked out. */
  let path: AnnotationPosition[] = [];
  /** Freehand trail, or the corners of a rectangle / ellipse. */
  let trail: AnnotationPosition[] = [];

  const drawing = (): boolean => !['select', 'vertices'].includes(host.tool());
  const showDraft = (cursor?: AnnotationPosition): void => {
    const tool = host.tool();
    if ((tool === 'polygon' || tool === 'line') && path.length) host.draft({ path: cursor ? [...path, cursor] : path, closed: tool === 'polygon' });
    else host.draft({});
  };

  const hitObject = (p: AnnotationPosition): string | undefined => {
    const tol = PICK_PX * perScreenPixel();
    const found = host
      .index()
      .search({ minX: p[0] - tol, minY: p[1] - tol, maxX: p[0] + tol, maxY: p[1] + tol })
      .filter((e) => hits(e.object.geometry, p, tol))
      // The smallest first: a cell inside a region is reachable.
      .sort((a, b) => a.area - b.area);
    return found[0]?.object.id;
  };

  const finish = (): void => {
    const tool = host.tool();
    if (tool === 'polygon' && path.length >= 3) host.create({ geometry: polygon(path) });
    else if (tool === 'line' && path.length >= 2) host.create({ geometry: { type: 'LineString', coordinates: path } });
    path = [];
    showDraft();
  };
  const cancel = (): void => {
    path = [];
    trail = [];
    gesture = { kind: 'none' };
    host.draft({});
  };

  const addVertex = (p: AnnotationPosition): void => {
    const last = path[path.length - 1];
    // The two presses of the double-click that ends a shape land on the last vertex.
    if (last && Math.hypot(last[0] - p[0], last[1] - p[1]) <= CLICK_SLOP * perScreenPixel()) return;
    path.push(p);
  };

  const onPress = (e: OpenSeadragon.CanvasPressEvent): void => {
    const p = toImage(e.position);
    const tool = host.tool();
    const keys = e.originalEvent as MouseEvent;
    if (tool === 'select' || tool === 'vertices') {
      const sel = [...host.selected()];
      const own = sel.length === 1 ? host.index().get(sel[0]!) : undefined;
      if (tool === 'vertices' && own && !own.locked) {
        const i = nearestVertex(own.geometry, p, PICK_PX * perScreenPixel());
        if (i >= 0 && keys.altKey) {
          const g = removeVertex(own.geometry, i);
          if (g) host.update(own.id, g);
          gesture = { kind: 'none' };
          return;
        }
        if (i >= 0) {
          gesture = { kind: 'vertex', id: own.id, i, geometry: own.geometry, start: e.position };
          return;
        }
      }
      const id = hitObject(p);
      const o = id ? host.index().get(id) : undefined;
      if (o && tool === 'select' && host.selected().has(o.id) && !o.locked) {
        gesture = { kind: 'move', id: o.id, from: p, geometry: o.geometry, start: e.position };
        return;
      }
    }
    gesture = { kind: 'press', start: e.position, startImage: p, moved: false };
    if (tool === 'freehand' || tool === 'rectangle' || tool === 'ellipse') trail = [p];
  };

  const onDrag = (e: OpenSeadragon.CanvasDragEvent): void => {
    const p = toImage(e.position);
    const tool = host.tool();
    if (gesture.kind === 'move') {
      e.preventDefaultAction = true;
      host.draft({ geometry: translate(gesture.geometry, p[0] - gesture.from[0], p[1] - gesture.from[1]) });
      return;
    }
    if (gesture.kind === 'vertex') {
      e.preventDefaultAction = true;
      const pts = vertices(gesture.geometry).slice();
      pts[gesture.i] = p;
      host.draft({ geometry: withVertices(gesture.geometry, pts) });
      return;
    }
    if (gesture.kind !== 'press') return;
    if (!drawing()) return;
    // Drawing tools never pan: the drag is the shape.
    e.preventDefaultAction = true;
    if (e.position.distanceTo(gesture.start) > CLICK_SLOP) gesture.moved = true;
    if (tool === 'freehand') {
      trail.push(p);
      host.draft({ path: trail, closed: true });
    } else if (tool === 'rectangle') host.draft({ geometry: rectangle(trail[0]!, p) });
    else if (tool === 'ellipse') host.draft({ geometry: ellipse(trail[0]!, p) });
  };

  const onRelease = (e: OpenSeadragon.CanvasReleaseEvent): void => {
    const g = gesture;
    gesture = { kind: 'none' };
    const p = toImage(e.position);
    const tool = host.tool();
    const click = e.position.distanceTo(g.kind === 'none' ? e.position : g.start) <= CLICK_SLOP;
    if (g.kind === 'move') {
      host.draft({});
      if (!click) host.update(g.id, translate(g.geometry, p[0] - g.from[0], p[1] - g.from[1]));
      return;
    }
    if (g.kind === 'vertex') {
      host.draft({});
      if (!click) {
        const pts = vertices(g.geometry).slice();
        pts[g.i] = p;
        host.update(g.id, withVertices(g.geometry, pts));
      }
      return;
    }
    if (g.kind !== 'press') return;
    switch (tool) {
      case 'select':
      case 'vertices': {
        if (!click) return; // a pan
        const sel = [...host.selected()];
        const own = sel.length === 1 ? host.index().get(sel[0]!) : undefined;
        if (tool === 'vertices' && own && !own.locked) {
          const added = insertVertex(own.geometry, p, PICK_PX * perScreenPixel());
          if (added) {
            host.update(own.id, added);
            return;
          }
        }
        const id = hitObject(p);
        const shift = (e.originalEvent as MouseEvent).shiftKey;
        if (!id) host.select([]);
        else if (shift) host.select(host.selected().has(id) ? sel.filter((s) => s !== id) : [...sel, id]);
        else host.select([id]);
        return;
      }
      case 'point':
        if (click) host.create({ geometry: { type: 'Point', coordinates: p } });
        return;
      case 'polygon':
      case 'line':
        if (click) {
          addVertex(p);
          showDraft();
        } else if (tool === 'line' && path.length === 0) {
          host.create({ geometry: { type: 'LineString', coordinates: [g.startImage, p] } });
        }
        return;
      case 'freehand':
        trail.push(p);
        if (trail.length >= 3 && !click) host.create({ geometry: polygon(trail) });
        trail = [];
        host.draft({});
        return;
      case 'rectangle':
      case 'ellipse':
        if (!click) host.create({ geometry: tool === 'rectangle' ? rectangle(trail[0]!, p) : ellipse(trail[0]!, p), shape: tool });
        trail = [];
        host.draft({});
        return;
    }
  };

  const onDoubleClick = (e: OpenSeadragon.CanvasDoubleClickEvent): void => {
    if (drawing()) e.preventDefaultAction = true;
  };
  const onDomDoubleClick = (): void => {
    if (host.tool() === 'polygon' || host.tool() === 'line') finish();
  };
  const onMove = (ev: PointerEvent): void => {
    if (!path.length) return;
    const r = viewer.canvas.getBoundingClientRect();
    showDraft(toImage(new OpenSeadragon.Point(ev.clientX - r.left, ev.clientY - r.top)));
  };
  // Scrolling still zooms while drawing; a click-to-zoom never happens (it is off in the viewer).
  viewer.addHandler('canvas-press', onPress);
  viewer.addHandler('canvas-drag', onDrag);
  viewer.addHandler('canvas-release', onRelease);
  viewer.addHandler('canvas-double-click', onDoubleClick);
  // Kept here: OpenSeadragon nulls viewer.canvas when the pane closes, before React cleans up.
  const canvas = viewer.canvas;
  canvas.addEventListener('dblclick', onDomDoubleClick);
  canvas.addEventListener('pointermove', onMove);
  return {
    cancel,
    finish,
    detach() {
      viewer.removeHandler('canvas-press', onPress);
      viewer.removeHandler('canvas-drag', onDrag);
      viewer.removeHandler('canvas-release', onRelease);
      viewer.removeHandler('canvas-double-click', onDoubleClick);
      canvas.removeEventListener('dblclick', onDomDoubleClick);
      canvas.removeEventListener('pointermove', onMove);
    },
  };
}
