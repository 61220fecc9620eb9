/**
 * Synchronised navigation between slides shown side by side (serial sections, stain
 * comparison). Panes exchange *movements*, not positions: when one pane pans by 200 µm,
 * zooms by 2× or turns by 90°, the others do the same from where they are. So the
 * offsets the pathologist set up before locking (section B sits 3 mm lower, or is turned)
 * are kept, which is what aligning serial sections needs; absolute positions would snap
 * every slide onto the same coordinates and undo that alignment. Rotating a pane is an
 * alignment too, so it is not passed on.
 *
 * Movements are in microns when every slide gives its pixel size (a 20× and a 40× scan
 * of neighbouring sections then move the same physical distance), in level-0 pixels
 * otherwise.
 */
import type OpenSeadragon from 'openseadragon';

/**
 * Raised on an OSD viewer by the app's own controls (buttons, shortcuts, the test hook)
 * so the pane knows the movement that follows is the user's. Not one of OSD's events.
 */
export const USER_MOVE_EVENT = 'wsi-user-move' as keyof OpenSeadragon.ViewerEventMap;

/** One pane's view in physical units. */
export interface PhysicalView {
  /** Centre of the screen on the slide (µm, or level-0 pixels without a pixel size). */
  cx: number;
  cy: number;
  /** Screen pixels per unit. */
  scale: number;
}

/**
 * Rotation is not part of it: turning one section by 90° is how the pathologist aligns it
 * with its neighbour, so it must not turn the others.
 */
export interface ViewDelta {
  dx: number;
  dy: number;
  /** New scale over old. */
  zoom: number;
}

type Listener = (delta: ViewDelta, from: number) => void;

export class ViewSync {
  #listeners = new Map<number, Listener>();
  #withMpp = new Map<number, boolean>();
  #enabled = true;

  get enabled(): boolean {
    return this.#enabled;
  }

  set enabled(on: boolean) {
    this.#enabled = on;
  }

  /** Whether movements are exchanged in microns: only when every pane's slide gives its pixel size. */
  get microns(): boolean {
    return [...this.#withMpp.values()].every(Boolean);
  }

  /** A pane joins; returns its way out. */
  join(pane: number, hasMpp: boolean, listener: Listener): () => void {
    this.#listeners.set(pane, listener);
    this.#withMpp.set(pane, hasMpp);
    return () => {
      if (this.#listeners.get(pane) !== listener) return;
      this.#listeners.delete(pane);
      this.#withMpp.delete(pane);
    };
  }

  /** A pane moved by the user: the others follow (when sync is on). */
  publish(from: number, delta: ViewDelta): void {
    if (!this.#enabled || isStill(delta)) return;
    for (const [pane, listener] of this.#listeners) if (pane !== from) listener(delta, from);
  }
}

/** Sub-pixel jitter from floating point is not a movement worth echoing. */
export function isStill(d: ViewDelta): boolean {
  return Math.abs(d.dx) < 1e-6 && Math.abs(d.dy) < 1e-6 && Math.abs(d.zoom - 1) < 1e-9;
}

export function deltaOf(from: PhysicalView, to: PhysicalView): ViewDelta {
  return { dx: to.cx - from.cx, dy: to.cy - from.cy, zoom: from.scale > 0 ? to.scale / from.scale : 1 };
}

export function applyDelta(v: PhysicalView, d: ViewDelta): PhysicalView {
  return { cx: v.cx + d.dx, cy: v.cy + d.dy, scale: v.scale * d.zoom };
}

export function normaliseDegrees(deg: number): number {
  const r = deg % 360;
  return r < 0 ? r + 360 : r;
}
