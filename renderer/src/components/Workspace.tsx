/**
 * The reading workspace: one slide, or up to four side by side (serial sections, stain
 * comparison) with synchronised navigation, full screen and keyboard shortcuts. Each pane
 * is a Viewer; this component owns what is shared between them: which pane the keys act
 * on, the sync, the "add a slide beside" picker and the way back to storage.
 */
import { useCallback, useEffect, useMemo, useRef, useState } from 'react';
import type { StorageEntry } from '../../../main/api/contract.js';
import { ViewSync } from '../viewer/sync';
import { StorageBrowser } from './StorageBrowser';
import { Viewer, type PaneControls } from './Viewer';

/** More would leave each pane too small to read at a typical 1920-pixel screen. */
export const MAX_PANES = 4;

export interface Pane {
  /** Stable across closing other panes (React key, sync identity). */
  key: number;
  entry: StorageEntry;
}

interface Shortcut {
  keys: string;
  what: string;
}

export const SHORTCUTS: Shortcut[] = [
  { keys: '+ / −', what: 'Zoom in / out' },
  { keys: '← ↑ → ↓', what: 'Move the slide' },
  { keys: '0', what: 'Whole slide' },
  { keys: '1 2 3 4', what: 'Magnification 5× 10× 20× 40×' },
  { keys: 'R / Shift+R', what: 'Turn by 90° clockwise / anticlockwise' },
  { keys: 'F', what: 'Full screen' },
  { keys: 'S', what: 'Synchronised navigation on / off' },
  { keys: 'Tab', what: 'Next slide side by side' },
  { keys: '?', what: 'This list' },
];

const PRESET_KEYS: Record<string, number> = { '1': 5, '2': 10, '3': 20, '4': 40 };

export function Workspace(props: {
  panes: Pane[];
  onAdd: (entry: StorageEntry) => void;
  onClose: (key: number) => void;
  onBack: () => void;
  onSignIn: () => void;
  /** Where the picker starts (the folder of the first slide). */
  folder?: string;
}) {
  const sync = useMemo(() => new ViewSync(), []);
  const [synced, setSynced] = useState(true);
  const [activeKey, setActiveKey] = useState<number | undefined>(props.panes[0]?.key);
  const [picking, setPicking] = useState(false);
  const [help, setHelp] = useState(false);
  const [fullScreen, setFullScreen] = useState(false);
  const rootRef = useRef<HTMLDivElement>(null);
  const controls = useRef(new Map<number, PaneControls>());

  useEffect(() => {
    sync.enabled = synced;
  }, [sync, synced]);

  // The active pane closed: the keys move to the first one left.
  const active = props.panes.some((p) => p.key === activeKey) ? activeKey : props.panes[0]?.key;

  const toggleFullScreen = useCallback(() => {
    const el = rootRef.current;
    if (!el) return;
    if (document.fullscreenElement) void document.exitFullscreen().catch(() => undefined);
    else void el.requestFullscreen().catch(() => undefined);
  }, []);

  useEffect(() => {
    const onChange = (): void => setFullScreen(document.fullscreenElement === rootRef.current);
    document.addEventListener('fullscreenchange', onChange);
    return () => document.removeEventListener('fullscreenchange', onChange);
  }, []);

  useEffect(() => {
    // Window capture phase: before OpenSeadragon's own key handling on its canvas, so one
    // key press never acts twice (OSD also turns on 'r' and zooms on '+').
    const onKey = (e: KeyboardEvent): void => {
      if (e.ctrlKey || e.metaKey || e.altKey || picking) return;
      const target = e.target as HTMLElement | null;
      if (target && (target.isContentEditable || ['INPUT', 'TEXTAREA', 'SELECT'].includes(target.tagName))) return;
      if (help && e.key === 'Escape') {
        setHelp(false);
        e.preventDefault();
        return;
      }
      const pane = active === undefined ? undefined : controls.current.get(active);
      const act = (): boolean => {
        switch (e.key) {
          case '+':
          case '=':
            pane?.zoomBy(1.5);
            return true;
          case '-':
          case '_':
            pane?.zoomBy(1 / 1.5);
            return true;
          case '0':
            pane?.home();
            return true;
          case 'r':
            pane?.rotate(90);
            return true;
          case 'R':
            pane?.rotate(-90);
            return true;
          case 'ArrowLeft':
            pane?.pan(-0.25, 0);
            return true;
          case 'ArrowRight':
            pane?.pan(0.25, 0);
            return true;
          case 'ArrowUp':
            pane?.pan(0, -0.25);
            return true;
          case 'ArrowDown':
            pane?.pan(0, 0.25);
            return true;
          case 'f':
          case 'F':
            toggleFullScreen();
            return true;
          case 's':
          case 'S':
            setSynced((on) => !on);
            return true;
          case '?':
            setHelp((on) => !on);
            return true;
          case 'Tab': {
            if (props.panes.length < 2) return false;
            const i = props.panes.findIndex((p) => p.key === active);
            const next = props.panes[(i + (e.shiftKey ? props.panes.length - 1 : 1)) % props.panes.length];
            if (next) setActiveKey(next.key);
            return true;
          }
          default: {
            const preset = PRESET_KEYS[e.key];
            if (preset === undefined) return false;
            pane?.magnify(preset);
            return true;
          }
        }
      };
      if (act()) {
        e.preventDefault();
        e.stopPropagation();
      }
    };
    window.addEventListener('keydown', onKey, true);
    return () => window.removeEventListener('keydown', onKey, true);
  }, [active, help, picking, props.panes, toggleFullScreen]);

  const several = props.panes.length > 1;
  return (
    <main className="workspace" ref={rootRef} data-testid="workspace" data-panes={props.panes.length}>
      <div className="workspace-toolbar" role="toolbar" aria-label="Slides">
        <button className="btn" data-testid="viewer-back" onClick={props.onBack}>
          ← Back to storage
        </button>
        <button className="btn" data-testid="compare-add" disabled={props.panes.length >= MAX_PANES} title="Open another slide beside this one" onClick={() => setPicking(true)}>
          + Slide side by side
        </button>
        {several ? (
          <label className="toggle" title="Move all slides together (S)">
            <input type="checkbox" data-testid="sync-toggle" checked={synced} onChange={(e) => setSynced(e.target.checked)} />
            Synchronised navigation
          </label>
        ) : null}
        <span className="spacer" />
        <button className="btn" data-testid="fullscreen" aria-pressed={fullScreen} onClick={toggleFullScreen} title="Full screen (F)">
          {fullScreen ? 'Leave full screen' : 'Full screen'}
        </button>
        <button className="btn" data-testid="shortcuts" aria-pressed={help} onClick={() => setHelp((on) => !on)} title="Keyboard shortcuts (?)">
          ⌨ Keys
        </button>
      </div>
      <div className={`workspace-panes panes-${props.panes.length}`}>
        {props.panes.map((p, i) => (
          <Viewer
            key={p.key}
            entry={p.entry}
            pane={i}
            sync={sync}
            onSignIn={props.onSignIn}
            active={several && p.key === active}
            onActivate={() => setActiveKey(p.key)}
            register={(c) => {
              if (c) controls.current.set(p.key, c);
              else controls.current.delete(p.key);
            }}
            {...(several ? { onClose: () => props.onClose(p.key) } : {})}
          />
        ))}
      </div>
      {help ? (
        <div className="overlay" role="dialog" aria-label="Keyboard shortcuts" data-testid="shortcuts-help" onClick={() => setHelp(false)}>
          <section className="card shortcuts" onClick={(e) => e.stopPropagation()}>
            <h2>Keyboard shortcuts</h2>
            <table className="mini-table">
              <tbody>
                {SHORTCUTS.map((s) => (
                  <tr key={s.keys}>
                    <th>{s.keys}</th>
                    <td>{s.what}</td>
                  </tr>
                ))}
              </tbody>
            </table>
            <p className="muted">With several slides side by side, the keys act on the one last clicked (outlined).</p>
            <button className="btn" onClick={() => setHelp(false)}>
              Close
            </button>
          </section>
        </div>
      ) : null}
      {picking ? (
        <div className="overlay" role="dialog" aria-label="Choose a slide to open beside" data-testid="compare-picker">
          <section className="card picker">
            <div className="picker-head">
              <h2>Open a slide beside</h2>
              <button className="btn" data-testid="compare-cancel" onClick={() => setPicking(false)}>
                Cancel
              </button>
            </div>
            <StorageBrowser
              onSignIn={props.onSignIn}
              {...(props.folder === undefined ? {} : { initialUri: props.folder })}
              onOpenSlide={(entry) => {
                setPicking(false);
                props.onAdd(entry);
              }}
            />
          </section>
        </div>
      ) : null}
    </main>
  );
}
