/**
 * The annotation calls: checks what the renderer sends, fills id / author / times, and
 * turns each call into one store edit (one undo step). Knows nothing of transports.
 */
import { randomUUID } from 'node:crypto';
import type {
  AnnotationAuthor,
  AnnotationClass,
  AnnotationExport,
  AnnotationImportResult,
  AnnotationInput,
  AnnotationObject,
  AnnotationPage,
  AnnotationPatch,
  AnnotationSlideState,
  AnnotationSyncState,
} from '../common/api-types.js';
import { validateClasses, validateColor } from './classes.js';
import { annotationErrors } from './errors.js';
import { checkGeometry } from './geometry.js';
import { parseGeoJson, toFeatureCollection } from './geojson.js';
import type { AnnotationStore, Change } from './store.js';

export interface AnnotationServiceOptions {
  store: AnnotationStore;
  /** The signed-in user, or undefined when signed out. */
  author: () => AnnotationAuthor | undefined;
}

const MAX_OBJECTS_PER_EDIT = 200_000;

export class AnnotationService {
  private readonly listeners = new Set<(s: AnnotationSlideState) => void>();
  constructor(private readonly o: AnnotationServiceOptions) {}

  onChange(l: (s: AnnotationSlideState) => void): () => void {
    this.listeners.add(l);
    return () => this.listeners.delete(l);
  }

  state(uri: string): AnnotationSlideState {
    const st = this.o.store;
    return {
      uri,
      revision: st.revision(uri),
      canUndo: st.canUndo(uri),
      canRedo: st.canRedo(uri),
      counts: st.counts(uri),
      sync: this.syncState(uri),
      fingerprintChanged: false,
      layers: [],
    };
  }

  list(uri: string, objectType?: 'annotation' | 'detection', after?: string, limit?: number): AnnotationPage {
    const n = Math.min(Math.max(limit ?? 5000, 1), 20_000);
    const objects = this.o.store.list(uri, { ...(objectType ? { objectType } : {}), ...(after ? { after } : {}), limit: n + 1 });
    const page: AnnotationPage = { objects: objects.slice(0, n), revision: this.o.store.revision(uri) };
    if (objects.length > n) page.next = objects[n - 1]!.id;
    return page;
  }

  create(uri: string, inputs: unknown): AnnotationObject[] {
    const author = this.requireAuthor();
    if (!Array.isArray(inputs) || inputs.length === 0 || inputs.length > MAX_OBJECTS_PER_EDIT) throw bad(`"objects" must be a list of 1–${MAX_OBJECTS_PER_EDIT} objects`);
    const now = Date.now();
    const created = inputs.map((i: unknown, n) => this.fromInput(uri, i, n, author, now));
    const ids = new Set<string>();
    for (const c of created) {
      if (ids.has(c.id) || this.o.store.get(uri, c.id)) throw bad(`the id "${c.id}" is already used on this slide`);
      ids.add(c.id);
    }
    this.edit(uri, 'create', created.map((after) => ({ id: after.id, before: null, after })));
    return created;
  }

  update(uri: string, id: string, patch: unknown): AnnotationObject {
    this.requireAuthor();
    const before = this.o.store.get(uri, id);
    if (!before) throw annotationErrors.make('ANNOTATIONS_NOT_FOUND');
    if (typeof patch !== 'object' || patch === null || Array.isArray(patch)) throw bad('"patch" must be an object');
    const p = patch as AnnotationPatch;
    // Locked objects refuse every change but unlocking.
    if (before.locked && !(p.locked === false && Object.keys(p).length === 1)) throw annotationErrors.make('ANNOTATIONS_LOCKED');
    const after: AnnotationObject = { ...before, modified: Math.max(Date.now(), before.modified + 1) };
    if (p.geometry !== undefined) after.geometry = geometry(p.geometry);
    if (p.shape !== undefined) setOpt(after, 'shape', p.shape === null ? null : shape(p.shape));
    if (p.classification !== undefined) setOpt(after, 'classification', p.classification === null ? null : classification(p.classification));
    if (p.name !== undefined) setOpt(after, 'name', p.name === null ? null : text(p.name, 'name'));
    if (p.description !== undefined) setOpt(after, 'description', p.description === null ? null : text(p.description, 'description'));
    if (p.locked !== undefined) after.locked = bool(p.locked, 'locked');
    if (p.measurements !== undefined) after.measurements = measurements(p.measurements);
    if (p.parentId !== undefined) setOpt(after, 'parentId', p.parentId === null ? null : text(p.parentId, 'parentId'));
    this.edit(uri, 'update', [{ id, before, after }]);
    return after;
  }

  delete(uri: string, ids: unknown): AnnotationSlideState {
    this.requireAuthor();
    if (!Array.isArray(ids) || ids.length === 0 || !ids.every((i) => typeof i === 'string')) throw bad('"ids" must be a list of ids');
    const changes: Change[] = [];
    for (const id of new Set(ids as string[])) {
      const before = this.o.store.get(uri, id);
      if (!before) throw annotationErrors.make('ANNOTATIONS_NOT_FOUND', { details: { id } });
      if (before.locked) throw annotationErrors.make('ANNOTATIONS_LOCKED', { details: { id } });
      changes.push({ id, before, after: null });
    }
    this.edit(uri, 'delete', changes);
    return this.state(uri);
  }

  undo(uri: string): AnnotationSlideState {
    if (this.o.store.undo(uri)) this.emit(uri);
    return this.state(uri);
  }

  redo(uri: string): AnnotationSlideState {
    if (this.o.store.redo(uri)) this.emit(uri);
    return this.state(uri);
  }

  classes(): AnnotationClass[] {
    return this.o.store.classes();
  }

  setClasses(classes: unknown): AnnotationClass[] {
    return this.o.store.setClasses(validateClasses(classes));
  }

  export(uri: string, o: { ids?: string[]; className?: string; objectType?: 'annotation' | 'detection' } = {}): AnnotationExport {
    let objects = this.all(uri);
    if (o.ids) {
      const want = new Set(o.ids);
      objects = objects.filter((x) => want.has(x.id));
    }
    if (o.className !== undefined) objects = objects.filter((x) => x.classification?.name === o.className);
    if (o.objectType) objects = objects.filter((x) => x.objectType === o.objectType);
    const base = decodeURIComponent(uri.split('/').pop() ?? 'slide').replace(/[^\w.-]+/g, '_') || 'slide';
    return { geojson: toFeatureCollection(objects), count: objects.length, fileName: `${base}.geojson` };
  }

  /** All or nothing: every feature is checked first, then one transaction stores them. */
  import(uri: string, geojson: string): AnnotationImportResult {
    const author = this.requireAuthor();
    const objects = parseGeoJson(geojson, author);
    const known = new Set(this.o.store.classes().map((c) => c.name));
    const newClasses: AnnotationClass[] = [];
    for (const o of objects) {
      const c = o.classification;
      if (c && !known.has(c.name)) {
        known.add(c.name);
        newClasses.push({ name: c.name, color: c.color });
      }
    }
    // Re-importing the same file updates the objects it holds (same ids) instead of failing.
    const changes: Change[] = objects.map((after) => ({ id: after.id, before: this.o.store.get(uri, after.id) ?? null, after }));
    if (changes.length > 0) this.edit(uri, 'import', changes);
    if (newClasses.length > 0) this.o.store.setClasses([...this.o.store.classes(), ...newClasses]);
    const detections = objects.filter((o) => o.objectType === 'detection').length;
    return { imported: objects.length, annotations: objects.length - detections, detections, newClasses: newClasses.map((c) => c.name), state: this.state(uri) };
  }

  sync(uri: string): AnnotationSlideState {
    void uri;
    throw annotationErrors.make('ANNOTATIONS_SYNC_NOT_BUILT');
  }

  layer(uri: string, author: string): AnnotationObject[] {
    void uri;
    void author;
    throw annotationErrors.make('ANNOTATIONS_SYNC_NOT_BUILT');
  }

  private all(uri: string): AnnotationObject[] {
    const out: AnnotationObject[] = [];
    let after = '';
    for (;;) {
      const page = this.o.store.list(uri, { after, limit: 10_000 });
      out.push(...page);
      if (page.length < 10_000) return out;
      after = page[page.length - 1]!.id;
    }
  }

  private syncState(uri: string): AnnotationSyncState {
    const pending = this.o.store.pending(uri);
    if (!uri.startsWith('s3://')) {
      return { status: 'local-only', pending: 0, conflicts: 0, message: 'Kept on this computer; export as GeoJSON to share. Writing annotations to a DICOM archive is not supported yet.' };
    }
    return { status: 'local-only', pending, conflicts: 0, message: 'Kept on this computer; sharing through storage is not in this version yet.' };
  }

  private edit(uri: string, kind: string, changes: Change[]): void {
    this.o.store.apply(uri, kind, changes);
    this.emit(uri);
  }

  private emit(uri: string): void {
    const s = this.state(uri);
    for (const l of this.listeners) l(s);
  }

  private requireAuthor(): AnnotationAuthor {
    const a = this.o.author();
    if (!a) throw annotationErrors.make('ANNOTATIONS_NOT_SIGNED_IN');
    return a;
  }

  private fromInput(uri: string, v: unknown, n: number, author: AnnotationAuthor, now: number): AnnotationObject {
    void uri;
    if (typeof v !== 'object' || v === null || Array.isArray(v)) throw bad(`object ${n} is not an object`);
    const i = v as AnnotationInput;
    const o: AnnotationObject = {
      id: i.id === undefined ? randomUUID() : text(i.id, 'id'),
      objectType: i.objectType === undefined ? 'annotation' : objectType(i.objectType),
      geometry: geometry(i.geometry),
      locked: i.locked === undefined ? false : bool(i.locked, 'locked'),
      measurements: i.measurements === undefined ? {} : measurements(i.measurements),
      author,
      created: now,
      modified: now,
    };
    if (i.shape !== undefined) o.shape = shape(i.shape);
    if (i.classification !== undefined && i.classification !== null) o.classification = classification(i.classification);
    if (i.name !== undefined) o.name = text(i.name, 'name');
    if (i.description !== undefined) o.description = text(i.description, 'description');
    if (i.parentId !== undefined) o.parentId = text(i.parentId, 'parentId');
    return o;
  }
}

function setOpt<K extends 'shape' | 'classification' | 'name' | 'description' | 'parentId'>(o: AnnotationObject, k: K, v: AnnotationObject[K] | null): void {
  if (v === null) delete o[k];
  else o[k] = v;
}
function geometry(v: unknown): AnnotationObject['geometry'] {
  const g = checkGeometry(v);
  if (typeof g === 'string') throw bad(g);
  return g;
}
function shape(v: unknown): 'rectangle' | 'ellipse' {
  if (v !== 'rectangle' && v !== 'ellipse') throw bad('"shape" must be rectangle or ellipse');
  return v;
}
function objectType(v: unknown): 'annotation' | 'detection' {
  if (v !== 'annotation' && v !== 'detection') throw bad('"objectType" must be annotation or detection');
  return v;
}
function classification(v: unknown): { name: string; color: [number, number, number] } {
  if (typeof v !== 'object' || v === null) throw bad('"classification" must be {name, color}');
  const c = v as { name?: unknown; color?: unknown };
  return { name: text(c.name, 'classification.name'), color: validateColor(c.color, 'the classification') };
}
function text(v: unknown, name: string): string {
  if (typeof v !== 'string' || v.length > 10_000) throw bad(`"${name}" must be a string`);
  return v;
}
function bool(v: unknown, name: string): boolean {
  if (typeof v !== 'boolean') throw bad(`"${name}" must be true or false`);
  return v;
}
function measurements(v: unknown): Record<string, number> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw bad('"measurements" must be an object of numbers');
  const out: Record<string, number> = {};
  for (const [k, x] of Object.entries(v as Record<string, unknown>)) {
    if (typeof x !== 'number') throw bad(`measurement "${k}" must be a number`);
    out[k] = x;
  }
  return out;
}
function bad(why: string): Error {
  return annotationErrors.make('ANNOTATIONS_BAD_INPUT', { message: `The annotation could not be saved: ${why}.` });
}
