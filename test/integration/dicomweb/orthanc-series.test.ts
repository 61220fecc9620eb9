/**
 * The DICOMweb client and series reader against a real Orthanc (DICOMweb + WSI plugins)
 * loaded with the shared DICOM WSI files and a dicomized pyramidal TIFF. Frames are
 * checked three ways: one multi-frame request = one request per frame = pydicom's reading
 * of the same Part 10 file (bytes for JPEG pass-through, pixels for native data).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { DicomwebClient, type SeriesSummary } from '../../../main/sources/dicomweb/client.js';
import { openDicomwebSeries } from '../../../main/formats/dicomweb/reader.js';
import { isAppError } from '../../../main/common/errors.js';
import { localSiblings } from '../../../main/sources/siblings.js';
import { openSlide, readTile } from '../../../main/formats/open.js';
import { FileRangeReader } from '../../../main/sources/file.js';
import { orthancUnavailable, startOrthanc, type RunningOrthanc } from '../../stack/orthanc.js';

const TESTDATA = join(import.meta.dirname, '..', '..', '..', '..', 'shared', 'testdata', 'dicom-wsi');
const CMU = join(TESTDATA, 'cmu1-small-region-wsi2dcm-pyramid', 'level-0-frames-0-30.dcm');
const RAW = join(TESTDATA, 'wsi2dcm-single-level', 'raw-explicit-le.dcm');
const PYDICOM = join(import.meta.dirname, 'pydicom_frames.py');

const unavailable = orthancUnavailable();
if (unavailable) console.log(`# skipping DICOMweb/Orthanc tests: ${unavailable.reason}`);
// Only a refused `ip netns` may skip; a missing package is a broken machine and must fail.
const skip = unavailable?.kind === 'netns' ? unavailable.reason : false;

function pydicomFrames(file: string, frames: number[]): { encapsulated: boolean; frames: Buffer[] } {
  const r = spawnSync('/usr/bin/python3', [PYDICOM, file, ...frames.map(String)], { encoding: 'utf8', maxBuffer: 256 << 20 });
  assert.equal(r.status, 0, r.stderr);
  const out = JSON.parse(r.stdout) as { encapsulated: boolean; frames: string[] };
  return { encapsulated: out.encapsulated, frames: out.frames.map((b) => Buffer.from(b, 'base64')) };
}

describe('DICOMweb on Orthanc', { skip }, () => {
  let orthanc: RunningOrthanc;
  let client: DicomwebClient;
  let series: SeriesSummary[];
  const seriesOf = async (sop: string): Promise<SeriesSummary> => {
    // The series holding a known SOP instance, found through QIDO like a user would browse.
    for (const s of series) {
      const md = await client.seriesMetadata(s.studyInstanceUid, s.seriesInstanceUid);
      if (md.some((m) => m['00080018']?.Value?.[0] === sop)) return s;
    }
    throw new Error(`no series holds ${sop}`);
  };
  const sopOf = (file: string): string => orthanc.loaded.find((l) => l.file === file)!.sopInstanceUid;

  before(async () => {
    orthanc = await startOrthanc();
    client = new DicomwebClient({ root: orthanc.dicomwebRoot });
    series = await client.searchSeries();
  });
  after(async () => {
    await orthanc?.stop();
  });

  test('QIDO lists every loaded study and finds them by patient, ID, date and accession', async () => {
    const all = await client.searchStudies();
    const distinctStudies = new Set(series.map((s) => s.studyInstanceUid));
    assert.equal(all.length, distinctStudies.size);
    assert.ok(all.length >= 7, `${all.length} studies`);
    assert.ok(all.every((s) => s.modalities.includes('SM')));
    const byName = await client.searchStudies({ patientName: 'Test^Patient' });
    assert.equal(byName.length, 1);
    assert.equal(byName[0]!.patientId, 'AA01');
    assert.deepEqual((await client.searchStudies({ patientId: 'AA01' })).map((s) => s.studyInstanceUid), [byName[0]!.studyInstanceUid]);
    assert.deepEqual((await client.searchStudies({ accessionNumber: 'S19-1_A_1_1' })).map((s) => s.studyInstanceUid), [byName[0]!.studyInstanceUid]);
    assert.ok((await client.searchStudies({ studyDate: '20190604' })).some((s) => s.studyInstanceUid === byName[0]!.studyInstanceUid));
    assert.deepEqual(await client.searchStudies({ patientName: 'Nobody^AtAll' }), []);
    assert.deepEqual(await client.searchStudies({ modality: 'CT' }), []);
    const inStudy = await client.searchSeries(byName[0]!.studyInstanceUid);
    assert.equal(inStudy.length, 1);
    assert.equal(inStudy[0]!.modality, 'SM');
  });

  test('the wsi2dcm pyramid opens with its 12 levels and 0.499 µm/px', async () => {
    const s = await seriesOf(sopOf(CMU));
    const reader = await openDicomwebSeries(client, s.studyInstanceUid, s.seriesInstanceUid);
    const d = reader.descriptor;
    assert.equal(d.format, 'dicomweb');
    assert.equal(d.levels.length, 12);
    assert.deepEqual([d.levels[0]!.width, d.levels[0]!.height, d.levels[0]!.tileWidth], [2220, 2967, 500]);
    assert.deepEqual([d.levels[11]!.width, d.levels[11]!.height], [1, 1]);
    assert.ok(Math.abs(d.mpp!.x - 0.499) < 1e-6 && Math.abs(d.mpp!.y - 0.499) < 1e-6, JSON.stringify(d.mpp));
    assert.equal(d.pixelKind, 'rgb');
    assert.equal(d.levels[0]!.columns * d.levels[0]!.rows, 30);
  });

  test('the dicomized TIFF opens: levels by total matrix size, per-frame positions, 0.499 µm/px from the imaged size', async () => {
    assert.equal(orthanc.dicomized.length, 1);
    const candidates = series.filter((s) => s.instanceCount === 5);
    let found = false;
    for (const s of candidates) {
      const reader = await openDicomwebSeries(client, s.studyInstanceUid, s.seriesInstanceUid);
      const d = reader.descriptor;
      if (d.levels[0]!.tileWidth !== 256) continue;
      found = true;
      assert.deepEqual(d.levels.map((l) => [l.width, l.height]), [[2220, 2967], [1110, 1483], [555, 741], [277, 370], [138, 185]]);
      assert.ok(reader.layout.levels[0]!.sparse, 'positions come from the per-frame functional groups');
      assert.ok(Math.abs(d.mpp!.x - 0.499) < 0.0005 && Math.abs(d.mpp!.y - 0.499) < 0.0005, JSON.stringify(d.mpp));
      assert.equal(d.properties['dicomweb.mpp-source'], 'ImagedVolume (PixelSpacing disagrees)');
      // The dicomizer (2 threads) stores frames in no fixed order: a tile's frame is the one
      // whose PlanePositionSlide is the tile's corner, as the archive's own metadata says.
      const md = await client.seriesMetadata(s.studyInstanceUid, s.seriesInstanceUid);
      const position = (sop: unknown, frame: unknown): [unknown, unknown] => {
        const inst = md.find((m) => m['00080018']?.Value?.[0] === sop)!;
        const item = (inst['52009230']!.Value as Record<string, { Value: Record<string, { Value: unknown[] }>[] }>[])[(frame as number) - 1]!;
        const pos = item['0048021A']!.Value[0]!;
        return [pos['0048021E']!.Value[0], pos['0048021F']!.Value[0]];
      };
      const loc = await reader.locateTile(0, 0, 0, 0);
      assert.ok(loc);
      assert.deepEqual(position(loc.meta!['sopInstanceUid'], loc.meta!['frame']), [1, 1]);
      const l0 = d.levels[0]!;
      const last = await reader.locateTile(0, l0.columns - 1, l0.rows - 1, 0);
      assert.ok(last);
      assert.deepEqual(position(last.meta!['sopInstanceUid'], last.meta!['frame']), [(l0.columns - 1) * 256 + 1, (l0.rows - 1) * 256 + 1]);
      const { buffers } = await reader.readTiles([loc, last]);
      const tile = await reader.assembleTile(loc, [buffers[0]!]);
      assert.equal(tile.mime, 'image/jpeg');
      assert.deepEqual([...tile.bytes.subarray(0, 2)], [0xff, 0xd8]);
      // All 108 tiles of level 0: more than 64 frames, so two requests; every frame a whole JPEG.
      const all = [];
      for (let r = 0; r < l0.rows; r++) for (let c = 0; c < l0.columns; c++) all.push((await reader.locateTile(0, c, r, 0))!);
      assert.equal(all.length, 108);
      assert.equal(new Set(all.map((x) => x.meta!['frame'])).size, 108);
      const read = await reader.readTiles(all);
      assert.equal(read.requests, 2);
      for (const b of read.buffers) {
        assert.deepEqual([...b.subarray(0, 2)], [0xff, 0xd8]);
        assert.ok(b.subarray(-3).includes(0xd9));
      }
      // Cancelled before it starts: ABORTED, nothing fetched.
      const ac = new AbortController();
      ac.abort();
      await assert.rejects(reader.readTiles(all.slice(0, 3), ac.signal), (e) => isAppError(e, 'ABORTED'));
    }
    assert.ok(found, 'the dicomized series is listed');
  });

  test('WG26 fluorescence: optical paths as channels, label and map as associated images', async () => {
    const s = series.find((x) => x.instanceCount === 10)!;
    const reader = await openDicomwebSeries(client, s.studyInstanceUid, s.seriesInstanceUid);
    const d = reader.descriptor;
    assert.equal(d.pixelKind, 'channels');
    assert.equal(d.channels.length, 3);
    assert.deepEqual(d.associated.map((a) => a.name).sort(), ['label', 'map']);
    assert.deepEqual([d.levels[0]!.width, d.levels[0]!.height], [3072, 2304]);
    // Plane 2 of tile (1,0) is frame 2·cols·rows + 1 + 1 of the level's instance (TILED_FULL).
    const loc = await reader.locateTile(0, 1, 0, 2);
    const l0 = d.levels[0]!;
    assert.equal(loc?.meta?.['frame'], 2 * l0.columns * l0.rows + 1 + 1);
    const label = await reader.readAssociated('label');
    assert.equal(label.mime, 'image/jpeg');
    assert.equal(label.width, 579);
  });

  test('JPEG frames: one multi-frame request = one request per frame = the stored frames pydicom reads', async () => {
    const sop = sopOf(CMU);
    const s = await seriesOf(sop);
    const numbers = Array.from({ length: 30 }, (_, i) => i + 1);
    const batch = await client.frames(s.studyInstanceUid, s.seriesInstanceUid, sop, numbers);
    assert.equal(batch.requests, 1);
    assert.equal(batch.frames.length, 30);
    assert.ok(batch.frames.every((f) => f.mediaType === 'image/jpeg' && f.transferSyntax === '1.2.840.10008.1.2.4.50'));
    const reference = pydicomFrames(CMU, numbers);
    assert.equal(reference.encapsulated, true);
    for (const n of [1, 7, 30]) {
      const single = await client.frames(s.studyInstanceUid, s.seriesInstanceUid, sop, [n]);
      assert.deepEqual(Buffer.from(single.frames[0]!.bytes), Buffer.from(batch.frames[n - 1]!.bytes), `frame ${n}`);
    }
    numbers.forEach((n, i) => assert.ok(Buffer.from(batch.frames[i]!.bytes).equals(reference.frames[i]!), `frame ${n} differs from pydicom's`));
    // Duplicates and any order: asked once each, answered in the order asked.
    const mixed = await client.frames(s.studyInstanceUid, s.seriesInstanceUid, sop, [9, 2, 9, 30]);
    assert.equal(mixed.requests, 1);
    assert.deepEqual(mixed.frames.map((f) => Buffer.from(f.bytes)), [9, 2, 9, 30].map((n) => reference.frames[n - 1]!));

    // Through the reader: tiles batch into one request and pass through as JPEG.
    const reader = await openDicomwebSeries(client, s.studyInstanceUid, s.seriesInstanceUid);
    const locs = await Promise.all([[0, 0], [1, 0], [4, 5]].map(([c, r]) => reader.locateTile(0, c!, r!, 0)));
    const read = await reader.readTiles(locs.map((l) => l!));
    assert.equal(read.requests, 1);
    const cols = reader.descriptor.levels[0]!.columns;
    locs.forEach((l, i) => {
      const frame = l!.row * cols + l!.col + 1;
      assert.equal(l!.meta?.['frame'], frame);
      assert.ok(Buffer.from(read.buffers[i]!).equals(reference.frames[frame - 1]!));
    });
  });

  test('native frames: pixels equal pydicom\'s pixel_array, single and batched', async () => {
    const sop = sopOf(RAW);
    const s = await seriesOf(sop);
    const reader = await openDicomwebSeries(client, s.studyInstanceUid, s.seriesInstanceUid);
    const d = reader.descriptor;
    const locs = [];
    for (let r = 0; r < d.levels[0]!.rows; r++) for (let c = 0; c < d.levels[0]!.columns; c++) locs.push((await reader.locateTile(0, c, r, 0))!);
    const read = await reader.readTiles(locs);
    assert.equal(read.requests, 1);
    const reference = pydicomFrames(RAW, locs.map((l) => l.meta!['frame'] as number));
    assert.equal(reference.encapsulated, false);
    for (let i = 0; i < locs.length; i++) {
      const tile = await reader.assembleTile(locs[i]!, [read.buffers[i]!]);
      assert.deepEqual(tile.encoding, { kind: 'raw', bitsPerSample: 8, samplesPerPixel: 3, sampleFormat: 'uint' });
      assert.ok(Buffer.from(tile.bytes).equals(reference.frames[i]!), `tile ${i} pixels differ from pydicom's`);
    }
    const one = await reader.readTiles([locs[5]!]);
    assert.ok(Buffer.from(one.buffers[0]!).equals(reference.frames[5]!));
  });

  test('a frame or series that does not exist is DICOMWEB_NOT_FOUND', async () => {
    const s = await seriesOf(sopOf(CMU));
    await assert.rejects(client.frames(s.studyInstanceUid, s.seriesInstanceUid, '1.2.3.4.5', [1]), (e) => isAppError(e, 'DICOMWEB_NOT_FOUND'));
    await assert.rejects(openDicomwebSeries(client, '1.2.3', '4.5.6'), (e) => isAppError(e) && ['DICOMWEB_NOT_FOUND'].includes(e.code));
  });

  test('same slide over DICOMweb and from the Part 10 files: same levels, same encoded tiles byte for byte', async () => {
    for (const file of [CMU, join(TESTDATA, 'wg26-bpaec-3dhistech-partial', '5_0.dcm')]) {
      const s = await seriesOf(sopOf(file));
      const web = await openDicomwebSeries(client, s.studyInstanceUid, s.seriesInstanceUid);
      const fileReader = new FileRangeReader(file);
      const local = await openSlide(fileReader, { siblings: localSiblings(file) });
      try {
        assert.deepEqual(web.descriptor.levels, local.descriptor.levels);
        assert.deepEqual(web.descriptor.mpp, local.descriptor.mpp);
        assert.deepEqual(web.descriptor.channels.map((c) => c.name), local.descriptor.channels.map((c) => c.name));
        for (let level = 0; level < Math.min(3, web.descriptor.levels.length); level++) {
          const l = web.descriptor.levels[level]!;
          for (let plane = 0; plane < web.descriptor.channels.length; plane++) {
            const locs = [];
            for (let row = 0; row < l.rows; row++) for (let col = 0; col < l.columns; col++) locs.push((await web.locateTile(level, col, row, plane))!);
            const read = await web.readTiles(locs);
            assert.equal(read.requests, new Set(locs.map((x) => x.meta!['sopInstanceUid'])).size, 'one request per instance');
            for (const [i, loc] of locs.entries()) {
              const a = await web.assembleTile(loc, [read.buffers[i]!]);
              const b = (await readTile(local, fileReader, level, loc.col, loc.row, plane))!;
              assert.equal(a.mime, b.mime);
              assert.ok(Buffer.from(a.bytes).equals(Buffer.from(b.bytes)), `${file} L${level} ${loc.col},${loc.row} plane ${plane}`);
            }
          }
        }
      } finally {
        await local.close();
        await fileReader.close().catch(() => undefined);
      }
    }
  });
});
