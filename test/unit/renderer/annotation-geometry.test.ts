import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  area,
  bounds,
  ellipse,
  ELLIPSE_VERTICES,
  formatArea,
  formatLength,
  hits,
  insertVertex,
  length,
  measure,
  nearestVertex,
  rectangle,
  removeVertex,
  translate,
  vertices,
} from '../../../renderer/src/annotations/geometry.js';
import type { AnnotationGeometry } from '../../../main/api/contract.js';

const mpp = { x: 0.25, y: 0.25 };

test('a rectangle is a closed ring in level-0 pixels whichever corner came first, with area and perimeter in µm', () => {
  const g = rectangle([300, 400], [100, 200]);
  assert.deepEqual(g, { type: 'Polygon', coordinates: [[[100, 200], [300, 200], [300, 400], [100, 400], [100, 200]]] });
  assert.equal(area(g), 200 * 200);
  assert.equal(area(g, mpp), 50 * 50);
  assert.equal(length(g, mpp), 4 * 50);
  assert.deepEqual(measure(g, mpp), { 'Area µm^2': 2500, 'Perimeter µm': 200 });
  assert.deepEqual(bounds(g), { minX: 100, minY: 200, maxX: 300, maxY: 400 });
});

test('an ellipse polygon has the area of the ellipse within 0.2 %', () => {
  const g = ellipse([0, 0], [400, 200]);
  assert.equal(vertices(g).length, ELLIPSE_VERTICES);
  const exact = Math.PI * 200 * 100;
  assert.ok(Math.abs(area(g) - exact) / exact < 0.002, `${area(g)} vs ${exact}`);
});

test('holes are subtracted; a line has a length and no area', () => {
  const g: AnnotationGeometry = {
    type: 'Polygon',
    coordinates: [
      [[0, 0], [10, 0], [10, 10], [0, 10], [0, 0]],
      [[2, 2], [4, 2], [4, 4], [2, 4], [2, 2]],
    ],
  };
  assert.equal(area(g), 96);
  assert.equal(hits(g, [3, 3], 0), false, 'inside the hole');
  assert.equal(hits(g, [6, 6], 0), true);
  const line: AnnotationGeometry = { type: 'LineString', coordinates: [[0, 0], [30, 40]] };
  assert.equal(length(line, mpp), 12.5);
  assert.equal(area(line), 0);
  assert.equal(hits(line, [15, 21], 1.5), true);
  assert.equal(hits(line, [15, 25], 1.5), false);
});

test('vertices are added on the nearest edge and removed down to the minimum', () => {
  const g = rectangle([0, 0], [10, 10]);
  const added = insertVertex(g, [5, 0.5], 1);
  assert.ok(added);
  assert.deepEqual(vertices(added), [[0, 0], [5, 0.5], [10, 0], [10, 10], [0, 10]]);
  assert.equal(insertVertex(g, [5, 5], 1), undefined, 'not near an edge');
  assert.equal(nearestVertex(added, [10.5, 10.2], 1), 3);
  const removed = removeVertex(added, 1);
  assert.deepEqual(removed, g);
  const tri = removeVertex(g, 0);
  assert.ok(tri);
  assert.equal(removeVertex(tri, 0), undefined, 'a polygon keeps three vertices');
  assert.deepEqual(translate({ type: 'Point', coordinates: [1, 2] }, 3, 4), { type: 'Point', coordinates: [4, 6] });
});

test('lengths and areas in words, in pixels when the slide has no pixel size', () => {
  assert.equal(formatLength(12.345, mpp), '12.3 µm');
  assert.equal(formatLength(1500, mpp), '1.50 mm');
  assert.equal(formatLength(12.3), '12 px');
  assert.equal(formatArea(2500, mpp), '2,500 µm²');
  assert.equal(formatArea(2.5e6, mpp), '2.500 mm²');
});
