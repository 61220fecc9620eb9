/**
 * The user's own annotations: one SQLite file in the data folder (never the cache, so
 * Clear cache cannot touch it). WAL and one transaction per edit, so a killed process
 * loses at most the edit in flight. Every edit is a row in the operation log holding the
 * objects before and after: undo / redo replay it, and sync reads what is not yet written.
 * An R*Tree beside the objects answers viewport queries without scanning 100k detections.
 */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import type { AnnotationClass, AnnotationObject } from '../common/api-types.js';
import { DEFAULT_CLASSES } from './classes.js';
import { annotationErrors } from './errors.js';
import { bounds, type Bounds } from './geometry.js';

export const ANNOTATIONS_FILE = 'annotations.db';

/** What an edit changed: for each id the object before (null: created) and after (null: deleted). */
export interface Change {
  id: string;
  before: AnnotationObject | null;
  after: AnnotationObject | null;
}

export interface SlideFingerprint {
  size?: number;
  width?: number;
  height?: number;
  etag?: string;
}

export interface AnnotationStore {
  get(slide: string, id: string): AnnotationObject | undefined;
  list(slide: string, o?: { objectType?: 'annotation' | 'detection'; after?: string; limit?: number }): AnnotationObject[];
  /** Objects whose bounds meet the rectangle (level-0 pixels). */
  query(slide: string, area: Bounds): AnnotationObject[];
  counts(slide: string): { annotations: number; detections: number };
  /** One transaction, one undo step. */
  apply(slide: string, kind: string, changes: Change[]): number;
  undo(slide: string): boolean;
  redo(slide: string): boolean;
  canUndo(slide: string): boolean;
  canRedo(slide: string): boolean;
  revision(slide: string): number;
  /** Edits not yet written to the sidecar. */
  pending(slide: string): number;
  /** Stores the fingerprint when none is kept; answers whether a kept one differs. */
  checkFingerprint(slide: string, fp: SlideFingerprint): boolean;
  classes(): AnnotationClass[];
  setClasses(classes: AnnotationClass[]): AnnotationClass[];
  close(): void;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS objects (
  rid INTEGER PRIMARY KEY,
  slide TEXT NOT NULL,
  id TEXT NOT NULL,
  object_type TEXT NOT NULL,
  json TEXT NOT NULL,
  UNIQUE (slide, id)
);
CREATE VIRTUAL TABLE IF NOT EXISTS objects_rtree USING rtree(rid, min_x, max_x, min_y, max_y);
CREATE TABLE IF NOT EXISTS ops (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  slide TEXT NOT NULL,
  at INTEGER NOT NULL,
  kind TEXT NOT NULL,
  changes TEXT NOT NULL,
  undone INTEGER NOT NULL DEFAULT 0,
  synced INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS ops_slide ON ops (slide, seq);
CREATE TABLE IF NOT EXISTS slides (
  slide TEXT PRIMARY KEY,
  revision INTEGER NOT NULL DEFAULT 0,
  fingerprint TEXT
);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
`;

export function openAnnotationStore(file: string): AnnotationStore {
  let db: Database.Database;
  try {
    mkdirSync(dirname(file), { recursive: true });
    db = new Database(file);
    db.pragma('journal_mode = WAL');
    // FULL: a committed edit survives a power cut too, not only a killed process.
    db.pragma('synchronous = FULL');
    db.exec(SCHEMA);
  } catch (cause) {
    throw annotationErrors.make('ANNOTATIONS_STORE_FAILED', { cause, details: { file } });
  }
  const s = {
    get: db.prepare<[string, string], { json: string }>('SELECT json FROM objects WHERE slide = ? AND id = ?'),
    rid: db.prepare<[string, string], { rid: number }>('SELECT rid FROM objects WHERE slide = ? AND id = ?'),
    insert: db.prepare('INSERT INTO objects (slide, id, object_type, json) VALUES (?, ?, ?, ?)'),
    update: db.prepare('UPDATE objects SET object_type = ?, json = ? WHERE rid = ?'),
    del: db.prepare('DELETE FROM objects WHERE rid = ?'),
    rtreeDel: db.prepare('DELETE FROM objects_rtree WHERE rid = ?'),
    rtreeAdd: db.prepare('INSERT INTO objects_rtree (rid, min_x, max_x, min_y, max_y) VALUES (?, ?, ?, ?, ?)'),
    list: db.prepare<[string, string, number], { json: string }>('SELECT json FROM objects WHERE slide = ? AND id > ? ORDER BY id LIMIT ?'),
    listType: db.prepare<[string, string, string, number], { json: string }>(
      'SELECT json FROM objects WHERE slide = ? AND object_type = ? AND id > ? ORDER BY id LIMIT ?',
    ),
    query: db.prepare<[string, number, number, number, number], { json: string }>(
      `SELECT o.json FROM objects_rtree r JOIN objects o ON o.rid = r.rid
       WHERE o.slide = ? AND r.max_x >= ? AND r.min_x <= ? AND r.max_y >= ? AND r.min_y <= ?`,
    ),
    counts: db.prepare<[string], { t: string; n: number }>('SELECT object_type AS t, COUNT(*) AS n FROM objects WHERE slide = ? GROUP BY object_type'),
    dropRedo: db.prepare('DELETE FROM ops WHERE slide = ? AND undone = 1'),
    addOp: db.prepare('INSERT INTO ops (slide, at, kind, changes) VALUES (?, ?, ?, ?)'),
    lastDone: db.prepare<[string], { seq: number; changes: string }>('SELECT seq, changes FROM ops WHERE slide = ? AND undone = 0 ORDER BY seq DESC LIMIT 1'),
    firstUndone: db.prepare<[string], { seq: number; changes: string }>('SELECT seq, changes FROM ops WHERE slide = ? AND undone = 1 ORDER BY seq ASC LIMIT 1'),
    setUndone: db.prepare('UPDATE ops SET undone = ?, synced = 0 WHERE seq = ?'),
    pending: db.prepare<[string], { n: number }>('SELECT COUNT(*) AS n FROM ops WHERE slide = ? AND synced = 0'),
    bump: db.prepare('INSERT INTO slides (slide, revision) VALUES (?, 1) ON CONFLICT (slide) DO UPDATE SET revision = revision + 1'),
    revision: db.prepare<[string], { revision: number; fingerprint: string | null }>('SELECT revision, fingerprint FROM slides WHERE slide = ?'),
    setFingerprint: db.prepare('INSERT INTO slides (slide, fingerprint) VALUES (?, ?) ON CONFLICT (slide) DO UPDATE SET fingerprint = excluded.fingerprint'),
    meta: db.prepare<[string], { value: string }>('SELECT value FROM meta WHERE key = ?'),
    setMeta: db.prepare('INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value'),
  };

  const put = (slide: string, id: string, obj: AnnotationObject | null): void => {
    const row = s.rid.get(slide, id);
    if (row) s.rtreeDel.run(row.rid);
    if (obj === null) {
      if (row) s.del.run(row.rid);
      return;
    }
    const json = JSON.stringify(obj);
    let rid: number;
    if (row) {
      s.update.run(obj.objectType, json, row.rid);
      rid = row.rid;
    } else {
      rid = Number(s.insert.run(slide, id, obj.objectType, json).lastInsertRowid);
    }
    const b = bounds(obj.geometry);
    s.rtreeAdd.run(rid, b.minX, b.maxX, b.minY, b.maxY);
  };

  const apply = db.transaction((slide: string, kind: string, changes: Change[]): number => {
    for (const c of changes) put(slide, c.id, c.after);
    s.dropRedo.run(slide);
    s.addOp.run(slide, Date.now(), kind, JSON.stringify(changes));
    s.bump.run(slide);
    return s.revision.get(slide)?.revision ?? 0;
  });
  const undo = db.transaction((slide: string): boolean => {
    const op = s.lastDone.get(slide);
    if (!op) return false;
    const changes = JSON.parse(op.changes) as Change[];
    for (const c of [...changes].reverse()) put(slide, c.id, c.before);
    s.setUndone.run(1, op.seq);
    s.bump.run(slide);
    return true;
  });
  const redo = db.transaction((slide: string): boolean => {
    const op = s.firstUndone.get(slide);
    if (!op) return false;
    for (const c of JSON.parse(op.changes) as Change[]) put(slide, c.id, c.after);
    s.setUndone.run(0, op.seq);
    s.bump.run(slide);
    return true;
  });

  const guard = <T>(f: () => T): T => {
    try {
      return f();
    } catch (cause) {
      if (cause instanceof Error && cause.name === 'AppError') throw cause;
      throw annotationErrors.make('ANNOTATIONS_STORE_FAILED', { cause, details: { file } });
    }
  };
  const parse = (r: { json: string }): AnnotationObject => JSON.parse(r.json) as AnnotationObject;

  return {
    get: (slide, id) => {
      const r = s.get.get(slide, id);
      return r ? parse(r) : undefined;
    },
    list: (slide, o = {}) => {
      const limit = o.limit ?? 5000;
      const rows = o.objectType ? s.listType.all(slide, o.objectType, o.after ?? '', limit) : s.list.all(slide, o.after ?? '', limit);
      return rows.map(parse);
    },
    query: (slide, a) => s.query.all(slide, a.minX, a.maxX, a.minY, a.maxY).map(parse),
    counts: (slide) => {
      const out = { annotations: 0, detections: 0 };
      for (const r of s.counts.all(slide)) {
        if (r.t === 'annotation') out.annotations = r.n;
        else out.detections = r.n;
      }
      return out;
    },
    apply: (slide, kind, changes) => guard(() => apply(slide, kind, changes)),
    undo: (slide) => guard(() => undo(slide)),
    redo: (slide) => guard(() => redo(slide)),
    canUndo: (slide) => s.lastDone.get(slide) !== undefined,
    canRedo: (slide) => s.firstUndone.get(slide) !== undefined,
    revision: (slide) => s.revision.get(slide)?.revision ?? 0,
    pending: (slide) => s.pending.get(slide)?.n ?? 0,
    checkFingerprint: (slide, fp) => {
      const json = JSON.stringify({ size: fp.size, width: fp.width, height: fp.height, etag: fp.etag });
      const kept = s.revision.get(slide)?.fingerprint;
      if (kept === undefined || kept === null) {
        guard(() => s.setFingerprint.run(slide, json));
        return false;
      }
      return kept !== json;
    },
    classes: () => {
      const r = s.meta.get('classes');
      return r ? (JSON.parse(r.value) as AnnotationClass[]) : DEFAULT_CLASSES.map((c) => ({ ...c, color: [...c.color] }));
    },
    setClasses: (classes) => {
      guard(() => s.setMeta.run('classes', JSON.stringify(classes)));
      return classes;
    },
    close: () => db.close(),
  };
}
