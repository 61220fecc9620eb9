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
import { installTestHook } from '../viewer/test-hook';
import { createTileSource } from '../viewer/tile-source';
import { createChannelLayer, type ChannelLayer } from '../viewer/channels-layer';
import { ChannelPanel } from './ChannelPanel';
import { ErrorPanel } from './ErrorPanel';
import { PinControl } from './PinControl';

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

export function Viewer(props: { entry: StorageEntry; onBack: () => void; onSignIn: () => void }) {
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

  return (
    <main className="viewer" data-testid="viewer" data-uri={uri}>
      <div className="viewer-toolbar">
        <button className="btn" data-testid="viewer-back" onClick={props.onBack}>
          ← Back to storage
        </button>
        <h1 className="viewer-title" title={uri} data-testid="viewer-title">
          {props.entry.name}
        </h1>
        {slide?.offline ? <span className="chip" data-testid="viewer-offline">Offline copy</span> : null}
        {slide ? <PinControl slide={slide} /> : null}
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
        <SlideView slide={slide} />
      )}
    </main>
  );
}

function SlideView(props: { slide: OpenedSlide }) {
  const { slide } = props;
  const canvasRef = useRef<HTMLDivElement>(null);
  const barRef = useRef<HTMLDivElement>(null);
  const viewerRef = useRef<OpenSeadragon.Viewer | undefined>(undefined);
  const [loaded, setLoaded] = useState(false);
  const [failedTiles, setFailedTiles] = useState(0);
  const [openError, setOpenError] = useState<string | undefined>();
  const [readout, setReadout] = useState<Readout>({ zoom: 0 });
  // Fluorescence: the channels are composited in the renderer (viewer/channels-layer.ts).
  const [channelLayer, setChannelLayer] = useState<ChannelLayer | undefined>();

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
      navigatorId: NAVIGATOR_ID,
      blendTime: 0,
      animationTime: 0.4,
      maxZoomPixelRatio: 2,
      visibilityRatio: 0.5,
      crossOriginPolicy: false,
      loadTilesWithAjax: false,
      gestureSettingsMouse: { clickToZoom: false, dblClickToZoom: true },
      // A TileSource instance is accepted at run time; the typings list only option objects.
      tileSources: (channels?.tileSource ?? createTileSource(slide)) as unknown as OpenSeadragon.TileSourceOptions,
    });
    const detachChannels = channels?.attach(viewer);
    setChannelLayer(channels);
    viewerRef.current = viewer;
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
    viewer.addHandler('tile-load-failed', () => setFailedTiles((n) => n + 1));
    viewer.addHandler('animation', update);
    viewer.addHandler('resize', update);
    const removeHook = installTestHook(viewer, slide);
    return () => {
      detachChannels?.();
      removeHook();
      viewerRef.current = undefined;
      viewer.destroy();
    };
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
  const zoomBy = (f: number): void => {
    viewerRef.current?.viewport.zoomBy(f);
    viewerRef.current?.viewport.applyConstraints();
  };

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
          <button className="btn" data-testid="zoom-home" onClick={() => viewerRef.current?.viewport.goHome()}>
            Whole slide
          </button>
          {maxMag
            ? PRESETS.filter((p) => p <= maxMag * 1.05).map((p) => (
                <button key={p} className="btn" data-testid={`preset-${p}`} onClick={() => zoomToMagnification(p)}>
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
        {openError || failedTiles > 0 ? (
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
          <div id={NAVIGATOR_ID} className="viewer-navigator" />
        </div>
        {channelLayer ? <ChannelPanel layer={channelLayer} slide={slide} /> : null}
        <SlideProperties slide={slide} />
      </aside>
    </div>
  );
}

/**
 * OSD's canvas drawer draws every tile one screen pixel larger to hide seams, which
 * stretches a 256-pixel tile over 257 pixels: at 1:1 the pathologist would see every
 * tile resampled (measured: mean difference 3.3, 27 dB against the slide's own pixels).
 * At rest tiles are drawn at their exact size; while moving, the overlap hides seams.
 */
function seamlessAtRest(viewer: OpenSeadragon.Viewer): void {
  const drawer = viewer.drawer as unknown as { minimumOverlapRequired?: (tiledImage: unknown) => boolean };
  if (typeof drawer.minimumOverlapRequired === 'function') drawer.minimumOverlapRequired = () => (viewer as unknown as { isAnimating(): boolean }).isAnimating();
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
