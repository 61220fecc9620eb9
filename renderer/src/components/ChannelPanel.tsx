/**
 * Fluorescence channel controls: per channel shown or hidden, its colour and its
 * contrast window (min–max in the slide's own sample values), an automatic window from
 * the tiles on screen, and a reset. Changes redraw from the planes already loaded
 * (renderer/src/viewer/channels-layer.ts); nothing is fetched again.
 *
 * Slides with more than 8 bits per sample rarely use their type's full range (a 12-bit
 * camera in 16-bit words looks black at 0–65535), so once the first view has loaded
 * they get the automatic window, unless the user has already changed something.
 *
 * `data-version` counts the settings asked for, `data-applied` the last one every tile
 * is drawn with: tests (and anything else) wait for them to match.
 */
import { useCallback, useEffect, useRef, useState } from 'react';
import { forgetChannels, recallChannels, rememberChannels } from '../viewer/channel-memory';
import type { OpenedSlide } from '../../../main/api/contract.js';
import { defaultDisplay, sampleRange, type ChannelDisplay } from '../viewer/channels';
import type { ChannelLayer } from '../viewer/channels-layer';

export function ChannelPanel(props: { layer: ChannelLayer; slide: OpenedSlide }) {
  const { layer, slide } = props;
  const channels = slide.summary.channels;
  const [display, setDisplay] = useState<ChannelDisplay[]>(() => layer.display());
  // This slide's settings from last time, applied before the first tiles are drawn.
  const [recalled] = useState(() => recallChannels(slide.uri, channels.length));
  const [version, setVersion] = useState(0);
  const [applied, setApplied] = useState(0);
  const [ready, setReady] = useState(false);
  // Where the sliders end: the type's top, or (wider types) a little above the data seen, so
  // a 12-bit signal in 16-bit words does not sit in the first fifteenth of the slider.
  const [sliderTop, setSliderTop] = useState<(number | undefined)[]>([]);
  const touched = useRef(false);
  // Coalesce: while one redraw runs, only the latest settings asked for wait for the next.
  const pending = useRef<{ display: ChannelDisplay[]; version: number } | undefined>(undefined);
  const running = useRef(false);
  const versionRef = useRef(0);

  const apply = useCallback(
    (next: ChannelDisplay[]) => {
      setDisplay(next);
      const v = ++versionRef.current;
      setVersion(v);
      pending.current = { display: next, version: v };
      if (running.current) return;
      running.current = true;
      void (async () => {
        try {
          while (pending.current) {
            const job = pending.current;
            pending.current = undefined;
            await layer.setDisplay(job.display);
            setApplied(job.version);
          }
        } finally {
          running.current = false;
        }
      })();
    },
    [layer],
  );

  useEffect(() => {
    if (!recalled) return;
    touched.current = true;
    apply(recalled);
  }, [recalled, apply]);

  useEffect(() => {
    let live = true;
    void layer.firstLoad().then(() => {
      if (!live) return;
      const seen = layer.autoWindows(0, 1);
      setSliderTop(channels.map((c, i) => (c.bitsPerSample > 8 && seen[i] ? Math.min(sampleRange(c.bitsPerSample).max, Math.ceil(seen[i].max * 1.25)) : undefined)));
      if (!touched.current && channels.some((c) => c.bitsPerSample > 8)) {
        const windows = layer.autoWindows();
        const next = layer.display().map((d, i) => (channels[i]!.bitsPerSample > 8 && windows[i] ? { ...d, ...windows[i] } : d));
        apply(next);
      }
      setReady(true);
    });
    return () => {
      live = false;
    };
  }, [layer, channels, apply]);

  // The user's own changes are kept for this slide; Reset forgets them.
  const choose = (next: ChannelDisplay[]): void => {
    touched.current = true;
    rememberChannels(slide.uri, next);
    apply(next);
  };

  const change = (i: number, patch: Partial<ChannelDisplay>): void => choose(display.map((d, j) => (j === i ? { ...d, ...patch } : d)));

  const auto = (): void => {
    const windows = layer.autoWindows();
    choose(display.map((d, i) => (windows[i] ? { ...d, ...windows[i] } : d)));
  };

  const reset = (): void => {
    touched.current = true;
    forgetChannels(slide.uri);
    apply(defaultDisplay(channels));
  };

  return (
    <section
      className="channel-panel"
      data-testid="channel-panel"
      aria-label="Fluorescence channels"
      data-ready={ready ? 'true' : 'false'}
      data-version={version}
      data-applied={applied}
    >
      <h2 className="channel-panel-title">Channels</h2>
      <ul className="channel-list">
        {channels.map((c, i) => {
          const d = display[i];
          if (!d) return null;
          const range = sampleRange(c.bitsPerSample);
          const top = Math.max(sliderTop[i] ?? range.max, d.max);
          const step = 1;
          const label = c.name || `Channel ${i + 1}`;
          return (
            <li key={i} className={`channel-row${d.visible ? '' : ' channel-off'}`} data-testid={`channel-${i}`} data-name={label}>
              <div className="channel-head">
                <label className="channel-name">
                  <input type="checkbox" checked={d.visible} data-testid={`channel-visible-${i}`} onChange={(e) => change(i, { visible: e.target.checked })} />
                  <span title={label}>{label}</span>
                </label>
                <input
                  type="color"
                  className="channel-color"
                  value={d.color}
                  aria-label={`Colour of ${label}`}
                  data-testid={`channel-color-${i}`}
                  onChange={(e) => change(i, { color: e.target.value })}
                />
              </div>
              <div className="channel-window">
                <WindowInput label="Min" testId={`channel-min-${i}`} value={d.min} min={range.min} max={range.max} sliderMax={top} step={step} onChange={(v) => change(i, { min: v })} />
                <WindowInput label="Max" testId={`channel-max-${i}`} value={d.max} min={range.min} max={range.max} sliderMax={top} step={step} onChange={(v) => change(i, { max: v })} />
              </div>
              <span className="channel-depth muted small">{c.bitsPerSample}-bit</span>
            </li>
          );
        })}
      </ul>
      <div className="channel-actions">
        <button className="btn" data-testid="channels-auto" title="Contrast from the tiles on screen" onClick={auto}>
          Auto contrast
        </button>
        <button className="btn" data-testid="channels-reset" title="Full range, default colours, all channels on" onClick={reset}>
          Reset
        </button>
      </div>
    </section>
  );
}

/** A slider (up to `sliderMax`) with the exact number next to it (anywhere in the type's range). */
function WindowInput(props: { label: string; testId: string; value: number; min: number; max: number; sliderMax: number; step: number; onChange: (v: number) => void }) {
  const { label, value, min, max, sliderMax, step } = props;
  const [text, setText] = useState(String(value));
  useEffect(() => setText(String(value)), [value]);
  const commit = (raw: string): void => {
    setText(raw);
    const v = Number(raw);
    if (raw.trim() !== '' && Number.isFinite(v)) props.onChange(Math.min(max, Math.max(min, v)));
  };
  return (
    <label className="channel-bound">
      <span className="muted small">{label}</span>
      <input type="range" min={min} max={sliderMax} step={step} value={Math.min(sliderMax, Math.max(min, value))} aria-label={label} data-testid={`${props.testId}-slider`} onChange={(e) => props.onChange(Number(e.target.value))} />
      <input type="number" className="channel-number" min={min} max={max} step={step} value={text} aria-label={`${label} value`} data-testid={props.testId} onChange={(e) => commit(e.target.value)} />
    </label>
  );
}
