/**
 * Descriptors of every test file (levels, tile grids, mpp, channels, associated images),
 * the named errors for files we cannot read, and the round trips opening takes.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isAppError } from '../../../main/common/errors.js';
import { decodeTileToRgba } from '../../../main/formats/codecs/decode.js';
import { localSiblings } from '../../../main/sources/siblings.js';
import { openSlide } from '../../../main/formats/open.js';
import type { SlideDescriptor } from '../../../main/formats/types.js';
import { FileRangeReader } from '../../../main/sources/file.js';
import { CountingReader } from '../../unit/formats/counting-reader.js';
import { TESTDATA } from './reference.js';

async function open(file: string): Promise<{ d: SlideDescriptor; reader: CountingReader; close: () => Promise<void>; slide: Awaited<ReturnType<typeof openSlide>> }> {
  const path = `${TESTDATA}/${file}`;
  const reader = new CountingReader(new FileRangeReader(path));
  const slide = await openSlide(reader, { siblings: localSiblings(path) });
  return { d: slide.descriptor, reader, slide, close: () => slide.close() };
}

const sizes = (d: SlideDescriptor): string[] => d.levels.map((l) => `${l.width}x${l.height}`);

function checkGrid(d: SlideDescriptor): void {
  for (const l of d.levels) {
    assert.equal(l.columns, Math.ceil(l.width / l.tileWidth));
    assert.equal(l.rows, Math.ceil(l.height / l.tileHeight));
    assert.equal(l.downsample, d.levels[0]!.width / l.width);
  }
  assert.equal(d.levels[0]!.downsample, 1);
  assert.equal(d.properties['openslide.level-count'], String(d.levels.length));
}

describe('descriptors of the test files', () => {
  it('Aperio SVS: level, MPP, AppMag, thumbnail/label/macro, openslide properties', async () => {
    const { d, slide, close } = await open('aperio-svs/CMU-1-Small-Region.svs');
    assert.equal(d.format, 'aperio');
    assert.deepEqual(sizes(d), ['2220x2967']);
    assert.equal(d.levels[0]!.tileWidth, 240);
    assert.equal(d.levels[0]!.columns, 10);
    assert.equal(d.levels[0]!.rows, 13);
    assert.deepEqual(d.mpp, { x: 0.499, y: 0.499 });
    assert.equal(d.objectivePower, 20);
    assert.equal(d.properties['aperio.AppMag'], '20');
    assert.equal(d.properties['openslide.mpp-x'], '0.499');
    assert.equal(d.properties['openslide.objective-power'], '20');
    assert.match(d.properties['tiff.ImageDescription']!, /^Aperio Image Library/);
    assert.deepEqual(d.associated.map((a) => `${a.name}:${a.width}x${a.height}`).sort(), ['label:387x463', 'macro:1280x431', 'thumbnail:574x768']);
    for (const a of d.associated) {
      const img = await decodeTileToRgba(await slide.readAssociated(a.name));
      assert.deepEqual([img.width, img.height], [a.width, a.height]);
    }
    checkGrid(d);
    await close();
  });

  it('Aperio 16×16 crop: one tile larger than the image', async () => {
    const { d, reader, close } = await open('aperio-svs/aperio-16x16-crop.svs');
    assert.deepEqual(sizes(d), ['16x16']);
    assert.equal(d.levels[0]!.tileWidth, 64);
    assert.equal(d.levels[0]!.columns, 1);
    assert.deepEqual(d.associated.map((a) => a.name), ['thumbnail']);
    assert.equal(reader.reads, 1, 'a small file opens with one read');
    await close();
  });

  for (const file of ['derived/generic-tiff/CMU-1-Small-Region.pyramid-jpeg.tif', 'derived/generic-tiff/CMU-1-Small-Region.pyramid-jpeg.bigtiff.tif']) {
    it(`generic TIFF ${file.endsWith('bigtiff.tif') ? 'BigTIFF' : 'classic'}: 5 levels, MPP from resolution (cm)`, async () => {
      const { d, reader, slide, close } = await open(file);
      assert.equal(d.format, 'generic-tiff');
      assert.equal(d.properties['tiff.BigTIFF'], String(file.endsWith('bigtiff.tif')));
      assert.deepEqual(sizes(d), ['2220x2967', '1110x1483', '555x741', '277x370', '138x185']);
      assert.ok(d.levels.every((l) => l.tileWidth === 256 && l.tileHeight === 256));
      assert.ok(Math.abs(d.mpp!.x - 0.499) < 1e-3 && Math.abs(d.mpp!.y - 0.499) < 1e-3);
      checkGrid(d);
      // Opening: the head, then one round per directory that is not in hand (tail prefetched once).
      assert.ok(reader.reads <= 3, `opened in ${reader.reads} reads`);
      // Tile tables are fetched per level on first need, one range read each, then cached.
      reader.reset();
      await slide.locateTile(2, 0, 0, 0);
      assert.equal(reader.reads, 2);
      assert.equal(reader.ranges, 2);
      await slide.locateTile(2, 1, 1, 0);
      await slide.locateTile(2, 2, 2, 0);
      assert.equal(reader.reads, 2, 'offset tables are cached');
      await close();
    });
  }

  it('OME-TIFF brightfield RGB: SubIFD pyramid, physical size, SubIFDs read in one batch', async () => {
    const { d, reader, close } = await open('derived/ome-tiff/CMU-1-Small-Region.rgb-pyramid-subifds.ome.tif');
    assert.equal(d.format, 'ome-tiff');
    assert.equal(d.pixelKind, 'rgb');
    assert.deepEqual(sizes(d), ['2220x2967', '1110x1483', '555x741', '277x370']);
    assert.deepEqual(d.mpp, { x: 0.499, y: 0.499 });
    // head; description + tail; the three SubIFDs together.
    assert.equal(reader.reads, 3);
    assert.equal(reader.log[2]!.length, 3);
    checkGrid(d);
    await close();
  });

  it('OME-TIFF 2-channel uint16: channels named from OME-XML, raw 16-bit planes', async () => {
    const { d, slide, close } = await open('derived/ome-tiff/NDPI-DAPI-TRITC.2ch-uint16-pyramid-subifds.ome.tif');
    assert.equal(d.pixelKind, 'channels');
    assert.deepEqual(d.channels.map((c) => [c.name, c.bitsPerSample]), [['DAPI', 16], ['TRITC', 16]]);
    assert.deepEqual(sizes(d), ['1984x2432', '992x1216', '496x608', '248x304', '124x152']);
    assert.ok(Math.abs(d.mpp!.x - 0.45635) < 1e-4);
    const loc = await slide.locateTile(1, 0, 0, 1);
    assert.ok(loc);
    checkGrid(d);
    await close();
  });

  for (const file of ['hamamatsu-ndpi/test3-DAPI-2-387.ndpi', 'hamamatsu-ndpi/test3-TRITC-2-560.ndpi']) {
    it(`NDPI ${file.split('/')[1]}: 4 JPEG levels, virtual tiles from restart intervals, macro and map`, async () => {
      const { d, slide, close } = await open(file);
      assert.equal(d.format, 'hamamatsu-ndpi');
      assert.deepEqual(sizes(d), ['3968x4864', '1984x2432', '992x1216', '496x608']);
      assert.deepEqual(d.levels.map((l) => l.downsample), [1, 2, 4, 8]);
      assert.ok(Math.abs(d.mpp!.x - 0.2282) < 1e-3);
      assert.equal(d.objectivePower, 40);
      assert.deepEqual(d.associated.map((a) => `${a.name}:${a.width}x${a.height}`), ['macro:1188x406', 'map:594x203']);
      const macro = await slide.readAssociated('macro');
      assert.equal(macro.encoding.kind, 'jpeg');
      checkGrid(d);
      await close();
    });
  }

  it('DICOM multi-file pyramid (wsi2dcm): 12 levels from 12 files of one series', async () => {
    const { d, close } = await open('dicom-wsi/cmu1-small-region-wsi2dcm-pyramid/level-5-frames-0-1.dcm');
    assert.equal(d.format, 'dicom');
    assert.equal(d.levels.length, 12);
    assert.deepEqual(sizes(d).slice(0, 4), ['2220x2967', '1110x1483', '555x741', '277x370']);
    assert.equal(d.levels[0]!.tileWidth, 500);
    assert.deepEqual(d.mpp, { x: 0.499, y: 0.499 });
    checkGrid(d);
    await close();
  });

  it('DICOM WG26 fluorescence: 3 optical paths as channels, label and map', async () => {
    const { d, slide, close } = await open('dicom-wsi/wg26-bpaec-3dhistech-partial/7_0.dcm');
    assert.equal(d.pixelKind, 'channels');
    assert.equal(d.channels.length, 3);
    assert.equal(d.levels.length, 8);
    assert.deepEqual(sizes(d)[0], '3072x2304');
    assert.equal(d.vendor, '3DHISTECH Kft.');
    assert.deepEqual(d.associated.map((a) => a.name).sort(), ['label', 'map']);
    const label = await decodeTileToRgba(await slide.readAssociated('label'));
    assert.deepEqual([label.width, label.height], [579, 441]);
    checkGrid(d);
    await close();
  });

  it('DICOM single files: native, JPEG, JPEG 2000, non-conformant (no DimensionOrganizationType)', async () => {
    for (const [file, size, tile] of [
      ['dicom-wsi/wsi2dcm-single-level/raw-explicit-le.dcm', '957x715', 256],
      ['dicom-wsi/highdicom-sm_image-50x50.dcm', '50x50', 10],
      ['dicom-wsi/pathml-small_dicom-tcga.dcm', '3236x2638', 500],
      ['dicom-wsi/wsi2dcm-single-level/jpeg2000-lossless.dcm', '957x715', 256],
    ] as const) {
      const { d, close } = await open(file);
      assert.deepEqual(sizes(d)[0], size, file);
      assert.equal(d.levels[0]!.tileWidth, tile);
      await close();
    }
  });

  const unsupported: [string, string, RegExp][] = [
    ['olympus-vsi/vsi-ets-test-jpg2k.vsi', 'olympus-vsi', /Olympus cellSens VSI/],
    ['olympus-vsi/_vsi-ets-test-jpg2k_/stack1/frame_t_0.ets', 'olympus-ets', /Olympus ETS/],
    ['vectra-qptiff/small_vectra.qptiff', 'vectra-qptiff', /Vectra QPTIFF \(striped/],
    ['MANIFEST.md', 'unknown', /not a slide format/],
  ];
  for (const [file, format, message] of unsupported) {
    it(`names what it cannot read: ${file}`, async () => {
      const reader = new FileRangeReader(`${TESTDATA}/${file}`);
      await assert.rejects(openSlide(reader), (err) => {
        assert.ok(isAppError(err));
        if (format === 'unknown') assert.equal(err.code, 'FORMAT_UNKNOWN');
        else {
          assert.equal(err.code, 'FORMAT_UNSUPPORTED');
          assert.equal(err.details?.['format'], format);
        }
        assert.match(err.message, message);
        return true;
      });
      await reader.close();
    });
  }
});
