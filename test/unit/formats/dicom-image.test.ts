/**
 * The one DICOM image model and frame assembly shared by Part 10 files and DICOMweb
 * (main/formats/dicom/image.ts): the same dataset read through either transport describes
 * the same image, and a native frame shorter than its grid is refused in both.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isAppError } from '../../../main/common/errors.js';
import { assembleDicomFrame, frameKind } from '../../../main/formats/dicom/image.js';
import { readInstance } from '../../../main/formats/dicom/instance.js';
import { describeInstance } from '../../../main/formats/dicomweb/series.js';
import type { DicomJson } from '../../../main/sources/dicomweb/json.js';
import { dicomFile, nativePixelData, wsiElements } from './dicom-builder.js';
import { MemoryReader } from './tiff-builder.js';

const EXPLICIT = '1.2.840.10008.1.2.1';
const v = (vr: string, ...Value: unknown[]) => ({ vr, Value });

async function fileImage() {
  const frames = [new Uint8Array(16).fill(7), new Uint8Array(16).fill(9)];
  const bytes = dicomFile(EXPLICIT, wsiElements({ width: 8, height: 4, tile: 4, frames: 2, spp: 1, photometric: 'MONOCHROME2', organisation: 'TILED_FULL' }), nativePixelData(frames, true));
  const reader = new MemoryReader(bytes);
  return readInstance(reader, await reader.stat(), bytes);
}

const webJson: DicomJson = {
  '00080018': v('UI', '1.2.3.4'),
  '00080008': v('CS', 'ORIGINAL', 'PRIMARY', 'VOLUME', 'NONE'),
  '00280002': v('US', 1),
  '00280004': v('CS', 'MONOCHROME2'),
  '00280008': v('IS', 2),
  '00280010': v('US', 4),
  '00280011': v('US', 4),
  '00280100': v('US', 8),
  '00480006': v('UL', 8),
  '00480007': v('UL', 4),
  '00209311': v('CS', 'TILED_FULL'),
};

test('a Part 10 file and DICOM JSON of the same image describe it the same way', async () => {
  const file = await fileImage();
  const web = describeInstance(webJson);
  for (const k of ['role', 'width', 'height', 'tileWidth', 'tileHeight', 'columns', 'rows', 'frames', 'samplesPerPixel', 'bitsAllocated', 'photometric', 'opticalPaths'] as const) {
    assert.deepEqual(web[k], file[k], k);
  }
});

test('a native frame shorter than its grid is refused for files and DICOMweb alike; a full one is returned raw', async () => {
  const at = { level: 0, col: 0, row: 0, plane: 0 };
  for (const image of [await fileImage(), describeInstance(webJson)]) {
    await assert.rejects(assembleDicomFrame(image, frameKind(EXPLICIT), at, new Uint8Array(15)), (e) => isAppError(e, 'FORMAT_CORRUPT') && /native frame has 15 bytes, 16 expected/.test((e as Error).message));
    const tile = await assembleDicomFrame(image, 'native', at, new Uint8Array(20).fill(3));
    assert.equal(tile.bytes.length, 16);
    assert.deepEqual(tile.encoding, { kind: 'raw', bitsPerSample: 8, samplesPerPixel: 1, sampleFormat: 'uint' });
  }
});

test('an unsupported transfer syntax is named the same way for both transports', () => {
  assert.throws(() => frameKind('1.2.840.10008.1.2.4.201', { sopInstanceUid: '1.2.3.4' }), (e) => isAppError(e, 'FORMAT_UNSUPPORTED') && /High-Throughput JPEG 2000/.test((e as Error).message));
});
