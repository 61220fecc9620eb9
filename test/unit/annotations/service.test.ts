/**
 * The annotation store and service on a real SQLite file: edits, undo/redo, persistence
 * across reopen, the class list, and QuPath GeoJSON import variants and round trip.
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { AnnotationService } from '../../../main/annotations/service.js';
import { openAnnotationStore, type AnnotationStore } from '../../../main/annotations/store.js';
import { DEFAULT_CLASSES } from '../../../main/annotations/classes.js';
import { AppError } from '../../../main/common/errors.js';

const dir = mkdtempSync(join(tmpdir(), 'wsi-annot-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const alice = { sub: 'alice-sub', name: 'Alice' };
const slide = 's3://slides/case1.svs';
const square = { type: 'Polygon' as const, coordinates: [[[0, 0], [10, 0], [10, 10], [0, 10], [0, 0]]] as [number, number][][] };

function open(name: string): { store: AnnotationStore; svc: AnnotationService } {
  const store = openAnnotationStore(join(dir, name, 'annotations.db'));
  return { store, svc: new AnnotationService({ store, author: () => alice }) };
}

describe('annotation store', () => {
  test('create, update, delete, undo and redo are one step each and survive reopening', () => {
    const { store, svc } = open('a');
    const [a] = svc.create(slide, [{ geometry: square, shape: 'rectangle', classification: { name: 'Tumor', color: [200, 0, 0] } }]);
    assert.ok(a);
    assert.equal(a.author.sub, 'alice-sub');
    svc.update(slide, a.id, { name: 'region 1' });
    svc.delete(slide, [a.id]);
    assert.equal(svc.state(slide).counts.annotations, 0);
    svc.undo(slide);
    assert.equal(store.get(slide, a.id)?.name, 'region 1');
    svc.undo(slide);
    assert.equal(store.get(slide, a.id)?.name, undefined);
    svc.redo(slide);
    assert.equal(store.get(slide, a.id)?.name, 'region 1');
    store.close();
    const again = open('a');
    assert.equal(again.store.get(slide, a.id)?.name, 'region 1');
    assert.equal(again.svc.state(slide).canRedo, true);
    assert.deepEqual(again.store.query(slide, { minX: 5, minY: 5, maxX: 6, maxY: 6 }).map((o) => o.id), [a.id]);
    assert.deepEqual(again.store.query(slide, { minX: 50, minY: 50, maxX: 60, maxY: 60 }), []);
    again.store.close();
    const db = new Database(join(dir, 'a', 'annotations.db'), { readonly: true });
    assert.equal(db.pragma('journal_mode', { simple: true }), 'wal');
    assert.equal(db.pragma('integrity_check', { simple: true }), 'ok');
    db.close();
  });

  test('locked objects refuse edits; malformed input is refused in words', () => {
    const { store, svc } = open('b');
    const [a] = svc.create(slide, [{ geometry: square, locked: true }]);
    assert.throws(() => svc.update(slide, a!.id, { name: 'x' }), (e: unknown) => e instanceof AppError && e.code === 'ANNOTATIONS_LOCKED');
    assert.throws(() => svc.create(slide, [{ geometry: { type: 'Polygon', coordinates: [[[0, 0], [1, 1]]] } }]), (e: unknown) => e instanceof AppError && e.kind === 'invalid-input');
    store.close();
  });

  test('the class list starts as QuPath’s defaults and can be edited', () => {
    const { store, svc } = open('c');
    assert.deepEqual(svc.classes().map((c) => c.name), DEFAULT_CLASSES.map((c) => c.name));
    svc.setClasses([{ name: 'Mitosis', color: [1, 2, 3], shortcut: 'm' }]);
    assert.deepEqual(svc.classes(), [{ name: 'Mitosis', color: [1, 2, 3], shortcut: 'm' }]);
    assert.throws(() => svc.setClasses([{ name: 'A', color: [300, 0, 0] }]), (e: unknown) => e instanceof AppError && e.kind === 'invalid-input');
    store.close();
  });
});

describe('QuPath GeoJSON', () => {
  test('imports the variants seen in the wild, keeping unknown properties', () => {
    const { store, svc } = open('d');
    const file = [
      { type: 'Feature', id: 'f1', geometry: square, properties: { objectType: 'annotation', classification: { name: 'Stroma', color: [150, 200, 150] }, isLocked: true, measurements: { Area: 100 }, qupathExtra: { a: 1 } } },
      { type: 'Feature', geometry: { type: 'Point', coordinates: [3, 4] }, properties: { objectType: 'cell', classification: { name: 'Lymph', colorRGB: -16711936 }, measurements: [{ name: 'Nucleus: Area', value: 12.5 }] } },
      { type: 'Feature', id: 'f3', geometry: { type: 'MultiPolygon', coordinates: [square.coordinates] }, properties: { objectType: 'detection' } },
      { type: 'Feature', id: 'f4', geometry: { type: 'LineString', coordinates: [[0, 0], [5, 5]] }, properties: {} },
      { type: 'Feature', id: 'f5', geometry: { type: 'MultiPoint', coordinates: [[0, 0], [5, 5]] }, properties: {} },
      {
        type: 'Feature',
        id: 'f6',
        geometry: { type: 'Polygon', coordinates: [square.coordinates[0], [[2, 2], [3, 2], [3, 3], [2, 2]]] },
        properties: { objectType: 'annotation' },
      },
    ];
    const r = svc.import(slide, JSON.stringify(file)); // a bare array, not a FeatureCollection
    assert.equal(r.imported, 6);
    assert.equal(r.detections, 2);
    assert.deepEqual(r.newClasses, ['Lymph']);
    assert.equal(store.get(slide, 'f1')?.locked, true);
    assert.deepEqual(store.get(slide, 'f1')?.extra, { qupathExtra: { a: 1 } });
    const cell = store.list(slide).find((o) => o.extra?.objectType === 'cell');
    assert.deepEqual(cell?.classification, { name: 'Lymph', color: [0, 255, 0] });
    assert.deepEqual(cell?.measurements, { 'Nucleus: Area': 12.5 });

    const first = svc.export(slide).geojson;
    const exported = JSON.parse(first) as { type: string; features: { properties: Record<string, unknown> }[] };
    assert.equal(exported.type, 'FeatureCollection');
    assert.ok(exported.features.some((f) => f.properties.objectType === 'cell'));
    assert.ok(exported.features.some((f) => (f.properties.qupathExtra as { a: number } | undefined)?.a === 1));
    const other = open('e');
    other.svc.import(slide, first);
    assert.equal(other.svc.export(slide).geojson, first);
    store.close();
    other.store.close();
  });

  test('a broken file names the feature and imports nothing', () => {
    const { store, svc } = open('f');
    const file = {
      type: 'FeatureCollection',
      features: [
        { type: 'Feature', id: 'ok', geometry: square, properties: {} },
        { type: 'Feature', id: 'bad', geometry: { type: 'Circle', coordinates: [0, 0] }, properties: {} },
      ],
    };
    assert.throws(
      () => svc.import(slide, JSON.stringify(file)),
      (e: unknown) => e instanceof AppError && e.code === 'ANNOTATIONS_GEOJSON_INVALID' && /feature 1/.test(e.message) && e.details?.featureIndex === 1,
    );
    assert.equal(svc.state(slide).counts.annotations, 0);
    assert.throws(() => svc.import(slide, '{not json'), (e: unknown) => e instanceof AppError && e.kind === 'invalid-input');
    store.close();
  });
});
