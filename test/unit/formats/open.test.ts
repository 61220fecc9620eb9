/** openSlide: the precedence of formats, reasons for declines, and named errors. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isAppError } from '../../../main/common/errors.js';
import { FORMATS, openSlide } from '../../../main/formats/open.js';
import type { SlideFormat } from '../../../main/formats/types.js';
import { MemoryReader, TiffBuilder, tiledIfd, type BEntry } from './tiff-builder.js';

const OME = '<?xml version="1.0"?><OME xmlns="http://www.openmicroscopy.org/Schemas/OME/2016-06"><Image ID="Image:0"><Pixels ID="Pixels:0" DimensionOrder="XYCZT" Type="uint8" SizeX="32" SizeY="32" SizeC="1" SizeZ="1" SizeT="1" PhysicalSizeX="0.25" PhysicalSizeY="0.25"><Channel ID="Channel:0:0" Name="DAPI" Color="65535"/><TiffData IFD="0" PlaneCount="1"/></Pixels></Image></OME>';

function tiff(extra: BEntry[] = [], tiled = true): Uint8Array {
  const b = new TiffBuilder();
  const ifd = tiledIfd(b, { width: 32, height: 32, tile: 16, tiles: Array(4).fill(new Uint8Array(256)), extra });
  if (!tiled) ifd.entries = ifd.entries.filter((e) => e.tag !== 322 && e.tag !== 323);
  return b.build([ifd]);
}

async function formatOf(bytes: Uint8Array): Promise<{ format: string; verdicts: string[] }> {
  const verdicts: string[] = [];
  const slide = await openSlide(new MemoryReader(bytes), { onDetection: (name, v) => verdicts.push(v.ok ? `${name}: yes` : `${name}: ${v.reason}`) });
  return { format: slide.descriptor.format, verdicts };
}

async function unsupportedAs(bytes: Uint8Array, format: string, message: RegExp, name?: string): Promise<void> {
  await assert.rejects(openSlide(new MemoryReader(bytes, name)), (err) => {
    assert.ok(isAppError(err, 'FORMAT_UNSUPPORTED'), String(err));
    assert.equal(err.details?.['format'], format);
    assert.match(err.message, message);
    return true;
  });
}

describe('openSlide', () => {
  it('tries formats most specific first, generic TIFF last', () => {
    assert.deepEqual(FORMATS.map((f) => f.name), ['dicom', 'zeiss-czi', 'hamamatsu-ndpi', 'aperio', 'ome-tiff', 'generic-tiff']);
  });

  it('a plain tiled TIFF goes to generic-tiff, with the reasons the others declined', async () => {
    const { format, verdicts } = await formatOf(tiff());
    assert.equal(format, 'generic-tiff');
    assert.deepEqual(verdicts, [
      'dicom: No DICM marker at byte 128',
      'zeiss-czi: No ZISRAWFILE segment at the start of the file',
      'hamamatsu-ndpi: Not an NDPI file (no tag 65420)',
      'aperio: Not an Aperio slide (ImageDescription does not start with "Aperio")',
      'ome-tiff: No OME-XML in the first ImageDescription',
      'generic-tiff: yes',
    ]);
  });

  it('Aperio description wins over generic TIFF', async () => {
    const { format } = await formatOf(tiff([{ tag: 270, type: 2, values: 'Aperio Image Library v12\r\n32x32 (16x16) JPEG/RGB Q=70|AppMag = 40|MPP = 0.25' }]));
    assert.equal(format, 'aperio');
  });

  it('OME-XML goes to ome-tiff, with channel name, colour and physical size', async () => {
    const slide = await openSlide(new MemoryReader(tiff([{ tag: 270, type: 2, values: OME }])));
    const d = slide.descriptor;
    assert.equal(d.format, 'ome-tiff');
    assert.deepEqual(d.mpp, { x: 0.25, y: 0.25 });
    assert.deepEqual(d.channels, [{ name: 'DAPI', color: '#0000ff', bitsPerSample: 8, sampleFormat: 'uint' }]);
  });

  it('an "Aperio" file that also holds OME-XML is read as Aperio (earlier in the list)', async () => {
    const { format } = await formatOf(tiff([{ tag: 270, type: 2, values: `Aperio Image Library|MPP = 0.5 ${OME}` }]));
    assert.equal(format, 'aperio');
  });

  it('the first format that says yes opens the file; a custom list is honoured', async () => {
    const calls: string[] = [];
    const fake = (name: string, ok: boolean): SlideFormat => ({
      name,
      detect: () => (calls.push(name), ok ? { ok: true } : { ok: false, reason: 'no' }),
      open: () => Promise.reject(new Error(`${name} opened`)),
    });
    await assert.rejects(openSlide(new MemoryReader(tiff()), { formats: [fake('a', false), fake('b', true), fake('c', true)] }), /b opened/);
    assert.deepEqual(calls, ['a', 'b']);
  });

  it('a foreign exception from a format becomes FORMAT_CORRUPT', async () => {
    const broken: SlideFormat = { name: 'x', detect: () => ({ ok: true }), open: () => Promise.reject(new RangeError('Offset is outside the bounds of the DataView')) };
    await assert.rejects(openSlide(new MemoryReader(tiff()), { formats: [broken] }), (e) => isAppError(e, 'FORMAT_CORRUPT'));
  });

  it('names formats it recognises but cannot read', async () => {
    const bytes = (s: string, n = 512): Uint8Array => {
      const out = new Uint8Array(n);
      out.set(Buffer.from(s, 'latin1'));
      return out;
    };
    // A CZI header of an unknown container version is read by the CZI module, which names it.
    await unsupportedAs(bytes('ZISRAWFILE'), 'zeiss-czi', /Zeiss CZI file has container version 0\.0/);
    await unsupportedAs(bytes('\xff\xd8\xff\xe0\0\x10JFIF'), 'jpeg', /plain JPEG/);
    await unsupportedAs(bytes('\x89PNG\r\n\x1a\n'), 'png', /PNG/);
    await unsupportedAs(bytes('SIS\0'), 'olympus-ets', /Olympus ETS/);
    await unsupportedAs(bytes('[GENERAL]\r\nSLIDE_ID = 1234\r\n'), '3dhistech-mrxs', /MRXS/);
    await unsupportedAs(bytes('PK\x03\x04'), 'zip', /ZIP/);
    await unsupportedAs(bytes('\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1'), 'ole2', /ZVI/);
    await unsupportedAs(tiff([], false), 'striped-tiff', /striped/);
    await unsupportedAs(tiff([{ tag: 270, type: 2, values: '<?xml version="1.0"?><PerkinElmer-QPI-ImageDescription>' }], false), 'vectra-qptiff', /Vectra QPTIFF/);
    await unsupportedAs(tiff([{ tag: 270, type: 2, values: '<?xml version="1.0"?><scn xmlns="http://www.leica-microsystems.com/scn/2010/10/01">' }], false), 'leica-scn', /Leica SCN/);
    await unsupportedAs(tiff([{ tag: 33560, type: 4, values: [1] }], false), 'olympus-vsi', /Olympus cellSens VSI/);
  });

  it('an empty file and a bad header are FORMAT_CORRUPT / FORMAT_UNKNOWN', async () => {
    await assert.rejects(openSlide(new MemoryReader(new Uint8Array(0))), (e) => isAppError(e, 'FORMAT_CORRUPT'));
    await assert.rejects(openSlide(new MemoryReader(new Uint8Array(100))), (e) => isAppError(e, 'FORMAT_UNKNOWN'));
    const header = Uint8Array.of(0x49, 0x49, 42, 0, 0xff, 0xff, 0, 0);
    await assert.rejects(openSlide(new MemoryReader(header)), (e) => isAppError(e, 'FORMAT_CORRUPT') && e.details?.['offset'] === 0xffff);
  });
});
