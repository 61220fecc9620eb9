/**
 * Aperio JPEG 2000 tiles (TIFF compression 33005 RGB, 33003 YCbCr), built here from
 * codestreams Pillow/OpenJPEG writes, decoded by our OpenJPEG WebAssembly codec.
 * No small real J2K SVS exists (MANIFEST), so the TIFF around the tile is hand-made.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { openSlide, readTile } from '../../../main/formats/open.js';
import { MemoryReader, TiffBuilder, tiledIfd } from '../../unit/formats/tiff-builder.js';
import { psnrRgba, reference, toRgba } from './reference.js';

const W = 64, H = 48;

async function svsWith(codestream: Uint8Array, compression: number): Promise<{ reader: MemoryReader; bytes: Uint8Array }> {
  const b = new TiffBuilder();
  const ifd = tiledIfd(b, {
    width: W, height: H, tile: 64, spp: 3, compression, tiles: [codestream],
    extra: [{ tag: 270, type: 2, values: 'Aperio Image Library v12.0.0\r\n64x48 (64x64) J2K/KDU Q=70|AppMag = 20|MPP = 0.5' }],
  });
  // The grid says 64×64 tiles; the codestream holds 64×48 and the tile reports what is stored.
  const bytes = b.build([ifd]);
  return { reader: new MemoryReader(bytes, 'j2k.svs'), bytes };
}

describe('Aperio JPEG 2000 tiles', () => {
  it('33005 (RGB) decodes losslessly; 33003 (YCbCr) converts to RGB', async () => {
    const ref = await reference('j2k', '-', [{ kind: 'rgb' }, { kind: 'j2k-rgb' }, { kind: 'j2k-ycbcr' }]);
    const [rgb, j2kRgb, j2kYcc] = ref.data as [Uint8Array, Uint8Array, Uint8Array];
    const expected = toRgba(rgb, W * H, 3);
    for (const [compression, stream, lossless] of [[33005, j2kRgb, true], [33003, j2kYcc, false]] as const) {
      const { reader } = await svsWith(stream, compression);
      const slide = await openSlide(reader);
      assert.equal(slide.descriptor.format, 'aperio');
      const tile = await readTile(slide, reader, 0, 0, 0);
      assert.ok(tile && tile.encoding.kind === 'raw' && tile.encoding.samplesPerPixel === 3);
      assert.deepEqual([tile.width, tile.height], [W, H]);
      const db = psnrRgba(toRgba(tile.bytes, W * H, 3), expected, W, H);
      if (lossless) assert.equal(db, Infinity);
      else assert.ok(db >= 35, `33003 PSNR ${db.toFixed(1)} dB`);
    }
  });

  it('a damaged codestream is FORMAT_CORRUPT, not a crash', async () => {
    const ref = await reference('j2k', '-', [{ kind: 'j2k-rgb' }]);
    const broken = ref.data[0]!.slice(0, 40);
    const { reader } = await svsWith(broken, 33005);
    const slide = await openSlide(reader);
    await assert.rejects(readTile(slide, reader, 0, 0, 0), (e: { code?: string }) => e.code === 'FORMAT_CORRUPT');
  });
});
