/**
 * The annotation side of a pane: tool bar, class palette (keys 1–9 pick a class), the
 * list of objects (filter by class, sort by area, click to fly there), show / hide per
 * class, fill opacity, live length / area, the sync state and colleagues' layers.
 * Drawing happens on the overlay (overlay.ts) through the tools (tools.ts).
 */
import OpenSeadragon from 'openseadragon';
import { useEffect, useMemo, useRef, useState } from 'react';
import type { AnnotationClass, AnnotationGeometry, AnnotationObject, OpenedSlide } from '../../../main/api/contract.js';
import { asApiError } from '../api';
import { area, bounds, formatArea, formatLength, length, measure, type PixelSize } from './geometry';
import { loadClasses, loadLayer, onAnnotationsChanged, saveClasses, SlideAnnotations } from './client';
import { Overlay, type Layer } from './overlay';
import { ObjectIndex } from './spatial-index';
import { attachTools, TOOLS, type Tool } from './tools';
import { syncWords } from './words';

export function AnnotationPanel(props: { viewer: OpenSeadragon.Viewer; slide: OpenedSlide }) {
  const { viewer, slide } = props;
  const mpp: PixelSize | undefined = slide.summary.mpp;
  const store = useMemo(() => new SlideAnnotations(slide.uri), [slide.uri]);
  const [revision, setRevision] = useState(0);
  const [error, setError] = useState<string | undefined>();
  const [tool, setTool] = useState<Tool>('select');
  const [classes, setClasses] = useState<AnnotationClass[]>([]);
  const [active, setActive] = useState<string | undefined>();
  const [selected, setSelected] = useState<string[]>([]);
  const [hidden, setHidden] = useState<string[]>([]);
  const [opacity, setOpacity] = useState(0.25);
  const [filter, setFilter] = useState('');
  const [live, setLive] = useState<AnnotationGeometry | undefined>();
  const [layers, setLayers] = useState<Record<string, ObjectIndex | undefined>>({});
  const overlayRef = useRef<Overlay | undefined>(undefined);
  const toolsRef = useRef<ReturnType<typeof attachTools> | undefined>(undefined);
  // The tools read the current choices through refs: they are attached once per viewer.
  const now = useRef({ tool, selected, active, classes });
  now.current = { tool, selected, active, classes };

  const fail = (err: unknown): void => setError(asApiError(err).message);
  const classOf = (name: string | undefined): AnnotationObject['classification'] => {
    const c = now.current.classes.find((k) => k.name === name);
    return c ? { name: c.name, color: c.color } : undefined;
  };

  useEffect(() => {
    const unsub = store.subscribe(() => setRevision((r) => r + 1));
    const off = onAnnotationsChanged((s) => void store.changed(s).catch(fail));
    void store.load().catch(fail);
    void loadClasses().then(setClasses, fail);
    return () => {
      unsub();
      off();
    };
  }, [store]);

  useEffect(() => {
    const overlay = new Overlay(viewer);
    overlayRef.current = overlay;
    const tools = attachTools(viewer, {
      tool: () => now.current.tool,
      index: () => store.index,
      selected: () => new Set(now.current.selected),
      select: setSelected,
      create: (input) => {
        const classification = classOf(now.current.active);
        void store
          .create([{ ...input, measurements: measure(input.geometry, mpp), ...(classification ? { classification } : {}) }])
          .then((made) => setSelected(made.map((o) => o.id)), fail);
        setLive(undefined);
      },
      update: (id, geometry) => void store.update(id, { geometry, measurements: measure(geometry, mpp) }).catch(fail),
      draft: (d) => {
        overlay.setDraft(d);
        setLive(d.geometry ?? (d.path && d.path.length > 1 ? { type: d.closed ? 'Polygon' : 'LineString', coordinates: d.closed ? [[...d.path, d.path[0]!]] : d.path } as AnnotationGeometry : undefined));
      },
    });
    toolsRef.current = tools;
    return () => {
      tools.detach();
      overlay.destroy();
      overlayRef.current = undefined;
    };
  }, [viewer, store]);

  useEffect(() => {
    const own: Layer = { index: store.index, readOnly: false, visible: true };
    const others = Object.values(layers)
      .filter((l): l is ObjectIndex => Boolean(l))
      .map((index) => ({ index, readOnly: true, visible: true }));
    overlayRef.current?.setLayers([own, ...others]);
    overlayRef.current?.setStyle({ fillOpacity: opacity, hidden: new Set(hidden), selected: new Set(selected) });
  }, [store, revision, layers, opacity, hidden, selected]);

  useEffect(() => {
    // Panning is the select tool's drag; drawing tools take the drag for the shape.
    viewer.canvas.dataset.tool = tool;
    toolsRef.current?.cancel();
  }, [tool, viewer]);

  const act = (f: () => Promise<unknown>): void => void f().catch(fail);
  const removeSelected = (): void => act(async () => {
    const ids = selected.filter((id) => !store.index.get(id)?.locked);
    if (ids.length) await store.remove(ids);
    setSelected([]);
  });
  const duplicate = (): void => act(async () => {
    const copies = selected.map((id) => store.index.get(id)).filter((o): o is AnnotationObject => Boolean(o));
    const made = await store.create(
      copies.map((o) => ({ objectType: o.objectType, geometry: o.geometry, ...(o.shape ? { shape: o.shape } : {}), classification: o.classification ?? null, measurements: o.measurements, ...(o.name ? { name: o.name } : {}) })),
    );
    setSelected(made.map((o) => o.id));
  });
  const toggleLock = (): void => act(async () => {
    for (const id of selected) {
      const o = store.index.get(id);
      if (o) await store.update(id, { locked: !o.locked });
    }
  });
  const setClass = (name: string | undefined): void => {
    setActive(name);
    const classification = classOf(name) ?? null;
    act(async () => {
      for (const id of now.current.selected) await store.update(id, { classification });
    });
  };

  useEffect(() => {
    const onKey = (e: KeyboardEvent): void => {
      const target = e.target as HTMLElement | null;
      if (target && (target.tagName === 'INPUT' || target.tagName === 'TEXTAREA' || target.isContentEditable)) return;
      // Only the pane the pointer last used answers (side by side, each pane has its own objects).
      if (!viewer.element.closest('.viewer-pane.active') && document.querySelectorAll('.viewer-pane').length > 1) return;
      const mod = e.ctrlKey || e.metaKey;
      if (mod && e.key.toLowerCase() === 'z') {
        e.preventDefault();
        act(() => (e.shiftKey ? store.redo() : store.undo()));
        return;
      }
      if (mod && e.key.toLowerCase() === 'y') {
        e.preventDefault();
        act(() => store.redo());
        return;
      }
      // The workspace's navigation keys (capture phase) come first: a key it used is not also a class or a tool.
      if (mod || e.altKey || e.defaultPrevented) return;
      if (e.key === 'Escape') toolsRef.current?.cancel();
      else if (e.key === 'Enter') toolsRef.current?.finish();
      else if (e.key === 'Delete' || e.key === 'Backspace') removeSelected();
      else {
        const c = now.current.classes.find((k) => k.shortcut === e.key);
        const t = e.shiftKey ? TOOLS.find((k) => k.key === e.key.toLowerCase()) : undefined;
        if (t) setTool(t.tool);
        else if (c) setClass(c.name);
      }
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  });

  const flyTo = (o: AnnotationObject): void => {
    const item = viewer.world.getItemAt(0);
    if (!item) return;
    const b = bounds(o.geometry);
    const pad = Math.max(b.maxX - b.minX, b.maxY - b.minY, 50) * 0.5;
    viewer.viewport.fitBounds(item.imageToViewportRectangle(new OpenSeadragon.Rect(b.minX - pad, b.minY - pad, b.maxX - b.minX + 2 * pad, b.maxY - b.minY + 2 * pad)));
    setSelected([o.id]);
  };

  void revision;
  const objects = store.index.all().filter((o) => o.objectType === 'annotation' && (!filter || (o.classification?.name ?? '') === filter));
  objects.sort((a, b) => area(b.geometry) - area(a.geometry));
  const state = store.state;
  const sync = state ? syncWords(state.sync) : undefined;
  const chosen = selected.length === 1 ? store.index.get(selected[0]!) : undefined;
  const shown = live ?? chosen?.geometry;
  return (
    <section className="annotation-panel" data-testid="annotation-panel" aria-label="Annotations">
      <header className="annotation-head">
        <h2>Annotations</h2>
        {sync ? (
          <span className={`chip sync-${state?.sync.status}`} data-testid="annotation-sync" data-status={state?.sync.status} title={state?.sync.message ?? sync}>
            {sync}
          </span>
        ) : null}
      </header>
      {state?.fingerprintChanged ? (
        <p className="viewer-alert" role="alert" data-testid="annotation-fingerprint">
          The slide in storage is not the one these annotations were drawn on; they may not line up.
        </p>
      ) : null}
      {error ? (
        <p className="error-text" role="alert" data-testid="annotation-error">
          {error}
        </p>
      ) : null}
      <div className="annotation-tools" role="toolbar" aria-label="Drawing tools">
        {TOOLS.map((t) => (
          <button key={t.tool} className={`btn${tool === t.tool ? ' active' : ''}`} data-testid={`tool-${t.tool}`} aria-pressed={tool === t.tool} title={`${t.label} (Shift+${t.key.toUpperCase()})`} onClick={() => setTool(t.tool)}>
            {t.label}
          </button>
        ))}
      </div>
      <div className="annotation-actions">
        <button className="btn" data-testid="annotation-undo" disabled={!state?.canUndo} onClick={() => act(() => store.undo())} title="Undo (Ctrl+Z)">
          Undo
        </button>
        <button className="btn" data-testid="annotation-redo" disabled={!state?.canRedo} onClick={() => act(() => store.redo())} title="Redo (Ctrl+Shift+Z)">
          Redo
        </button>
        <button className="btn" data-testid="annotation-delete" disabled={!selected.length} onClick={removeSelected}>
          Delete
        </button>
        <button className="btn" data-testid="annotation-duplicate" disabled={!selected.length} onClick={duplicate}>
          Duplicate
        </button>
        <button className="btn" data-testid="annotation-lock" disabled={!selected.length} onClick={toggleLock}>
          {chosen?.locked ? 'Unlock' : 'Lock'}
        </button>
      </div>
      {shown ? <p data-testid="annotation-measure">{measureWords(shown, mpp)}</p> : null}
      <ClassList
        classes={classes}
        active={active}
        hidden={hidden}
        onPick={setClass}
        onToggle={(name) => setHidden((h) => (h.includes(name) ? h.filter((x) => x !== name) : [...h, name]))}
        onSave={(next) => void saveClasses(next).then(setClasses, fail)}
      />
      <label className="annotation-opacity">
        Fill <input type="range" min={0} max={1} step={0.05} value={opacity} data-testid="annotation-opacity" onChange={(e) => setOpacity(Number(e.target.value))} />
      </label>
      <label>
        Show{' '}
        <select value={filter} data-testid="annotation-filter" onChange={(e) => setFilter(e.target.value)}>
          <option value="">all classes</option>
          {classes.map((c) => (
            <option key={c.name} value={c.name}>
              {c.name}
            </option>
          ))}
        </select>
      </label>
      <ol className="annotation-list" data-testid="annotation-list">
        {objects.slice(0, 500).map((o) => (
          <li key={o.id}>
            <button className={`link${selected.includes(o.id) ? ' active' : ''}`} data-testid="annotation-item" data-id={o.id} onClick={() => flyTo(o)}>
              {o.name ?? o.classification?.name ?? 'Unclassified'} · {o.geometry.type === 'LineString' ? formatLength(length(o.geometry, mpp), mpp) : formatArea(area(o.geometry, mpp), mpp)}
              {o.locked ? ' · locked' : ''}
            </button>
          </li>
        ))}
      </ol>
      {state?.counts.detections ? <p className="muted">{state.counts.detections.toLocaleString('en')} detections</p> : null}
      {state?.layers.length ? (
        <fieldset className="annotation-layers" data-testid="annotation-layers">
          <legend>Colleagues (read-only)</legend>
          {state.layers.map((l) => (
            <label key={l.author.sub}>
              <input
                type="checkbox"
                data-testid="annotation-layer"
                data-author={l.author.sub}
                checked={Boolean(layers[l.author.sub])}
                onChange={(e) => {
                  const on = e.target.checked;
                  if (!on) setLayers((m) => ({ ...m, [l.author.sub]: undefined }));
                  else
                    void loadLayer(slide.uri, l.author.sub).then((objs) => {
                      const index = new ObjectIndex();
                      index.reset(objs);
                      setLayers((m) => ({ ...m, [l.author.sub]: index }));
                    }, fail);
                }}
              />{' '}
              {l.author.name} ({l.count})
            </label>
          ))}
        </fieldset>
      ) : null}
    </section>
  );
}

function measureWords(g: AnnotationGeometry, mpp: PixelSize | undefined): string {
  if (g.type === 'LineString') return `Length ${formatLength(length(g, mpp), mpp)}`;
  if (g.type === 'Polygon' || g.type === 'MultiPolygon') return `Area ${formatArea(area(g, mpp), mpp)} · perimeter ${formatLength(length(g, mpp), mpp)}`;
  return '';
}

function ClassList(props: {
  classes: AnnotationClass[];
  active: string | undefined;
  hidden: string[];
  onPick: (name: string | undefined) => void;
  onToggle: (name: string) => void;
  onSave: (classes: AnnotationClass[]) => void;
}) {
  const [name, setName] = useState('');
  const [color, setColor] = useState('#33aa55');
  const hex = (c: [number, number, number]): string => `#${c.map((v) => v.toString(16).padStart(2, '0')).join('')}`;
  return (
    <div className="annotation-classes" data-testid="annotation-classes">
      {props.classes.map((c) => (
        <div key={c.name} className="annotation-class">
          <input
            type="color"
            value={hex(c.color)}
            aria-label={`Colour of ${c.name}`}
            onChange={(e) => {
              const v = e.target.value;
              const rgb: [number, number, number] = [1, 3, 5].map((i) => parseInt(v.slice(i, i + 2), 16)) as [number, number, number];
              props.onSave(props.classes.map((k) => (k.name === c.name ? { ...k, color: rgb } : k)));
            }}
          />
          <button className={`btn${props.active === c.name ? ' active' : ''}`} data-testid="annotation-class" data-class={c.name} onClick={() => props.onPick(c.name)}>
            {c.shortcut ? `${c.shortcut} ` : ''}
            {c.name}
          </button>
          <label title={`Show or hide ${c.name}`}>
            <input type="checkbox" data-testid="annotation-class-visible" data-class={c.name} checked={!props.hidden.includes(c.name)} onChange={() => props.onToggle(c.name)} />
            shown
          </label>
          <button className="btn btn-quiet" aria-label={`Remove ${c.name}`} onClick={() => props.onSave(props.classes.filter((k) => k.name !== c.name))}>
            ✕
          </button>
        </div>
      ))}
      <form
        onSubmit={(e) => {
          e.preventDefault();
          const n = name.trim();
          if (!n || props.classes.some((c) => c.name === n)) return;
          const rgb = [1, 3, 5].map((i) => parseInt(color.slice(i, i + 2), 16)) as [number, number, number];
          props.onSave([...props.classes, { name: n, color: rgb }]);
          setName('');
        }}
      >
        <input value={name} placeholder="New class" data-testid="annotation-new-class" onChange={(e) => setName(e.target.value)} />
        <input type="color" value={color} aria-label="Colour of the new class" onChange={(e) => setColor(e.target.value)} />
        <button className="btn" type="submit">
          Add
        </button>
      </form>
    </div>
  );
}
