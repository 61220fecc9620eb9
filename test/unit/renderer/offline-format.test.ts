/**
 * The offline UI's words and numbers (renderer/src/offline-format.ts): the "keep down to"
 * choices offered for a real pyramid shape, progress percentages and pin states in words.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { OpenedSlide, PinInfo, SlideLevelSummary } from '../../../main/api/contract.js';
import { extentChoices, pinExtentText, pinPercent, pinStateText } from '../../../renderer/src/offline-format.js';

function slide(levels: [number, number, number][], mpp?: number): OpenedSlide {
  const ls: SlideLevelSummary[] = levels.map(([width, height, downsample]) => ({ width, height, tileWidth: 256, tileHeight: 256, columns: Math.ceil(width / 256), rows: Math.ceil(height / 256), downsample }));
  return {
    id: 'x',
    uri: 's3://b/s.tif',
    name: 's.tif',
    tileUrlTemplate: '/tiles/x/{level}/{col}/{row}',
    offline: false,
    summary: { format: 'generic-tiff', levels: ls, pixelKind: 'rgb', channels: [], associated: [], properties: {}, ...(mpp ? { mpp: { x: mpp, y: mpp } } : {}) },
  };
}

const pin = (p: Partial<PinInfo>): PinInfo => ({ uri: 's3://b/s.tif', name: 's.tif', state: 'running', done: 0, total: 0, downloadedBytes: 0, sizeBytes: 0, ...p });

test('one choice per level, finest first, by magnification when the pixel size is known', () => {
  // An Aperio-like pyramid (steps of 4) at 0.25 µm: 40×, 10×, 2.5×; a repeated level is offered once.
  const choices = extentChoices(slide([[40000, 30000, 1], [10000, 7500, 4], [10000, 7500, 4.0001], [2500, 1875, 16]], 0.25));
  assert.deepEqual(
    choices.map((c) => [c.minDownsample, c.label]),
    [
      [1, 'Whole slide at full resolution (40×)'],
      [4, 'Down to 10× (10,000 × 7,500 px)'],
      [16, 'Down to 2.5× (2,500 × 1,875 px)'],
    ],
  );
  // No pixel size and no objective power: sizes only.
  assert.deepEqual(
    extentChoices(slide([[2048, 1024, 1], [1024, 512, 2]])).map((c) => c.label),
    ['Whole slide at full resolution', 'Down to 1,024 × 512 px'],
  );
});

test('progress and states in words', () => {
  assert.equal(pinPercent(pin({ done: 0, total: 0 })), 0);
  assert.equal(pinPercent(pin({ done: 199, total: 200 })), 99, 'never 100 % before it is done');
  assert.equal(pinPercent(pin({ state: 'done', done: 5, total: 5 })), 100);
  assert.equal(pinStateText(pin({ total: 0 })), 'Preparing…');
  assert.equal(pinStateText(pin({ done: 50, total: 200 })), 'Downloading… 25 %');
  assert.equal(pinStateText(pin({ state: 'paused', done: 100, total: 200 })), 'Paused at 50 %');
  assert.equal(pinStateText(pin({ state: 'error', done: 10, total: 100, error: { code: 'TILE_PIN_FAILED', message: 'Storage could not be reached.' } })), 'Stopped at 10 %: Storage could not be reached.');
  assert.equal(pinStateText(pin({ state: 'done' })), 'Available offline');
  assert.equal(pinExtentText(undefined), 'full resolution');
  assert.equal(pinExtentText(4, 40), 'down to 10×');
  assert.equal(pinExtentText(3, undefined), 'down to 1/3 of full resolution');
});
