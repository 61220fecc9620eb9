/**
 * Open cost of the research formats (issue 14) over the shaped link: requests and bytes of
 * a cold open, of a reopen (descriptor from the cache), and of the naive way (reading the
 * whole object), as ratios. One list of files; each vendor module adds its own.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { TileCache } from '../main/cache/tile-cache.js';
import { openSlide } from '../main/formats/open.js';
import { TileService } from '../main/tiles/service.js';
import { SHARED_TESTDATA } from '../test/stack/stack.js';
import { createBenchReader } from './reader.js';
import type { LinkShaper } from './shaper.js';

/** [path under ../shared/testdata, label]. */
export const FORMAT_FILES: [string, string][] = [
  ['zeiss-czi/1_tileregion.czi', 'Zeiss CZI, mosaic + pyramid layer'],
  ['zeiss-czi/S3_1Pos_2Mosaic_T1_Z1_CH1.czi', 'Zeiss CZI, 3 scenes, zstd'],
];

interface Cost {
  requests: number;
  bytes: number;
  ms: number;
}

export interface FormatOpenBench {
  file: string;
  label: string;
  size: number;
  format: string;
  open: Cost;
  reopen: Cost & { from: string };
  whole: Cost;
}

export async function measureFormatOpens(o: { admin: S3Client; shaper: LinkShaper; endpoint: string; bucket: string; credentials: { accessKeyId: string; secretAccessKey: string }; log: (m: string) => void }): Promise<FormatOpenBench[]> {
  const out: FormatOpenBench[] = [];
  const work = mkdtempSync(join(tmpdir(), 'wsi-bench-formats-'));
  try {
    for (const [file, label] of FORMAT_FILES) {
      const body = readFileSync(join(SHARED_TESTDATA, file));
      const key = `formats/${file}`;
      await o.admin.send(new PutObjectCommand({ Bucket: o.bucket, Key: key, Body: body }));
      const uri = `s3://${o.bucket}/${key}`;
      const reader = () => createBenchReader({ endpoint: o.endpoint, uri, credentials: o.credentials });
      o.log(`formats: ${file}`);
      await o.shaper.dropConnections();
      o.shaper.resetCounters();
      let t0 = performance.now();
      const slide = await openSlide(await reader());
      const openMs = performance.now() - t0;
      const open = o.shaper.resetCounters();
      const format = slide.descriptor.format;
      await slide.close();
      // Reopen: a first service parses and caches the descriptor; a second (the next app start) reopens.
      const cache = TileCache.open(join(work, `${out.length}.db`), { budgetBytes: 256 << 20 });
      const first = new TileService({ cache, resolve: reader });
      await first.closeSlide(await first.open(uri));
      await first.close();
      const second = new TileService({ cache, resolve: reader });
      o.shaper.resetCounters();
      t0 = performance.now();
      const again = await second.open(uri);
      const reopenMs = performance.now() - t0;
      const reopen = o.shaper.resetCounters();
      await second.closeSlide(again);
      await second.close();
      cache.close();
      // The naive way: the whole object in one read.
      await o.shaper.dropConnections();
      const whole = await reader();
      o.shaper.resetCounters();
      t0 = performance.now();
      await whole.read([{ offset: 0, length: body.length }]);
      const wholeMs = performance.now() - t0;
      const wholeCounters = o.shaper.resetCounters();
      await whole.close();
      out.push({
        file, label, size: body.length, format,
        open: { requests: open.requests, bytes: open.bytesDown, ms: Math.round(openMs) },
        reopen: { requests: reopen.requests, bytes: reopen.bytesDown, ms: Math.round(reopenMs), from: again.openedFrom },
        whole: { requests: wholeCounters.requests, bytes: wholeCounters.bytesDown, ms: Math.round(wholeMs) },
      });
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  return out;
}

export function formatOpenRows(rows: FormatOpenBench[]): string[][] {
  return rows.flatMap((r) => [
    [`${r.label}: open requests / bytes`, `${r.open.requests} / ${r.open.bytes}`, `${r.whole.requests} / ${r.whole.bytes}`, `${(r.open.bytes / r.whole.bytes).toFixed(3)} bytes`, 'whole file', ''],
    [`${r.label}: open ms`, String(r.open.ms), String(r.whole.ms), (r.open.ms / r.whole.ms).toFixed(2), '', ''],
    [`${r.label}: reopen requests / bytes (${r.reopen.from})`, `${r.reopen.requests} / ${r.reopen.bytes}`, `${r.whole.requests} / ${r.whole.bytes}`, `${(r.reopen.bytes / r.whole.bytes).toFixed(3)} bytes`, '', ''],
  ]);
}
