/**
 * The CZI module's own rules: detection and its reason, the ordered list, JPEG XR refused
 * in words, the hi/lo byte packing, and a mosaic whose later tile covers the overlap.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { readFileSync } from 'node:fs';
import { AppError } from '../../../main/common/errors.js';
import { checkCompression, composeCziTile, CZI_COMPOSER, unpackHiLo, type CziBlock } from '../../../main/formats/czi/compose.js';
import { cziFormat } from '../../../main/formats/czi/format.js';
import { cziColor } from '../../../main/formats/czi/metadata.js';
import { FORMATS, openSlide } from '../../../main/formats/open.js';
import type { FormatProbe } from '../../../main/formats/types.js';
import { FileRangeReader } from '../../../main/sources/file.js';
import { CountingReader } from './counting-reader.js';

import { TESTDATA } from '../../support/paths.js';

/** A ZISRAWSUBBLOCK segment around `pixels` (no metadata, 256-byte entry block). */
function segment(pixels: Uint8Array): Uint8Array {
  const s = new Uint8Array(32 + 256 + pixels.length);
  s.set(new TextEncoder().encode('ZISRAWSUBBLOCK'), 0);
  const dv = new DataView(s.buffer);
  dv.setBigInt64(16, BigInt(256 + pixels.length), true);
  dv.setBigInt64(32 + 8, BigInt(pixels.length), true);
  s.set(pixels, 32 + 256);
  return s;
}

describe('Zeiss CZI', () => {
  it('is detected by its ZISRAWFILE segment and declines anything else with a reason', () => {
    const head = new Uint8Array(readFileSync(`${TESTDATA}/zeiss-czi/1_tileregion.czi`).subarray(0, 1024));
    const probe = (h: Uint8Array): FormatProbe => ({ head: h, reader: undefined as never, identity: { uri: 'file:///x', size: 1, etag: undefined, lastModified: undefined } });
    assert.deepEqual(cziFormat.detect(probe(head)), { ok: true });
    const v = cziFormat.detect(probe(new Uint8Array(1024)));
    assert.equal(v.ok, false);
    assert.match(!v.ok ? v.reason : '', /ZISRAWFILE/);
    assert.ok(FORMATS.includes(cziFormat));
  });

  it('names JPEG XR and other compressions it cannot decode, in words', () => {
    assert.throws(() => checkCompression(4), (e: unknown) => e instanceof AppError && e.code === 'FORMAT_UNSUPPORTED' && /JPEG XR/.test(e.message));
    assert.throws(() => checkCompression(2), (e: unknown) => e instanceof AppError && e.code === 'FORMAT_UNSUPPORTED' && /LZW/.test(e.message));
    for (const ok of [0, 5, 6]) checkCompression(ok);
  });

  it('undoes the hi/lo byte packing (low bytes first, then high bytes)', () => {
    assert.deepEqual([...unpackHiLo(new Uint8Array([0x34, 0x78, 0x12, 0x56]))], [0x34, 0x12, 0x78, 0x56]);
  });

  it('reads ZEN colours #AARRGGBB as #rrggbb', () => {
    assert.equal(cziColor('#FF00FF5B'), '#00ff5b');
    assert.equal(cziColor('#00a1ff'), '#00a1ff');
    assert.equal(cziColor('red'), undefined);
  });

  it('draws mosaic tiles in order, so the later one covers the overlap', () => {
    const a: CziBlock = { x: 0, y: 0, w: 4, h: 1, storedW: 4, storedH: 1, compression: 0, pixelType: 0 };
    const b: CziBlock = { ...a, x: 2 };
    const bufA = segment(new Uint8Array([1, 1, 1, 1]));
    const bufB = segment(new Uint8Array([2, 2, 2, 2]));
    const tile = composeCziTile(
      { level: 0, col: 0, row: 0, plane: 0, ranges: [{ offset: 0, length: bufA.length }, { offset: 0, length: bufB.length }], meta: { worker: CZI_COMPOSER, czi: { x0: 0, y0: 0, scale: 1, width: 7, height: 1, pixelType: 0, blocks: [a, b] } } },
      [bufA, bufB],
    );
    assert.deepEqual([...tile.bytes], [1, 1, 2, 2, 2, 2, 0]);
  });

  it('opens with the head read, then batched reads of the directory, metadata and attachments', async () => {
    const reader = new CountingReader(new FileRangeReader(`${TESTDATA}/zeiss-czi/S3_1Pos_2Mosaic_T1_Z1_CH1.czi`));
    const slide = await openSlide(reader);
    try {
      assert.equal(slide.descriptor.format, 'zeiss-czi');
      assert.equal(slide.descriptor.pixelKind, 'channels');
      assert.deepEqual(slide.descriptor.channels.map((c) => [c.name, c.color, c.bitsPerSample]), [['DAPI', '#00a1ff', 16]]);
      assert.ok(reader.reads <= 4, `${reader.reads} reads`);
    } finally {
      await slide.close();
    }
  });
});
