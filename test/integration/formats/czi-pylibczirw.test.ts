/**
 * Zeiss CZI against Zeiss' own reader (pylibCZIrw 6.1 in the test stack's venv), from the
 * local files and from MinIO: the tiles of every level at several places (first, middle,
 * last) are identical to what libCZI composes for the same rectangle and zoom (both files
 * are lossless: one uncompressed with a pyramid layer, one zstd with hi/lo byte packing
 * over three scenes), and the channel names, count, pixel size and scenes agree.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { openSlide, readTile } from '../../../main/formats/open.js';
import type { SlideReader } from '../../../main/formats/types.js';
import { FileRangeReader } from '../../../main/sources/file.js';
import { S3Client, S3RangeReader } from '../../../main/sources/s3.js';
import type { RangeReader } from '../../../main/sources/types.js';
import { startStack, type RunningStack } from '../../stack/stack.js';
import { cziReference, type CziRegionRequest } from './czi-reference.js';
import { TESTDATA } from './reference.js';

const FILES = ['zeiss-czi/1_tileregion.czi', 'zeiss-czi/S3_1Pos_2Mosaic_T1_Z1_CH1.czi'];

async function compare(file: string, slide: SlideReader, reader: RangeReader): Promise<void> {
  const d = slide.descriptor;
  const picks: { level: number; col: number; row: number; plane: number }[] = [];
  d.levels.forEach((l, level) => {
    for (let plane = 0; plane < d.channels.length; plane++) {
      const cells = [[0, 0], [l.columns >> 1, l.rows >> 1], [l.columns - 1, 0], [0, l.rows - 1], [l.columns - 1, l.rows - 1]];
      for (const [col, row] of cells) if (!picks.some((p) => p.level === level && p.col === col && p.row === row && p.plane === plane)) picks.push({ level, col: col!, row: row!, plane });
    }
  });
  // The reference reads a level-0 rectangle at zoom 1/f (f = the level's power of two).
  const requests: CziRegionRequest[] = picks.map((p) => {
    const l = d.levels[p.level]!;
    const f = 2 ** Math.round(Math.log2(l.downsample));
    const x = p.col * l.tileWidth, y = p.row * l.tileHeight;
    const w = Math.min(l.tileWidth, l.width - x), h = Math.min(l.tileHeight, l.height - y);
    return { x: x * f, y: y * f, w: w * f, h: h * f, zoom: 1 / f, plane: p.plane };
  });
  const ref = await cziReference(`${TESTDATA}/${file}`, requests);
  assert.equal(d.levels[0]!.width, ref.box[2]);
  assert.equal(d.levels[0]!.height, ref.box[3]);
  assert.deepEqual(d.channels.map((c) => c.name), ref.channels);
  assert.ok(d.mpp && Math.abs(d.mpp.x - ref.mpp[0]!) < 1e-9 && Math.abs(d.mpp.y - ref.mpp[1]!) < 1e-9, `mpp ${JSON.stringify(d.mpp)} vs ${ref.mpp}`);
  const scenes = Object.values(ref.scenes).map((r) => r.join(','));
  assert.deepEqual(Object.entries(d.properties).filter(([k]) => /^czi\.scene\[\d+\]\.bounds$/.test(k)).map(([, v]) => v), scenes);
  for (const [i, p] of picks.entries()) {
    const tile = await readTile(slide, reader, p.level, p.col, p.row, p.plane);
    const [h, w, spp] = ref.shapes[i]!;
    const expected = ref.data[i]!;
    if (!tile) {
      assert.ok(expected.every((b) => b === 0), `${file} level ${p.level} tile ${p.col},${p.row}: no subblock here, libCZI draws something`);
      continue;
    }
    assert.equal(tile.encoding.kind, 'raw');
    assert.deepEqual([tile.height, tile.width], [h, w], `${file} level ${p.level} tile ${p.col},${p.row} size`);
    assert.equal(tile.encoding.kind === 'raw' ? tile.encoding.samplesPerPixel : 0, spp);
    assert.ok(Buffer.from(tile.bytes).equals(Buffer.from(expected)), `${file} level ${p.level} plane ${p.plane} tile ${p.col},${p.row} differs from libCZI`);
  }
  assert.ok(picks.length >= 4, `only ${picks.length} places compared`);
}

describe('Zeiss CZI matches pylibCZIrw (local files)', () => {
  for (const file of FILES) {
    it(file, async () => {
      const reader = new FileRangeReader(`${TESTDATA}/${file}`);
      const slide = await openSlide(reader);
      try {
        await compare(file, slide, reader);
        assert.ok(slide.descriptor.associated.some((a) => a.name === 'thumbnail'));
        const thumb = await slide.readAssociated('thumbnail');
        assert.equal(thumb.mime, 'image/jpeg');
        assert.deepEqual([...thumb.bytes.subarray(0, 2)], [0xff, 0xd8]);
      } finally {
        await slide.close();
      }
    });
  }
});

describe('Zeiss CZI matches pylibCZIrw (from MinIO)', () => {
  let stack: RunningStack;
  let client: S3Client;
  before(async () => {
    stack = await startStack();
    // The stack's root user: this test is about the reader over S3, the STS path has its own tests.
    const creds = { accessKeyId: stack.minio.rootUser, secretAccessKey: stack.minio.rootPassword, sessionToken: '', expiration: new Date(Date.now() + 3600_000) };
    client = new S3Client({ endpoint: stack.s3Endpoint, region: stack.region, forcePathStyle: true, credentials: { get: async () => creds, info: () => null, invalidate: () => undefined } });
  });
  after(async () => {
    await stack?.stop();
  });
  for (const file of FILES) {
    it(file, async () => {
      const reader = new S3RangeReader(client, 'research-slides', file.replace('zeiss-czi/', 'czi/'));
      const slide = await openSlide(reader);
      try {
        assert.equal(slide.descriptor.format, 'zeiss-czi');
        await compare(file, slide, reader);
      } finally {
        await slide.close();
      }
    });
  }
});
