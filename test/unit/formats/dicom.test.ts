/**
 * DICOM WSI on hand-made objects: the structures the real test files lack (TILED_SPARSE,
 * Basic and Extended Offset Tables, multi-fragment frames, implicit VR, optical paths).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import jpeg from 'jpeg-js';
import { isAppError } from '../../../main/common/errors.js';
import { openSlide, readTile } from '../../../main/formats/open.js';
import { dicomFile, encapsulatedPixelData, nativePixelData, wsiElements, type El } from './dicom-builder.js';
import { MemoryReader } from './tiff-builder.js';

const EXPLICIT = '1.2.840.10008.1.2.1';
const IMPLICIT = '1.2.840.10008.1.2';
const JPEG = '1.2.840.10008.1.2.4.50';

const frame = (n: number, size: number): Uint8Array => Uint8Array.from({ length: size }, (_, i) => (i + n * 50) & 0xff);
const position = (x: number, y: number, op?: string): El[] => [
  { tag: [0x0048, 0x021a], vr: 'SQ', value: [[{ tag: [0x0048, 0x021e], vr: 'SL', value: [x] }, { tag: [0x0048, 0x021f], vr: 'SL', value: [y] }]] },
  ...(op ? [{ tag: [0x0048, 0x0207], vr: 'SQ', value: [[{ tag: [0x0048, 0x0106], vr: 'SH', value: op }]] } as El] : []),
];
const spacing = (mm: number): El => ({
  tag: [0x5200, 0x9229], vr: 'SQ', value: [[{ tag: [0x0028, 0x9110], vr: 'SQ', value: [[{ tag: [0x0028, 0x0030], vr: 'DS', value: `${mm}\\${mm}` }]] }]],
});

function jpegFrame(seed: number): Uint8Array {
  const data = new Uint8Array(16 * 16 * 4).map((_, i) => (i * seed) & 0xff);
  return new Uint8Array(jpeg.encode({ width: 16, height: 16, data }, 80).data);
}

describe('DICOM reader on hand-made objects', () => {
  it('TILED_SPARSE: frames placed by plane position; an absent tile is null', async () => {
    // 2×2 grid of 4×4 tiles; frames stored out of order; tile (1,1) absent.
    const order: [number, number][] = [[1, 0], [0, 1], [0, 0]];
    const frames = order.map((_, i) => frame(i, 16));
    const perFrame: El = { tag: [0x5200, 0x9230], vr: 'SQ', value: order.map(([c, r]) => position(c * 4 + 1, r * 4 + 1)) };
    const file = dicomFile(EXPLICIT, wsiElements({ width: 8, height: 8, tile: 4, frames: 3, spp: 1, photometric: 'MONOCHROME2', organisation: 'TILED_SPARSE', extra: [perFrame, spacing(0.00025)] }), nativePixelData(frames, true));
    const reader = new MemoryReader(file, 'sparse.dcm');
    const slide = await openSlide(reader);
    assert.equal(slide.descriptor.format, 'dicom');
    assert.deepEqual(slide.descriptor.mpp, { x: 0.25, y: 0.25 });
    for (const [i, [c, r]] of order.entries()) {
      const tile = await readTile(slide, reader, 0, c, r);
      assert.ok(tile);
      assert.deepEqual(tile.bytes, frames[i]);
    }
    assert.equal(await slide.locateTile(0, 1, 1, 0), null);
  });

  it('TILED_SPARSE with two optical paths: planes follow OpticalPathIdentificationSequence', async () => {
    const ops: El = { tag: [0x0048, 0x0105], vr: 'SQ', value: [[{ tag: [0x0048, 0x0106], vr: 'SH', value: 'DAPI' }, { tag: [0x0048, 0x0107], vr: 'ST', value: 'DAPI' }], [{ tag: [0x0048, 0x0106], vr: 'SH', value: 'FITC' }]] };
    const perFrame: El = { tag: [0x5200, 0x9230], vr: 'SQ', value: [position(1, 1, 'FITC'), position(1, 1, 'DAPI')] };
    const frames = [frame(1, 16), frame(2, 16)];
    const file = dicomFile(EXPLICIT, wsiElements({ width: 4, height: 4, tile: 4, frames: 2, spp: 1, photometric: 'MONOCHROME2', organisation: 'TILED_SPARSE', extra: [perFrame, ops] }), nativePixelData(frames, true));
    const reader = new MemoryReader(file, 'ops.dcm');
    const slide = await openSlide(reader);
    assert.equal(slide.descriptor.pixelKind, 'channels');
    assert.deepEqual(slide.descriptor.channels.map((c) => c.name), ['DAPI', 'Optical path FITC']);
    assert.deepEqual((await readTile(slide, reader, 0, 0, 0, 0))!.bytes, frames[1]);
    assert.deepEqual((await readTile(slide, reader, 0, 0, 0, 1))!.bytes, frames[0]);
  });

  for (const variant of ['basic offset table', 'extended offset table', 'fragment scan'] as const) {
    it(`encapsulated JPEG frames located by ${variant}, multi-fragment frames joined`, async () => {
      const jpegs = [jpegFrame(3), jpegFrame(5)];
      // Frame 0 split in two fragments.
      const cut = Math.floor(jpegs[0]!.length / 2) & ~1;
      const px = encapsulatedPixelData([[jpegs[0]!.subarray(0, cut), jpegs[0]!.subarray(cut)], [jpegs[1]!]], variant === 'basic offset table');
      const extra: El[] = variant === 'extended offset table'
        ? [{ tag: [0x7fe0, 0x0001], vr: 'OV', value: px.eotOffsets }, { tag: [0x7fe0, 0x0002], vr: 'OV', value: px.eotLengths }]
        : [];
      if (variant === 'extended offset table') {
        // EOT frames are single fragments: rebuild without the split.
        const single = encapsulatedPixelData([[jpegs[0]!], [jpegs[1]!]], false);
        extra[0]!.value = single.eotOffsets;
        extra[1]!.value = single.eotLengths;
        px.bytes = single.bytes;
      }
      const file = dicomFile(JPEG, wsiElements({ width: 32, height: 16, tile: 16, frames: 2, spp: 3, photometric: 'YBR_FULL_422', organisation: 'TILED_FULL', extra }), px.bytes);
      const reader = new MemoryReader(file, 'jpeg.dcm');
      const slide = await openSlide(reader);
      for (const c of [0, 1]) {
        const tile = await readTile(slide, reader, 0, c, 0);
        assert.ok(tile && tile.encoding.kind === 'jpeg');
        // Pass-through: the same bytes (an odd-length frame keeps its pad byte).
        assert.deepEqual(tile.bytes.subarray(0, jpegs[c]!.length), jpegs[c]);
      }
    });
  }

  it('implicit VR little endian: VRs from the dictionary, sequences (pixel spacing), TILED_FULL', async () => {
    const frames = [frame(0, 16 * 3), frame(1, 16 * 3)];
    const file = dicomFile(IMPLICIT, wsiElements({ width: 8, height: 4, tile: 4, frames: 2, spp: 3, photometric: 'RGB', organisation: 'TILED_FULL', extra: [spacing(0.0005)] }), nativePixelData(frames, false));
    const reader = new MemoryReader(file, 'implicit.dcm');
    const slide = await openSlide(reader);
    assert.deepEqual(slide.descriptor.mpp, { x: 0.5, y: 0.5 });
    assert.deepEqual((await readTile(slide, reader, 0, 1, 0))!.bytes, frames[1]);
  });

  it('a DICOM object that is not a slide, and HTJ2K frames, are named', async () => {
    const ct = dicomFile(EXPLICIT, [{ tag: [0x0008, 0x0016], vr: 'UI', value: '1.2.840.10008.5.1.4.1.1.2' }], []);
    await assert.rejects(openSlide(new MemoryReader(ct, 'ct.dcm')), (e) => isAppError(e, 'FORMAT_UNSUPPORTED') && e.details?.['format'] === 'dicom');
    const j2k = dicomFile('1.2.840.10008.1.2.4.201', wsiElements({ width: 4, height: 4, tile: 4, frames: 1, spp: 3, photometric: 'RGB', organisation: 'TILED_FULL' }), encapsulatedPixelData([[frame(0, 10)]], false).bytes);
    await assert.rejects(openSlide(new MemoryReader(j2k, 'j2k.dcm')), (e) => isAppError(e, 'FORMAT_UNSUPPORTED') && e.details?.['format'] === 'htj2k');
  });

  it('a header cut inside a sequence is FORMAT_CORRUPT', async () => {
    const perFrame: El = { tag: [0x5200, 0x9230], vr: 'SQ', value: [position(1, 1)] };
    const file = dicomFile(EXPLICIT, wsiElements({ width: 4, height: 4, tile: 4, frames: 1, spp: 1, photometric: 'MONOCHROME2', organisation: 'TILED_SPARSE', extra: [perFrame] }), nativePixelData([frame(0, 16)], true));
    const at = file.length - 60;
    await assert.rejects(openSlide(new MemoryReader(file.subarray(0, at), 'cut.dcm')), (e) => isAppError(e) && e.code.startsWith('FORMAT_'));
  });
});
