import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { AnnotationObject } from '../../../main/api/contract.js';
import { ObjectIndex } from '../../../renderer/src/annotations/spatial-index.js';
import { rectangle } from '../../../renderer/src/annotations/geometry.js';
import { syncWords } from '../../../renderer/src/annotations/words.js';

const cell = (id: string, x: number, y: number, s = 4): AnnotationObject => ({
  id,
  objectType: 'detection',
  geometry: rectangle([x, y], [x + s, y + s]),
  locked: false,
  measurements: {},
  author: { sub: 'alice', name: 'Alice' },
  created: 0,
  modified: 0,
});

test('the index finds exactly the objects a view box overlaps, and follows edits', () => {
  const index = new ObjectIndex();
  const objects: AnnotationObject[] = [];
  for (let i = 0; i < 100; i++) for (let j = 0; j < 100; j++) objects.push(cell(`c${i}-${j}`, i * 10, j * 10));
  index.reset(objects);
  assert.equal(index.size, 10_000);
  // Cells at x 0..4, 10..14, 20..24 and y likewise: 3 × 3.
  const found = index.search({ minX: 0, minY: 0, maxX: 22, maxY: 22 }).map((e) => e.object.id).sort();
  assert.deepEqual(found, ['c0-0', 'c0-1', 'c0-2', 'c1-0', 'c1-1', 'c1-2', 'c2-0', 'c2-1', 'c2-2']);
  assert.equal(index.search({ minX: 5, minY: 5, maxX: 9, maxY: 9 }).length, 0, 'the gap between cells');
  index.upsert(cell('c0-0', 6, 6, 2));
  assert.equal(index.size, 10_000, 'an edit replaces, not adds');
  assert.deepEqual(index.search({ minX: 5, minY: 5, maxX: 9, maxY: 9 }).map((e) => e.object.id), ['c0-0']);
  assert.equal(index.search({ minX: 5, minY: 5, maxX: 9, maxY: 9 })[0]!.area, 4);
  index.remove('c0-0');
  assert.equal(index.get('c0-0'), undefined);
  assert.equal(index.search({ minX: 0, minY: 0, maxX: 9, maxY: 9 }).length, 0);
});

test('the sync badge says where the edits are', () => {
  assert.equal(syncWords({ status: 'pending', pending: 3, conflicts: 0 }), '3 changes waiting');
  assert.equal(syncWords({ status: 'pending', pending: 1, conflicts: 0 }), '1 change waiting');
  assert.equal(syncWords({ status: 'conflict', pending: 0, conflicts: 1 }), '1 conflict copy kept');
  assert.match(syncWords({ status: 'denied', pending: 2, conflicts: 0 }), /Not allowed/);
});
