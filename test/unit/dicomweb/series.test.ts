/** Pyramid layout from DICOM JSON metadata alone (what WADO-RS /metadata returns). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { frameOfTile, layoutSeries } from '../../../main/formats/dicomweb/series.js';
import { toDataset } from '../../../main/formats/dicom/json.js';
import type { DicomJson } from '../../../main/sources/dicomweb/json.js';
import { jwtIat, describeRefusal } from '../../../main/sources/dicomweb/client.js';
import { num, seq, str, tag } from '../../../main/formats/dicom/parser.js';

const v = (vr: string, ...Value: unknown[]) => ({ vr, Value });
const sq = (...items: DicomJson[]) => ({ vr: 'SQ', Value: items });

function instance(o: { sop: string; total: [number, number]; tile?: number; frames: number; type?: string; org?: string; offset?: number; spp?: number; paths?: string[]; spacing?: [number, number]; perFrame?: DicomJson[] }): DicomJson {
  const tile = o.tile ?? 256;
  return {
    '00080018': v('UI', o.sop),
    ...(o.type ? { '00080008': v('CS', 'DERIVED', 'PRIMARY', o.type, 'NONE') } : {}),
    '00280002': v('US', o.spp ?? 3),
    '00280004': v('CS', o.spp === 1 ? 'MONOCHROME2' : 'YBR_FULL_422'),
    '00280008': v('IS', o.frames),
    '00280010': v('US', tile),
    '00280011': v('US', tile),
    '00280100': v('US', 8),
    '00480006': v('UL', o.total[0]),
    '00480007': v('UL', o.total[1]),
    ...(o.org ? { '00209311': v('CS', o.org) } : {}),
    ...(o.offset !== undefined ? { '00209228': v('UL', o.offset) } : {}),
    '00480105': sq(...(o.paths ?? ['1']).map((id) => ({ '00480106': v('SH', id), '00480107': v('ST', `path ${id}`) }))),
    ...(o.spacing ? { '52009229': sq({ '00289110': sq({ '00280030': v('DS', ...o.spacing) }) }) } : {}),
    ...(o.perFrame ? { '52009230': sq(...o.perFrame) } : {}),
  };
}
const pos = (x: number, y: number, path?: string): DicomJson => ({
  '0048021A': sq({ '0048021E': v('SL', x), '0048021F': v('SL', y) }),
  ...(path ? { '00480207': sq({ '00480106': v('SH', path) }) } : {}),
});

test('DICOM JSON becomes the Part 10 dataset shape (strings, numbers, PN, sequences; empty values absent)', () => {
  const ds = toDataset({ '00100010': { vr: 'PN', Value: [{ Alphabetic: 'Doe^Jane' }] }, '00280030': v('DS', 0.0005, 0.00025), '00480006': { vr: 'UL' }, '52009229': sq({ '00280010': v('US', 7) }) });
  assert.equal(str(ds, tag(0x0010, 0x0010)), 'Doe^Jane');
  assert.deepEqual(ds.get(tag(0x0028, 0x0030))!.value, [0.0005, 0.00025]);
  assert.equal(num(ds, tag(0x0048, 0x0006)), undefined);
  assert.equal(num(seq(ds, tag(0x5200, 0x9229))[0], tag(0x0028, 0x0010)), 7);
});

test('levels by total matrix size, concatenation parts merged, label apart, mpp from PixelSpacing', () => {
  const layout = layoutSeries([
    instance({ sop: '1.2', total: [1000, 600], frames: 8, org: 'TILED_FULL', offset: 0, spacing: [0.00025, 0.00025] }),
    instance({ sop: '1.3', total: [1000, 600], frames: 4, org: 'TILED_FULL', offset: 8, spacing: [0.00025, 0.00025] }),
    instance({ sop: '1.4', total: [500, 300], frames: 4, org: 'TILED_FULL', spacing: [0.0005, 0.0005] }),
    instance({ sop: '1.5', total: [400, 200], tile: 400, frames: 1, type: 'LABEL' }),
  ]);
  assert.deepEqual(layout.levels.map((l) => [l.width, l.height, l.instances.length]), [[1000, 600, 2], [500, 300, 1]]);
  assert.deepEqual(layout.mpp, { x: 0.25, y: 0.25 });
  assert.equal(layout.mppSource, 'PixelSpacing');
  assert.equal(layout.associated.get('label')?.sopInstanceUid, '1.5');
  const l0 = layout.levels[0]!;
  // 4 × 3 tiles; tile (3,1) is index 7 → part 1.2 frame 8; tile (0,2) is index 8 → part 1.3 frame 1.
  assert.deepEqual(pick(frameOfTile(l0, 0, 'RGB', 3, 1)), ['1.2', 8]);
  assert.deepEqual(pick(frameOfTile(l0, 0, 'RGB', 0, 2)), ['1.3', 1]);
  assert.deepEqual(pick(frameOfTile(l0, 0, 'RGB', 3, 2)), ['1.3', 4]);
});

test('TILED_SPARSE: tiles found by per-frame position, missing tiles are null, positions in any order', () => {
  const layout = layoutSeries([
    instance({ sop: '2.1', total: [512, 512], frames: 3, org: 'TILED_SPARSE', perFrame: [pos(257, 257), pos(1, 1), pos(257, 1)] }),
  ]);
  const l0 = layout.levels[0]!;
  assert.ok(l0.sparse);
  assert.deepEqual(pick(frameOfTile(l0, 0, 'RGB', 0, 0)), ['2.1', 2]);
  assert.deepEqual(pick(frameOfTile(l0, 0, 'RGB', 1, 0)), ['2.1', 3]);
  assert.deepEqual(pick(frameOfTile(l0, 0, 'RGB', 1, 1)), ['2.1', 1]);
  assert.equal(frameOfTile(l0, 0, 'RGB', 0, 1), null);
});

test('fluorescence: optical paths become channels; TILED_FULL planes and sparse per-path positions', () => {
  const full = layoutSeries([instance({ sop: '3.1', total: [512, 256], frames: 6, spp: 1, org: 'TILED_FULL', paths: ['DAPI', 'FITC', 'TRITC'] })]);
  assert.deepEqual(full.planes, ['DAPI', 'FITC', 'TRITC']);
  assert.deepEqual(full.channels.map((c) => c.name), ['path DAPI', 'path FITC', 'path TRITC']);
  assert.deepEqual(pick(frameOfTile(full.levels[0]!, 2, 'TRITC', 1, 0)), ['3.1', 6]);
  // One instance per path: each holds its own plane from frame 1.
  const split = layoutSeries([
    instance({ sop: '4.1', total: [256, 256], frames: 1, spp: 1, org: 'TILED_FULL', paths: ['A'] }),
    instance({ sop: '4.2', total: [256, 256], frames: 1, spp: 1, org: 'TILED_FULL', paths: ['B'] }),
  ]);
  assert.deepEqual(split.planes, ['A', 'B']);
  assert.deepEqual(pick(frameOfTile(split.levels[0]!, 1, 'B', 0, 0)), ['4.2', 1]);
  const sparse = layoutSeries([
    instance({ sop: '5.1', total: [256, 256], frames: 2, spp: 1, paths: ['A', 'B'], perFrame: [pos(1, 1, 'B'), pos(1, 1, 'A')] }),
  ]);
  assert.deepEqual(pick(frameOfTile(sparse.levels[0]!, 0, 'A', 0, 0)), ['5.1', 2]);
  assert.deepEqual(pick(frameOfTile(sparse.levels[0]!, 1, 'B', 0, 0)), ['5.1', 1]);
});

test('mpp: the imaged size wins when PixelSpacing disagrees (OrthancWSIDicomizer 1.x swaps it)', () => {
  const md = instance({ sop: '6.1', total: [2220, 2967], frames: 1, spacing: [0.000373367016, 0.000666906766] });
  md['00480001'] = v('FL', 1.10778);
  md['00480002'] = v('FL', 1.480533);
  const layout = layoutSeries([md]);
  assert.equal(layout.mppSource, 'ImagedVolume (PixelSpacing disagrees)');
  assert.ok(Math.abs(layout.mpp!.x - 0.499) < 1e-4 && Math.abs(layout.mpp!.y - 0.499) < 1e-4);
});

test('a series without a pyramid level is refused', () => {
  assert.throws(() => layoutSeries([instance({ sop: '7.1', total: [100, 100], frames: 1, type: 'LABEL' })]), /no pyramid level/);
});

test('jwtIat reads iat of a JWT and ignores opaque tokens; refusal text from WWW-Authenticate', () => {
  const jwt = `x.${Buffer.from(JSON.stringify({ iat: 1234 })).toString('base64url')}.y`;
  assert.equal(jwtIat(jwt), 1234);
  assert.equal(jwtIat('opaque-token-value'), undefined);
  assert.equal(jwtIat('a.!!!.c'), undefined);
  assert.equal(describeRefusal('Bearer realm="x", error="invalid_token", error_description="The access token has expired."'), 'The access token has expired.');
  assert.equal(describeRefusal('Bearer error="invalid_token"'), 'invalid_token');
  assert.equal(describeRefusal(null), undefined);
});

function pick(ref: ReturnType<typeof frameOfTile>): [string, number] | null {
  return ref ? [ref.instance.sopInstanceUid, ref.frame] : null;
}
