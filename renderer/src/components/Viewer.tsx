/**
 * The slide viewer: OpenSeadragon over the slide's tile URLs (served by main through the
 * app's own origin), with a scale bar, the current magnification and presets, a
 * navigator, the slide's properties and a way back to the browser.
 *
 * OSD is bundled (no CDN); its default buttons (which load images from prefixUrl) are off
 * and replaced by React controls. The canvas drawer gives deterministic pixels (the
 * end-to-end test compares them with the engine's own region output).
 */
import OpenSeadragon from 'openseadragon';
import { useCallback, useEffect, useRef, useState } from 'react';
import type { ApiError, OpenedSlide, StorageEntry } from '../../../main/api/contract.js';
import { api, asApiError } from '../api';
import { formatSize } from '../format';
import { formatMagnification, magnification, scaleBar } from '../viewer/scale';
import { applyDelta, deltaOf, normaliseDegrees, USER_MOVE_EVENT, type PhysicalView, type ViewSync } from '../viewer/sync';
import { installTestHook } from '../viewer/test-hook';
import { diagnoseTile } from '../viewer/tile-failure';
import { installTileHints } from '../viewer/tile-hints';
import { createTileSource } from '../viewer/tile-source';
import { createChannelLayer, type ChannelLayer } from '../viewer/channels-layer';
import { ChannelPanel } from './ChannelPanel';
import { AssociatedImages } from './AssociatedImages';
import { ErrorPanel } from './ErrorPanel';
import { PinControl } from './PinControl';
import { AnnotationPanel } from '../annotations/AnnotationPanel';

const PRESETS = [5, 10, 20, 40];

/**
 * OSD injects a <style> (a focus-outline rule for touch screens) unless one marked
 * data-openseadragon-mobile-css exists; the CSP blocks inline styles, so the rule lives
 * in styles.css and an empty marker stops the injection (the CSP admits exactly the
 * empty <style> by its hash; main/api/security.ts).
 */
function preventOsdStyleInjection(): void {
  if (document.querySelector('style[data-openseadragon-mobile-css]')) return;
  const marker = document.createElement('style');
  marker.setAttribute('data-openseadragon-mobile-css', 'true');
  document.head.appendChild(marker);
}
const NAVIGATOR_ID = 'viewer-navigator';

interface Readout {
  /** Screen pixels per level-0 pixel. */
  zoom: number;
}

/** What the workspace (keyboard shortcuts, toolbar) can ask of a pane. */
export interface PaneControls {
  zoomBy(factor: number): void;
  home(): void;
  rotate(degrees: number): void;
  /** Zoom to a magnification (5, 10, 20, 40); false when the slide cannot say its magnification. */
  magnify(target: number): boolean;
  pan(dx: number, dy: number): void;
}

export interface ViewerProps {
  entry: StorageEntry;
  onSignIn: () => void;
  /** Position among the slides side by side (0 = first). */
  pane?: number;
  /** Shared with the other panes when navigation is synchronised. */
  sync?: ViewSync;
  /** Close this pane (only offered when several slides are side by side). */
  onClose?: () => void;
  /** The pane keyboard shortcuts act on. */
  active?: boolean;
  onActivate?: () => void;
  /** The pane's controls, for the workspace's keyboard shortcuts; undefined when it closes. */
  register?: (controls: PaneControls | undefined) => void;
}

export function Viewer(props: ViewerProps) {
  const uri = props.entry.uri;
  const [slide, setSlide] = useState<OpenedSlide | undefined>();
  const [error, setError] = useState<ApiError | undefined>();
  const [attempt, setAttempt] = useState(0);

  useEffect(() => {
    let cancelled = false;
    let opened: string | undefined;
    setSlide(undefined);
    setError(undefined);
    api.call('slides.open', { uri }).then(
      (s) => {
        opened = s.id;
        if (cancelled) void api.call('slides.close', { id: s.id }).catch(() => undefined);
        else setSlide(s);
      },
      (err: unknown) => {
        if (!cancelled) setError(asApiError(err));
      },
    );
    return () => {
      cancelled = true;
      if (opened) void api.call('slides.close', { id: opened }).catch(() => undefined);
    };
  }, [uri, attempt]);

  const pane = props.pane ?? 0;
  return (
    <section
      className={`viewer-pane${props.active ? ' active' : ''}`}
      data-testid="viewer"
      data-pane={pane}
      data-uri={uri}
      onPointerDownCapture={props.onActivate}
      onFocusCapture={props.onActivate}
    >
      <div className="viewer-toolbar">
        <h1 className="viewer-title" title={uri} data-testid="viewer-title">
          {props.entry.name}
        </h1>
        {slide?.offline ? <span className="chip" data-testid="viewer-offline">Offline copy</span> : null}
        {slide ? <PinControl slide={slide} /> : null}
        {props.onClose ? (
          <button className="btn btn-quiet" data-testid="viewer-close" aria-label={`Close ${props.entry.name}`} title="Close this slide" onClick={props.onClose}>
            ✕
          </button>
        ) : null}
      </div>
      {error ? (
        <div className="viewer-message">
          <ErrorPanel error={error} uri={uri} onSignIn={props.onSignIn} onRetry={() => setAttempt((a) => a + 1)} testId="viewer-error" />
        </div>
      ) : !slide ? (
        <div className="viewer-message" data-testid="viewer-opening">
          <div className="spinner" aria-label="Opening the slide" />
          <p className="muted">Opening {props.entry.name}…</p>
        </div>
      ) : (
        <SlideView
          slide={slide}
          pane={pane}
          onSignIn={props.onSignIn}
          {...(props.sync ? { sync: props.sync } : {})}
          {...(props.register ? { register: props.register } : {})}
        />
      )}
    </section>
  );
}

function SlideView(props: { slide: OpenedSlide; pane: number; sync?: ViewSync; register?: (controls: PaneControls | undefined) => void; onSignIn?: () => void }) {
  const { slide, pane, sync, register } = props;
  const navigatorId = `${NAVIGATOR_ID}-${pane}`;
  const canvasRef = useRef<HTMLDivElement>(null);
  const barRef = useRef<HTMLDivElement>(null);
  const viewerRef = useRef<OpenSeadragon.Viewer | undefined>(undefined);
  const [loaded, setLoaded] = useState(false);
  const [failedTiles, setFailedTiles] = useState(0);
  // Why tiles fail, in words (viewer/tile-failure.ts); asked once per run of failures.
  const [tileError, setTileError] = useState<ApiError | undefined>();
  const [openError, setOpenError] = useState<string | undefined>();
  const [readout, setReadout] = useState<Readout>({ zoom: 0 });
  const [rotation, setRotation] = useState(0);
  // Fluorescence: the channels are composited in the renderer (viewer/channels-layer.ts).
  const [channelLayer, setChannelLayer] = useState<ChannelLayer | undefined>();
  // The annotation overlay and tools attach to the pane's OSD viewer once it exists.
  const [osd, setOsd] = useState<OpenSeadragon.Viewer | undefined>();

  useEffect(() => {
    const element = canvasRef.current;
    if (!element) return;
    preventOsdStyleInjection();
    const channels = slide.summary.pixelKind === 'channels' ? createChannelLayer(slide) : undefined;
    const viewer = OpenSeadragon({
      element,
      drawer: 'canvas',
      showNavigationControl: false,
      showNavigator: true,
      navigatorId,
      blendTime: 0,
      animationTime: 0.4,
      maxZoomPixelRatio: 2,
      visibilityRatio: 0.5,
      crossOriginPolicy: false,
      loadTilesWithAjax: false,
      gestureSettingsMouse: { clickToZoom: false, dblClickToZoom: true },
      // OSD starts one tile load per frame by default (ten on the first): a 54-tile view
      // trickles out over a second of frames. Main schedules and merges; let OSD ask at once.
      maxTilesPerFrame: 16,
      // A TileSource instance is accepted at run time; the typings list only option objects.
      tileSources: (channels?.tileSource ?? createTileSource(slide)) as unknown as OpenSeadragon.TileSourceOptions,
    });
    const detachChannels = channels?.attach(viewer);
    setChannelLayer(channels);
    viewerRef.current = viewer;
    setOsd(viewer);
    seamlessAtRest(viewer);
    const update = (): void => {
      const item = viewer.world.getItemAt(0);
      if (!item) return;
      setReadout({ zoom: item.viewportToImageZoom(viewer.viewport.getZoom(true)) });
    };
    viewer.addHandler('open', () => {
      const item = viewer.world.getItemAt(0);
      item?.addHandler('fully-loaded-change', (e) => setLoaded(e.fullyLoaded));
      update();
    });
    viewer.addHandler('open-failed', (e) => setOpenError(e.message));
    let diagnosing = false;
    viewer.addHandler('tile-load-failed', (e) => {
      setFailedTiles((n) => n + 1);
      if (diagnosing) return;
      diagnosing = true;
      void diagnoseTile(e.tile.getUrl()).then((why) => setTileError(why));
    });

    viewer.addHandler('animation', update);
    viewer.addHandler('resize', update);
    viewer.addHandler('rotate', (e) => setRotation(normaliseDegrees(e.degrees)));
    const leaveSync = sync ? followSync(viewer, slide, pane, sync) : undefined;
    const removeHook = installTestHook(viewer, slide, pane);
    // Fluorescence planes are fetched by the channel layer itself, several per tile.
    const removeHints = channels ? undefined : installTileHints(viewer, slide);
    return () => {
      detachChannels?.();
      leaveSync?.();
      removeHook();
      removeHints?.();
      viewerRef.current = undefined;
      setOsd(undefined);
      viewer.destroy();
    };
    // The sync and the pane number are fixed for a pane's life (the workspace keys panes by slide).
  }, [slide]);

  const mpp = slide.summary.mpp?.x;
  const micronsPerScreenPixel = mpp && readout.zoom > 0 ? mpp / readout.zoom : undefined;
  const bar = micronsPerScreenPixel ? scaleBar(micronsPerScreenPixel) : undefined;
  useEffect(() => {
    // Set through the CSSOM: the CSP forbids style attributes, not style properties.
    if (barRef.current) barRef.current.style.width = bar ? `${bar.pixels.toFixed(1)}px` : '0';
  }, [bar]);
  const mag = magnification(mpp, slide.summary.objectivePower, readout.zoom);
  const maxMag = magnification(mpp, slide.summary.objectivePower, 1);

  const zoomToMagnification = useCallback(
    (target: number) => {
      const viewer = viewerRef.current;
      const item = viewer?.world.getItemAt(0);
      const perPixel = magnification(mpp, slide.summary.objectivePower, 1);
      if (!viewer || !item || !perPixel) return;
      viewer.viewport.zoomTo(item.imageToViewportZoom(target / perPixel));
    },
    [mpp, slide],
  );
  const userMove = (): void => {
    viewerRef.current?.raiseEvent(USER_MOVE_EVENT);
  };
  const zoomBy = (f: number): void => {
    userMove();
    viewerRef.current?.viewport.zoomBy(f);
    viewerRef.current?.viewport.applyConstraints();
  };
  const rotate = (degrees: number): void => {
    // By, not to: from 0°, turning back by 90° goes the short way to 270°, not round through 180°.
    viewerRef.current?.viewport.rotateBy(degrees);
  };

  useEffect(() => {
    if (!register) return;
    register({
      zoomBy,
      home: () => {
        userMove();
        viewerRef.current?.viewport.goHome();
      },
      rotate,
      magnify: (target) => {
        if (!maxMag || target > maxMag * 1.05) return false;
        userMove();
        zoomToMagnification(target);
        return true;
      },
      pan: (dx, dy) => {
        const viewport = viewerRef.current?.viewport;
        if (!viewport) return;
        // A fraction of the screen, whatever the zoom: as a microscope stage moves under the eyepiece.
        userMove();
        const b = viewport.getBounds();
        viewport.panBy(new OpenSeadragon.Point(b.width * dx, b.height * dy));
        viewport.applyConstraints();
      },
    });
    return () => register(undefined);
  });

  return (
    <div className="viewer-body">
      <div className="viewer-stage">
        <div className="viewer-controls" role="toolbar" aria-label="View">
          <button className="btn" data-testid="zoom-in" aria-label="Zoom in" onClick={() => zoomBy(1.5)}>
            +
          </button>
          <button className="btn" data-testid="zoom-out" aria-label="Zoom out" onClick={() => zoomBy(1 / 1.5)}>
            −
          </button>
          <button
            className="btn"
            data-testid="zoom-home"
            onClick={() => {
              userMove();
              viewerRef.current?.viewport.goHome();
            }}
          >
            Whole slide
          </button>
          <button className="btn" data-testid="rotate" title="Turn the slide by 90° (R)" aria-label="Turn by 90 degrees" onClick={() => rotate(90)}>
            ⟳ {rotation ? `${Math.round(rotation)}°` : '90°'}
          </button>
          {maxMag
            ? PRESETS.filter((p) => p <= maxMag * 1.05).map((p) => (
                <button
                  key={p}
                  className="btn"
                  data-testid={`preset-${p}`}
                  onClick={() => {
                    userMove();
                    zoomToMagnification(p);
                  }}
                >
                  {p}×
                </button>
              ))
            : null}
          <span className="magnification" data-testid="magnification" title="Magnification on this screen">
            {formatMagnification(mag)}
          </span>
        </div>
        <div className={`viewer-canvas${channelLayer ? ' fluorescence' : ''}`} data-testid="viewer-canvas" ref={canvasRef} aria-busy={!loaded} />
        <div className="scale-bar" data-testid="scale-bar" aria-label="Scale bar">
          {bar ? (
            <>
              <div className="scale-bar-line" ref={barRef} />
              <span className="scale-bar-label" data-testid="scale-bar-label">
                {bar.label}
              </span>
            </>
          ) : (
            <span className="scale-bar-label muted">No scale: the slide does not give its pixel size</span>
          )}
        </div>
        {!loaded && !openError ? (
          <div className="viewer-loading" data-testid="viewer-loading">
            Loading…
          </div>
        ) : null}
        {tileError && tileError.code !== 'TILE_OFFLINE' && !openError ? (
          <div className="viewer-alert viewer-alert-panel">
            <ErrorPanel error={tileError} uri={slide.uri} {...(props.onSignIn ? { onSignIn: props.onSignIn } : {})} testId="viewer-tile-error" />
          </div>
        ) : openError || failedTiles > 0 ? (
          <div className="viewer-alert" role="alert" data-testid="viewer-tile-error">
            {openError
              ? `The slide could not be shown: ${openError}`
              : props.slide.offline
                ? `${failedTiles} part${failedTiles === 1 ? ' is' : 's are'} not available offline: only what was viewed or downloaded before is on this computer.`
                : `${failedTiles} part${failedTiles === 1 ? '' : 's'} of the slide could not be loaded.`}
          </div>
        ) : null}
      </div>
      <aside className="viewer-side">
        {/* OSD takes over the inner element (size, border, children); the frame keeps the layout. */}
        <div className="viewer-navigator-frame" data-testid="viewer-navigator" aria-label="Overview">
          <div id={navigatorId} className="viewer-navigator" />
        </div>
        {channelLayer ? <ChannelPanel layer={channelLayer} slide={slide} /> : null}
        {osd ? <AnnotationPanel viewer={osd} slide={slide} /> : null}
        <AssociatedImages slide={slide} />
        <SlideProperties slide={slide} />
      </aside>
    </div>
  );
}

/** OSD events that mean the user is moving this pane (keys, mouse, touch, the navigator). */
const USER_MOVES = ['canvas-drag', 'canvas-scroll', 'canvas-pinch', 'canvas-key', 'canvas-double-click', 'navigator-click', 'navigator-drag', 'navigator-scroll'] as const;
/** How long after the last user input the pane's movement (its animation) is passed on. */
const USER_MOVE_MS = 1500;

/**
 * Joins a pane to the synchronised navigation: the user's own movements of this pane go
 * out as deltas; the others' deltas are applied here at once (no animation), and the view
 * reached that way is remembered so it is not echoed back as a movement of this pane.
 * Only movements the user makes are passed on: a pane that settles after opening, or
 * resizes because a slide was added beside it, must not move the others.
 */
function followSync(viewer: OpenSeadragon.Viewer, slide: OpenedSlide, pane: number, sync: ViewSync): () => void {
  const mpp = slide.summary.mpp;
  const units = (): { x: number; y: number } => (sync.microns && mpp ? mpp : { x: 1, y: 1 });
  const physical = (): PhysicalView | undefined => {
    const item = viewer.world.getItemAt(0);
    if (!item) return undefined;
    const u = units();
    const c = item.viewportToImageCoordinates(viewer.viewport.getCenter(true));
    return { cx: c.x * u.x, cy: c.y * u.y, scale: item.viewportToImageZoom(viewer.viewport.getZoom(true)) / u.x };
  };
  let last: PhysicalView | undefined;
  let userUntil = 0;
  const onUser = (): void => {
    userUntil = performance.now() + USER_MOVE_MS;
  };
  const onChange = (): void => {
    const now = physical();
    if (!now) return;
    const before = last;
    last = now;
    if (before && performance.now() < userUntil) sync.publish(pane, deltaOf(before, now));
  };
  for (const e of USER_MOVES) viewer.addHandler(e, onUser);
  viewer.addHandler(USER_MOVE_EVENT, onUser);
  viewer.addHandler('viewport-change', onChange);
  viewer.addHandler('open', () => {
    last = physical();
  });
  const leave = sync.join(pane, Boolean(mpp), (delta) => {
    const item = viewer.world.getItemAt(0);
    const from = physical();
    if (!item || !from) return;
    const to = applyDelta(from, delta);
    const u = units();
    viewer.viewport.zoomTo(item.imageToViewportZoom(to.scale * u.x), undefined, true);
    viewer.viewport.panTo(item.imageToViewportCoordinates(new OpenSeadragon.Point(to.cx / u.x, to.cy / u.y)), true);
    last = physical();
  });
  return () => {
    leave();
    viewer.removeHandler('viewport-change', onChange);
    for (const e of USER_MOVES) viewer.removeHandler(e, onUser);
    viewer.removeHandler(USER_MOVE_EVENT, onUser);
  };
}

/**
 * OSD's canvas drawer draws every tile one screen pixel larger to hide seams, which
 * stretches a 256-pixel tile over 257 pixels: at 1:1 the pathologist would see every
 * tile resampled (measured: mean difference 3.3, 27 dB against the slide's own pixels).
 * At rest tiles are drawn at their exact size; while moving, the overlap hides seams.
 */
function seamlessAtRest(viewer: OpenSeadragon.Viewer): void {
  const drawer = viewer.drawer as unknown as { minimumOverlapRequired?: (tiledImage: unknown) => boolean };
  if (typeof drawer.minimumOverlapRequired !== 'function') return;
  drawer.minimumOverlapRequired = () => (viewer as unknown as { isAnimating(): boolean }).isAnimating();
  // OSD sizes a tile when it positions it in an update pass, not when it draws it: tiles
  // that finished loading during an animation keep their one-pixel overlap once the view
  // rests, because a fully loaded, unmoving image is not updated again (measured: 27 dB
  // against the slide when several tiles arrive per frame). At rest, ask for one more
  // update pass so every tile is positioned at its exact size, and redraw.
  const reposition = (): void => {
    for (let i = 0; i < viewer.world.getItemCount(); i++) {
      // TiledImage._needsUpdate: OSD's own flag for "position the tiles again"; not in the typings.
      (viewer.world.getItemAt(i) as unknown as { _needsUpdate: boolean })._needsUpdate = true;
    }
    viewer.forceRedraw();
  };
  viewer.addHandler('animation-finish', reposition);
  viewer.addHandler('resize', reposition);
}

function SlideProperties(props: { slide: OpenedSlide }) {
  const s = props.slide.summary;
  const base = s.levels[0];
  const props_ = Object.entries(s.properties).sort(([a], [b]) => a.localeCompare(b));
  return (
    <section className="slide-properties" data-testid="slide-properties" aria-label="Slide properties">
      <dl className="facts">
        <dt>Format</dt>
        <dd data-testid="prop-format">{s.format}</dd>
        {s.vendor ? (
          <>
            <dt>Scanner</dt>
            <dd>{s.vendor}</dd>
          </>
        ) : null}
        {base ? (
          <>
            <dt>Size</dt>
            <dd data-testid="prop-size">
              {base.width.toLocaleString('en')} × {base.height.toLocaleString('en')} px
            </dd>
          </>
        ) : null}
        <dt>Pixel size</dt>
        <dd data-testid="prop-mpp">{s.mpp ? `${s.mpp.x.toPrecision(4)} × ${s.mpp.y.toPrecision(4)} µm` : 'not given'}</dd>
        {s.objectivePower ? (
          <>
            <dt>Objective</dt>
            <dd>{s.objectivePower}×</dd>
          </>
        ) : null}
        <dt>Levels</dt>
        <dd data-testid="prop-levels">{s.levels.length}</dd>
        {s.associated.length ? (
          <>
            <dt>Images</dt>
            <dd>{s.associated.map((a) => a.name).join(', ')}</dd>
          </>
        ) : null}
      </dl>
      <details className="levels">
        <summary>Pyramid</summary>
        <table className="mini-table">
          <thead>
            <tr>
              <th>Level</th>
              <th>Size</th>
              <th>Tile</th>
              <th>Down</th>
            </tr>
          </thead>
          <tbody>
            {s.levels.map((l, i) => (
              <tr key={i}>
                <td>{i}</td>
                <td>
                  {l.width}×{l.height}
                </td>
                <td>
                  {l.tileWidth}×{l.tileHeight}
                </td>
                <td>{Number(l.downsample.toPrecision(4))}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </details>
      {props_.length ? (
        <details className="properties">
          <summary>All properties ({props_.length})</summary>
          <table className="mini-table" data-testid="prop-table">
            <tbody>
              {props_.map(([k, v]) => (
                <tr key={k}>
                  <th>{k}</th>
                  <td>{v.length > 300 ? `${v.slice(0, 300)}… (${formatSize(v.length)})` : v}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </details>
      ) : null}
    </section>
  );
}
