/**
 * DICOMweb slide addresses and the version digest of a series (main/sources/dicomweb/
 * address.ts, series-source.ts): what changes the version and what must not.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isAppError } from '../../../main/common/errors.js';
import { dicomwebSeriesUri, parseDicomwebUri } from '../../../main/sources/dicomweb/address.js';
import type { DicomJson } from '../../../main/sources/dicomweb/json.js';
import { seriesIdentity } from '../../../main/sources/dicomweb/series-source.js';
import { resolveReader, resolveSource } from '../../../main/sources/resolve.js';
import { DEFAULTS } from '../../../main/config/schema.js';

const STUDY = '1.2.826.0.1.3680043.8.498.1';
const SERIES = '1.2.826.0.1.3680043.8.498.2';

test('addresses round-trip; malformed ones are SOURCE_BAD_URI', () => {
  const uri = dicomwebSeriesUri('pacs', STUDY, SERIES);
  assert.equal(uri, `dicomweb://pacs/studies/${STUDY}/series/${SERIES}`);
  assert.deepEqual(parseDicomwebUri(uri), { archive: 'pacs', study: STUDY, series: SERIES });
  assert.deepEqual(parseDicomwebUri(`DICOMWEB://Pacs/studies/${STUDY}/series/${SERIES}/`).archive, 'Pacs');
  for (const bad of [
    'dicomweb://pacs/studies/1.2',
    `dicomweb://pacs/studies/${STUDY}/series/${SERIES}/instances/1.2`,
    `dicomweb:///studies/${STUDY}/series/${SERIES}`,
    `dicomweb://pacs/studies/1.2;drop/series/${SERIES}`,
    `dicomweb://pacs/studies/${STUDY}/series/${SERIES}?x=1`,
  ]) {
    assert.throws(() => parseDicomwebUri(bad), (e) => isAppError(e, 'SOURCE_BAD_URI'), bad);
  }
});

test('resolveSource finds the archive by settings name (any case); an unknown name is SOURCE_UNKNOWN_ARCHIVE; resolveReader refuses a series', () => {
  const settings = structuredClone(DEFAULTS);
  settings.storage.dicomweb = [{ name: 'Pacs', url: 'https://pacs.example.org/dicom-web' }];
  const source = resolveSource(`dicomweb://pacs/studies/${STUDY}/series/${SERIES}`, { settings });
  assert.ok('kind' in source && source.kind === 'frames');
  assert.equal(source.uri, `dicomweb://Pacs/studies/${STUDY}/series/${SERIES}`);
  assert.equal(source.pool, 'https://pacs.example.org');
  assert.throws(() => resolveSource(`dicomweb://other/studies/${STUDY}/series/${SERIES}`, { settings }), (e) => isAppError(e, 'SOURCE_UNKNOWN_ARCHIVE'));
  assert.throws(() => resolveReader(`dicomweb://pacs/studies/${STUDY}/series/${SERIES}`, { settings }), (e) => isAppError(e, 'SOURCE_NOT_A_FILE'));
});

function instance(sop: string, frames: number, positions: [number, number][], host = 'archive-a:8042'): DicomJson {
  return {
    '00080016': { vr: 'UI', Value: ['1.2.840.10008.5.1.4.1.1.77.1.6'] },
    '00080018': { vr: 'UI', Value: [sop] },
    '00280008': { vr: 'IS', Value: [frames] },
    '00280010': { vr: 'US', Value: [256] },
    '00280011': { vr: 'US', Value: [256] },
    '00480006': { vr: 'UL', Value: [1024] },
    '00480007': { vr: 'UL', Value: [512] },
    '7FE00010': { vr: 'OB', BulkDataURI: `http://${host}/dicom-web/studies/${STUDY}/series/${SERIES}/instances/${sop}/bulk/7fe00010` },
    '52009230': {
      vr: 'SQ',
      Value: positions.map(([x, y]) => ({ '0048021A': { vr: 'SQ', Value: [{ '0048021E': { vr: 'SL', Value: [x] }, '0048021F': { vr: 'SL', Value: [y] } }] } })),
    },
  };
}

test('the series version ignores instance order and the archive\'s host; it changes with instances, frame counts and frame positions', () => {
  const uri = dicomwebSeriesUri('pacs', STUDY, SERIES);
  const a = instance('1.2.3.1', 2, [[1, 1], [257, 1]]);
  const b = instance('1.2.3.2', 1, [[1, 1]]);
  const base = seriesIdentity(uri, [a, b]);
  assert.match(base.etag!, /^series-sha256:[0-9a-f]{40}$/);
  assert.equal(base.size, 3, 'size counts frames');
  assert.equal(seriesIdentity(uri, [b, a]).etag, base.etag);
  assert.equal(seriesIdentity(uri, [instance('1.2.3.1', 2, [[1, 1], [257, 1]], 'gateway:443'), b]).etag, base.etag);
  assert.notEqual(seriesIdentity(uri, [a]).etag, base.etag, 'an instance removed');
  assert.notEqual(seriesIdentity(uri, [a, b, instance('1.2.3.3', 1, [[1, 1]])]).etag, base.etag, 'an instance added');
  assert.notEqual(seriesIdentity(uri, [instance('1.2.3.1', 3, [[1, 1], [257, 1], [513, 1]]), b]).etag, base.etag, 'frames added');
  assert.notEqual(seriesIdentity(uri, [instance('1.2.3.1', 2, [[257, 1], [1, 1]]), b]).etag, base.etag, 'frames reordered');
});
