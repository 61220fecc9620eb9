/**
 * `storage.dicomweb` is refused out loud when it is wrong (names appear in slide addresses,
 * resources must be RFC 8707 indicators), and the study search turns what a pathologist
 * types into the QIDO matching they expect.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { studyQuery } from '../../../main/app/dicomweb.js';
import { isAppError } from '../../../main/common/errors.js';
import { flatten, validateLayer } from '../../../main/config/load.js';

const layer = (dicomweb: unknown): Record<string, unknown> => flatten({ storage: { dicomweb } });
const refused = (dicomweb: unknown, why: RegExp): void =>
  assert.throws(
    () => validateLayer(layer(dicomweb), 'policy.json'),
    (e) => isAppError(e, 'CONFIG_INVALID') && why.test(e.message) && e.message.includes('"storage.dicomweb"'),
  );

test('valid archives pass: name and url, with optional label and resource', () => {
  validateLayer(
    layer([
      { name: 'pacs', url: 'https://pacs.example.org/dicom-web' },
      { name: 'hi.eu-west-1', label: 'HealthImaging', url: 'https://dicom-medical-imaging.eu-west-1.amazonaws.com/datastore/abc', resource: 'urn:example:dicomweb' },
      { name: 'orthanc_2', url: 'http://127.0.0.1:8042/dicom-web', resource: 'https://pacs.example.org/' },
    ]),
    'policy.json',
  );
});

test('bad archives are refused with the entry and the reason', () => {
  refused({ name: 'pacs', url: 'x' }, /must be a list/);
  refused([{ url: 'https://pacs.example.org/' }], /entry 0 must have a "name"/);
  refused([{ name: 'my pacs', url: 'https://pacs.example.org/' }], /letters, digits/);
  refused([{ name: 'pacs/2', url: 'https://pacs.example.org/' }], /slide addresses/);
  refused([{ name: 'pacs', url: 'ftp://pacs.example.org/' }], /http\(s\) "url"/);
  refused(
    [
      { name: 'PACS', url: 'https://a.example.org/' },
      { name: 'pacs', url: 'https://b.example.org/' },
    ],
    /entry 1: the name "pacs" is used twice/,
  );
  refused([{ name: 'pacs', url: 'https://pacs.example.org/', resource: 'dicomweb' }], /absolute URI/);
  refused([{ name: 'pacs', url: 'https://pacs.example.org/', resource: 'https://pacs.example.org/#x' }], /without a fragment/);
  refused([{ name: 'pacs', url: 'https://pacs.example.org/', label: '' }], /"label" must be a non-empty string/);
  refused([{ name: 'pacs', url: 'https://pacs.example.org/', audience: 'dicomweb' }], /unknown key\(s\) "audience"/);
});

test('study search: names match anywhere by component, IDs exactly, dates as an inclusive range', () => {
  assert.deepEqual(studyQuery({ patientName: '  Smith John ' }), { patientName: '*Smith^John*' });
  assert.deepEqual(studyQuery({ patientName: 'smith, john' }), { patientName: '*smith^john*' });
  assert.deepEqual(studyQuery({ patientName: 'Sm?th*' }), { patientName: 'Sm?th*' });
  assert.deepEqual(studyQuery({ patientId: 'AA01', accessionNumber: 'S19-1' }), { patientId: 'AA01', accessionNumber: 'S19-1' });
  assert.deepEqual(studyQuery({ studyDateFrom: '2019-06-04', studyDateTo: '2019-06-04' }), { studyDate: '20190604' });
  assert.deepEqual(studyQuery({ studyDateFrom: '2019-06-01' }), { studyDate: '20190601-' });
  assert.deepEqual(studyQuery({ studyDateTo: '2019-06-30' }), { studyDate: '-20190630' });
  assert.deepEqual(studyQuery({ patientName: ' ', patientId: '' }), {});
});

test('study search: what DICOM cannot search for is refused in words', () => {
  const bad = (q: Parameters<typeof studyQuery>[0], why: RegExp): void => assert.throws(() => studyQuery(q), (e) => isAppError(e, 'DICOMWEB_BAD_QUERY') && why.test(e.message));
  bad({ studyDateFrom: '2019-02-30' }, /is not a date/);
  bad({ studyDateFrom: '04.06.2019' }, /is not a date/);
  bad({ studyDateFrom: '2019-06-05', studyDateTo: '2019-06-04' }, /after the last/);
  bad({ patientId: 'A\\B' }, /character DICOM does not allow/);
  bad({ accessionNumber: 'x'.repeat(65) }, /longer than DICOM allows/);
});
