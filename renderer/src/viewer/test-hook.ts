/**
 * `window.__viewer` (the first pane) and `window.__viewers[pane]`: what the end-to-end tests need to drive and read the viewer, and
 * nothing more. It reads and moves the viewport of the slide already on screen; it
 * cannot reach main, open anything or see a credential, so it is harmless to ship.
 */
import OpenSeadragon from 'openseadragon';
import { USER_MOVE_EVENT } from './sync';
import { descriptorLevel } from './tile-source';
import type { OpenedSlide } from '../../../main/api/contract.js';

export interface ViewerView {
  /** The canvas area in CSS pixels. */
  canvasWidth: number;
  canvasHeight: number;
  /** Level-0 image pixel at the canvas's top-left corner. */
  x: number;
  y: number;
  /** Screen (CSS) pixels per level-0 pixel. */
  zoom: number;
  /** The finest descriptor level among the tiles drawn (0 = full resolution); -1 when none. */
  drawnLevel: number;
  /** Degrees clockwise. */
  rotation: number;
}

export interface ViewerTestHook {
  slideId: string;
  isFullyLoaded(): boolean;
  /** Resolves once every tile the current view needs is loaded and drawn. */
  whenFullyLoaded(): Promise<void>;
  getView(): ViewerView;
  /** Put level-0 pixel (x, y) at the top-left corner at `zoom` screen pixels per level-0 pixel, at once. */
  setView(v: { x: number; y: number; zoom: number }): void;
  /** Level-0 pixel → CSS pixel in the canvas (rotation included), and back. */
  toScreen(x: number, y: number): { x: number; y: number };
  toImage(x: number, y: number): { x: number; y: number };
  /** Turn the pane to `degrees` at once. */
  setRotation(degrees: number): void;
}

declare global {
  interface Window {
    __viewer?: ViewerTestHook;
    __viewers?: (ViewerTestHook | undefined)[];
  }
}

const frame = (): Promise<void> => new Promise((resolve) => requestAnimationFrame(() => resolve()));

export function installTestHook(viewer: OpenSeadragon.Viewer, slide: OpenedSlide, pane = 0): () => void {
  const item = (): OpenSeadragon.TiledImage | undefined => viewer.world.getItemAt(0);
  const hook: ViewerTestHook = {
    slideId: slide.id,
    isFullyLoaded: () => item()?.getFullyLoaded() ?? false,
    async whenFullyLoaded() {
      // The update that notices a changed viewport runs on the next frames.
      await frame();
      await frame();
      for (;;) {
        const i = item();
        const animating = (viewer as unknown as { isAnimating(): boolean }).isAnimating();
        if (i && i.getFullyLoaded() && !animating) break;
        await frame();
      }
      // What is on the canvas is what the view says (a resize since the last draw included).
      viewer.forceRedraw();
      await frame();
      await frame();
    },
    getView() {
      const i = item();
      const size = viewer.viewport.getContainerSize();
      const rotation = viewer.viewport.getRotation(true);
      if (!i) return { canvasWidth: size.x, canvasHeight: size.y, x: 0, y: 0, zoom: 0, drawnLevel: -1, rotation };
      const rect = i.viewportToImageRectangle(viewer.viewport.getBounds(true));
      const drawn = i.getTilesToDraw().map((t) => t.tile.level);
      return {
        canvasWidth: size.x,
        canvasHeight: size.y,
        x: rect.x,
        y: rect.y,
        zoom: size.x / rect.width,
        drawnLevel: drawn.length ? descriptorLevel(slide, Math.max(...drawn)) : -1,
        rotation,
      };
    },
    setView({ x, y, zoom }) {
      const i = item();
      if (!i) return;
      const size = viewer.viewport.getContainerSize();
      // As the user moving there: synchronised panes follow (components/Viewer.tsx).
      viewer.raiseEvent(USER_MOVE_EVENT);
      viewer.viewport.fitBounds(i.imageToViewportRectangle(new OpenSeadragon.Rect(x, y, size.x / zoom, size.y / zoom)), true);
      viewer.forceRedraw();
    },
    toScreen(x, y) {
      const p = item()?.imageToViewerElementCoordinates(new OpenSeadragon.Point(x, y));
      return { x: p?.x ?? NaN, y: p?.y ?? NaN };
    },
    toImage(x, y) {
      const p = item()?.viewerElementToImageCoordinates(new OpenSeadragon.Point(x, y));
      return { x: p?.x ?? NaN, y: p?.y ?? NaN };
    },
    setRotation(degrees) {
      viewer.viewport.setRotation(degrees, true);
      viewer.forceRedraw();
    },
  };
  const panes = (window.__viewers ??= []);
  panes[pane] = hook;
  if (pane === 0) window.__viewer = hook;
  return () => {
    if (panes[pane] === hook) panes[pane] = undefined;
    if (window.__viewer === hook) delete window.__viewer;
  };
}
