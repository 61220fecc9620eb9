/**
 * The renderer's side of the annotation calls (main/annotations): one slide's objects
 * loaded page by page into the spatial index, edits sent as single calls (one undo step
 * each), and the index brought up to date when main says the slide changed (an undo, an
 * import, a sync that merged).
 */
import type { AnnotationApiCalls, AnnotationClass, AnnotationInput, AnnotationObject, AnnotationPatch, AnnotationSlideState } from '../../../main/api/contract.js';
import { api } from '../api';
import { ObjectIndex } from './spatial-index';

type Method = keyof AnnotationApiCalls;
type Params<M extends Method> = AnnotationApiCalls[M]['params'];
type Result<M extends Method> = AnnotationApiCalls[M]['result'];

/**
 * Until main/api/contract.ts joins AnnotationApiCalls into ApiCalls (the annotation store
 * branch does), the typed `api.call` does not know these names; the transport is the same.
 */
export function callAnnotations<M extends Method>(method: M, ...params: Params<M> extends void ? [] : [Params<M>]): Promise<Result<M>> {
  const untyped = api.call as unknown as (m: string, ...p: unknown[]) => Promise<unknown>;
  return untyped(method, ...params) as Promise<Result<M>>;
}

export function onAnnotationsChanged(listener: (state: AnnotationSlideState) => void): () => void {
  const untyped = api.on as unknown as (e: string, l: (p: unknown) => void) => () => void;
  return untyped('annotations.changed', (p) => listener(p as AnnotationSlideState));
}

export class SlideAnnotations {
  readonly index = new ObjectIndex();
  state: AnnotationSlideState | undefined;
  private readonly listeners = new Set<() => void>();
  private loading: Promise<void> | undefined;
  private loadedRevision = -1;

  constructor(readonly uri: string) {}

  subscribe(l: () => void): () => void {
    this.listeners.add(l);
    return () => this.listeners.delete(l);
  }

  private emit(): void {
    for (const l of this.listeners) l();
  }

  /** Loads every own object (annotations and detections), a page at a time. */
  async load(): Promise<void> {
    if (this.loading) return this.loading;
    this.loading = (async () => {
      const state = await callAnnotations('annotations.state', { uri: this.uri });
      const objects: AnnotationObject[] = [];
      let after: string | undefined;
      let revision: number | undefined;
      for (;;) {
        const page = await callAnnotations('annotations.list', { uri: this.uri, limit: 5000, ...(after ? { after } : {}) });
        objects.push(...page.objects);
        revision = page.revision;
        if (!page.next) break;
        after = page.next;
      }
      this.index.reset(objects);
      this.state = { ...state, revision: revision ?? state.revision };
      this.loadedRevision = this.state.revision;
    })().finally(() => {
      this.loading = undefined;
    });
    await this.loading;
    this.emit();
  }

  /** main says the slide changed: reload unless the change is one this window already applied. */
  async changed(state: AnnotationSlideState): Promise<void> {
    if (state.uri !== this.uri) return;
    this.state = state;
    if (state.revision !== this.loadedRevision) await this.load();
    else this.emit();
  }

  private async refreshState(): Promise<void> {
    this.state = await callAnnotations('annotations.state', { uri: this.uri });
    this.loadedRevision = this.state.revision;
    this.emit();
  }

  async create(objects: AnnotationInput[]): Promise<AnnotationObject[]> {
    const made = await callAnnotations('annotations.create', { uri: this.uri, objects });
    for (const o of made) this.index.upsert(o);
    await this.refreshState();
    return made;
  }

  async update(id: string, patch: AnnotationPatch): Promise<AnnotationObject> {
    const o = await callAnnotations('annotations.update', { uri: this.uri, id, patch });
    this.index.upsert(o);
    await this.refreshState();
    return o;
  }

  async remove(ids: string[]): Promise<void> {
    const state = await callAnnotations('annotations.delete', { uri: this.uri, ids });
    for (const id of ids) this.index.remove(id);
    this.state = state;
    this.loadedRevision = state.revision;
    this.emit();
  }

  /** Undo and redo come back as a state; the objects they touched are read again. */
  async undo(): Promise<void> {
    await this.changed(await callAnnotations('annotations.undo', { uri: this.uri }));
  }

  async redo(): Promise<void> {
    await this.changed(await callAnnotations('annotations.redo', { uri: this.uri }));
  }

  async sync(): Promise<void> {
    await this.changed(await callAnnotations('annotations.sync', { uri: this.uri }));
  }
}

export const loadClasses = (): Promise<AnnotationClass[]> => callAnnotations('annotations.classes');
export const saveClasses = (classes: AnnotationClass[]): Promise<AnnotationClass[]> => callAnnotations('annotations.setClasses', { classes });
export const loadLayer = (uri: string, author: string): Promise<AnnotationObject[]> => callAnnotations('annotations.layer', { uri, author });
