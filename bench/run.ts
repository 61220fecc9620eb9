/**
 * `npm run bench`: the slide engine against its peer (geotiff.js) on the same shaped link,
 * in the same run. Writes bench/results/latest.json and prints a table of the figures
 * and the issue's targets as ratios.
 *
 *   npm run bench -- [--mbit 20] [--rtt 50] [--out bench/results/latest.json]
 *   npm run bench -- --dicomweb-only     (only the DICOMweb figures, bench/dicomweb.ts)
 *   npm run bench -- --formats-only      (only the research formats' open cost, bench/formats.ts)
 *
 * Storage is a real MinIO; the large slide (> 1 GB, > 100,000 px) is built from the real
 * test pixels by libvips at bench time (cached). Every figure is measured, none assumed.
 */
import { createReadStream, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { S3Client, CopyObjectCommand, CreateBucketCommand, PutObjectCommand, PutBucketPolicyCommand } from '@aws-sdk/client-s3';
import { startStack } from '../test/stack/stack.js';
import { LinkShaper } from './shaper.js';
import { measureUiFirstViewport } from './ui.js';
import { dicomwebRows, measureDicomweb, type DicomwebBench } from './dicomweb.js';
import { annotationRows, measureAnnotationFrames, type AnnotationFrames } from './annotations.js';
import { ensureBigSlide } from './slide.js';
import { formatOpenRows, measureFormatOpens, type FormatOpenBench } from './formats.js';
import { measurePeer, type Measured, type Viewport } from './peer.js';
import { openSlide } from '../main/formats/open.js';
import { TileCache } from '../main/cache/tile-cache.js';
import { TileService } from '../main/tiles/service.js';
import { RangeScheduler } from '../main/tiles/scheduler.js';
import { PinManager } from '../main/tiles/pinning.js';
import { createBenchReader } from './reader.js';
import type { SlideDescriptor } from '../main/formats/types.js';

const { values: args } = parseArgs({
  options: {
    mbit: { type: 'string', default: '20' },
    rtt: { type: 'string', default: '50' },
    out: { type: 'string', default: resolve(import.meta.dirname, 'results', 'latest.json') },
    'pin-min-downsample': { type: 'string', default: '8' },
    'dicomweb-only': { type: 'boolean', default: false },
    'formats-only': { type: 'boolean', default: false },
    'annotations-only': { type: 'boolean', default: false },
  },
});
const mbit = Number(args.mbit);
const rttMs = Number(args.rtt);
const log = (m: string): void => void process.stderr.write(`[bench] ${m}\n`);

const BUCKET = 'bench';
const KEY = 'large/cmu1-replicated.tif';

function viewportTiles(d: SlideDescriptor, vp: Viewport): { col: number; row: number }[] {
  const l = d.levels[0]!;
  const tiles = [];
  for (let row = Math.floor(vp.y / l.tileHeight); row <= Math.floor((vp.y + vp.height - 1) / l.tileHeight); row++) {
    for (let col = Math.floor(vp.x / l.tileWidth); col <= Math.floor((vp.x + vp.width - 1) / l.tileWidth); col++) tiles.push({ col, row });
  }
  return tiles;
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

async function dicomwebOnly(): Promise<void> {
  const dicomweb = await measureDicomweb({ mbit, rttMs, log });
  const out = args.out!.replace(/latest\.json$/, 'latest-dicomweb.json');
  mkdirSync(dirname(out), { recursive: true });
  const result = { date: new Date().toISOString(), node: process.version, link: { mbit, rtt_ms: rttMs }, dicomweb };
  writeFileSync(out, JSON.stringify(result, null, 2) + '\n');
  const table = formatTable([['figure', 'engine', 'peer / bound', 'ratio', 'target', 'met'], ...dicomwebRows(dicomweb)]);
  const text = `link: ${mbit} Mbit/s, ${rttMs} ms RTT\n${table}`;
  writeFileSync(out.replace(/\.json$/, '.table.txt'), text);
  process.stdout.write(text);
}

async function formatsOnly(): Promise<void> {
  const stack = await startStack({ seedSharedTestdata: false });
  const minio = stack.minio;
  const shaper = new LinkShaper({ mbit, rttMs, target: { host: '127.0.0.1', port: Number(new URL(minio.endpoint).port) } });
  try {
    const credentials = { accessKeyId: minio.rootUser, secretAccessKey: minio.rootPassword };
    const admin = new S3Client({ endpoint: minio.endpoint, region: 'us-east-1', forcePathStyle: true, credentials });
    await admin.send(new CreateBucketCommand({ Bucket: BUCKET }));
    const link = await shaper.start();
    const formats = await measureFormatOpens({ admin, shaper, endpoint: link.url, bucket: BUCKET, credentials, log });
    const out = args.out!.replace(/latest\.json$/, 'latest-formats.json');
    mkdirSync(dirname(out), { recursive: true });
    writeFileSync(out, JSON.stringify({ date: new Date().toISOString(), node: process.version, link: { mbit, rtt_ms: rttMs }, formats }, null, 2) + '\n');
    const text = `link: ${mbit} Mbit/s, ${rttMs} ms RTT\n${formatTable([['figure', 'engine', 'whole file', 'ratio', 'target', 'met'], ...formatOpenRows(formats)])}`;
    writeFileSync(out.replace(/\.json$/, '.table.txt'), text);
    process.stdout.write(text);
  } finally {
    await shaper.stop().catch(() => undefined);
    await stack.stop().catch(() => undefined);
  }
}

/** Frame time with 100,000 detections vs none, and the GeoJSON import (bench/annotations.ts). */
async function annotationsOnly(): Promise<void> {
  const stack = await startStack({ seedSharedTestdata: false });
  try {
    const annotations = await measureAnnotationFrames({ stack, log });
    const out = args.out!.replace(/latest\.json$/, 'latest-annotations.json');
    mkdirSync(dirname(out), { recursive: true });
    writeFileSync(out, JSON.stringify({ date: new Date().toISOString(), node: process.version, annotations }, null, 2) + '\n');
    const text = formatTable([['figure', 'with', 'none', 'ratio', 'target', 'met'], ...annotationRows(annotations)]);
    writeFileSync(out.replace(/\.json$/, '.table.txt'), text);
    process.stdout.write(text);
  } finally {
    await stack.stop().catch(() => undefined);
  }
}

async function main(): Promise<void> {
  const slide = ensureBigSlide(log);
  log(`slide ${slide.width} x ${slide.height} px, ${(slide.bytes / 1e9).toFixed(2)} GB`);
  const work = mkdtempSync(join(tmpdir(), 'wsi-bench-'));
  // The whole stack (IdP, MinIO with STS and per-group policies): the app signs in for real
  // for ui_first_viewport; the engine-level figures read with MinIO's root keys.
  const stack = await startStack({ seedSharedTestdata: false });
  const minio = stack.minio;
  const shaper = new LinkShaper({ mbit, rttMs, target: { host: '127.0.0.1', port: Number(new URL(minio.endpoint).port) } });
  try {
    const admin = new S3Client({
      endpoint: minio.endpoint,
      region: 'us-east-1',
      forcePathStyle: true,
      credentials: { accessKeyId: minio.rootUser, secretAccessKey: minio.rootPassword },
    });
    await admin.send(new CreateBucketCommand({ Bucket: BUCKET }));
    log('uploading the slide to MinIO');
    await admin.send(new PutObjectCommand({ Bucket: BUCKET, Key: KEY, Body: createReadStream(slide.path), ContentLength: slide.bytes }));
    // The peer reads a plain URL (geotiff.js has no S3 signing); the engine signs as always.
    await admin.send(
      new PutBucketPolicyCommand({
        Bucket: BUCKET,
        Policy: JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: { AWS: ['*'] }, Action: ['s3:GetObject'], Resource: [`arn:aws:s3:::${BUCKET}/*`] }] }),
      }),
    );
    const link = await shaper.start();
    const credentials = { accessKeyId: minio.rootUser, secretAccessKey: minio.rootPassword };
    const uri = `s3://${BUCKET}/${KEY}`;
    const reader = () => createBenchReader({ endpoint: link.url, uri, credentials });

    // --- open: the engine's own reader, cold ------------------------------------------
    shaper.resetCounters();
    let t0 = performance.now();
    const opened = await openSlide(await reader());
    const openMs = performance.now() - t0;
    const openCounters = shaper.resetCounters();
    const d = opened.descriptor;
    await opened.close();
    const vp: Viewport = {
      x: Math.floor(d.levels[0]!.width / 2 - 960),
      y: Math.floor(d.levels[0]!.height / 2 - 540),
      width: 1920,
      height: 1080,
    };

    // --- first viewport through the tile service (cold cache, open done) -------------
    const cache = TileCache.open(join(work, 'cache.db'), { budgetBytes: 4 * 1024 ** 3 });
    const service = new TileService({ cache, resolve: reader, scheduler: new RangeScheduler({ maxParallelPerHost: 6 }) });
    const handle = await service.open(uri);
    shaper.resetCounters();
    const tiles = viewportTiles(d, vp);
    t0 = performance.now();
    const got = await Promise.all(tiles.map((t) => service.getTile(handle, 0, t.col, t.row, 0, { priority: 'visible' })));
    const viewMs = performance.now() - t0;
    const viewCounters = shaper.resetCounters();
    const tileBytes = got.reduce((n, t) => n + (t?.bytes.length ?? 0), 0);
    // The bound: two round trips plus the bytes the viewport's tiles need.
    const limitMs = 2 * rttMs + (tileBytes * 8) / (mbit * 1000);

    // --- reopen: a second open of the same object version takes its descriptor from the
    // cache. A fresh service on the same cache file stands for the app's next start.
    const second = new TileService({ cache, resolve: reader });
    shaper.resetCounters();
    t0 = performance.now();
    const again = await second.open(uri);
    const reopenMs = performance.now() - t0;
    const reopenCounters = shaper.resetCounters();
    await second.closeSlide(again);
    await second.close();

    // --- peer: geotiff.js with its defaults through the same link ---------------------
    log('peer: geotiff.js');
    // The peer starts as a separate viewer would: no connection of the engine's to reuse.
    await shaper.dropConnections();
    const peer = await measurePeer(shaper, `${link.url}/${BUCKET}/${KEY}`, vp);

    // --- warm cache vs the same tiles as files ---------------------------------------
    cache.flush();
    const fsDir = join(work, 'fs-tiles');
    mkdirSync(fsDir);
    got.forEach((t, i) => t && writeFileSync(join(fsDir, `${i}.jpg`), t.bytes));
    const rounds = 50;
    const lat: number[] = [];
    t0 = performance.now();
    for (let r = 0; r < rounds; r++) {
      for (const t of tiles) {
        const s = performance.now();
        await service.getTile(handle, 0, t.col, t.row, 0);
        lat.push(performance.now() - s);
      }
    }
    const cacheTilesPerS = (rounds * tiles.length) / ((performance.now() - t0) / 1000);
    t0 = performance.now();
    for (let r = 0; r < rounds; r++) for (let i = 0; i < tiles.length; i++) await readFile(join(fsDir, `${i}.jpg`));
    const fsTilesPerS = (rounds * tiles.length) / ((performance.now() - t0) / 1000);
    lat.sort((a, b) => a - b);

    // --- pinning throughput on the shaped link ---------------------------------------
    log('pinning');
    const pins = new PinManager(service);
    shaper.resetCounters();
    t0 = performance.now();
    const job = pins.pin(uri, { minDownsample: Number(args['pin-min-downsample']) });
    await job.settled();
    const pinMs = performance.now() - t0;
    const pinCounters = shaper.resetCounters();
    const pinProgress = job.progress();
    await pins.close();

    // --- the viewer in Chromium, signed in as alice, through the same link --------------
    log('ui: the viewer in Chromium');
    const UI_FOLDER = 'bench/';
    const UI_NAME = 'cmu1-replicated.tif';
    await admin.send(new CopyObjectCommand({ Bucket: 'pathology-slides', Key: `${UI_FOLDER}${UI_NAME}`, CopySource: `${BUCKET}/${KEY}` }));
    await shaper.dropConnections();
    const ui = await measureUiFirstViewport({
      stack,
      shaper,
      s3Endpoint: link.url,
      folder: `s3://pathology-slides/${UI_FOLDER}`,
      name: UI_NAME,
      size: { width: d.levels[0]!.width, height: d.levels[0]!.height },
      log,
    });

    // --- DICOMweb: the same engine over a frame archive, beside a one-frame-per-request peer
    const dicomweb = await measureDicomweb({ mbit, rttMs, log });
    log('annotations: frame time with 100,000 detections in Chromium');
    const annotations = await measureAnnotationFrames({ stack, log });

    // --- the research formats' open cost beside reading each file whole
    const formats = await measureFormatOpens({ admin, shaper, endpoint: link.url, bucket: BUCKET, credentials, log });

    const rssMb = process.memoryUsage().rss / 1024 ** 2;
    const result = {
      date: new Date().toISOString(),
      node: process.version,
      link: { mbit, rtt_ms: rttMs },
      slides: [
        {
          name: 'cmu1-replicated (pyramidal JPEG BigTIFF)',
          bytes: slide.bytes,
          width: d.levels[0]!.width,
          height: d.levels[0]!.height,
          levels: d.levels.length,
          open: { requests: openCounters.requests, bytes: openCounters.bytesDown, ms: Math.round(openMs) },
          peer_open: peer.open,
          reopen: { requests: reopenCounters.requests, bytes: reopenCounters.bytesDown, ms: Math.round(reopenMs), from: again.openedFrom },
          first_viewport: {
            requests: viewCounters.requests,
            bytes: viewCounters.bytesDown,
            ms: Math.round(viewMs),
            tiles: tiles.length,
            tile_bytes: tileBytes,
            // New TCP connections each pay a handshake round trip the limit does not count.
            new_connections: viewCounters.connections,
          },
          peer_first_viewport: peer.firstViewport,
          limit_ms: Math.round(limitMs),
          ui_first_viewport: ui,
        },
      ],
      cache: { tiles_per_s: Math.round(cacheTilesPerS), fs_tiles_per_s: Math.round(fsTilesPerS), p99_ms: Number(percentile(lat, 99).toFixed(3)) },
      pin: {
        mbit_per_s: Number(((pinCounters.bytesDown * 8) / (pinMs * 1000)).toFixed(2)),
        link_mbit: mbit,
        tiles: pinProgress.done,
        bytes: pinCounters.bytesDown,
        ms: Math.round(pinMs),
        state: pinProgress.state,
      },
      dicomweb,
      formats,
      annotations,
      memory: { main_rss_mb: Math.round(rssMb) },
    };
    await service.close();
    cache.close();
    mkdirSync(dirname(args.out!), { recursive: true });
    writeFileSync(args.out!, JSON.stringify(result, null, 2) + '\n');
    const table = renderTable(result);
    writeFileSync(args.out!.replace(/\.json$/, '.table.txt'), table);
    process.stdout.write(table);
  } finally {
    await shaper.stop().catch(() => undefined);
    await stack.stop().catch(() => undefined);
    rmSync(work, { recursive: true, force: true });
  }
}

type Result = {
  link: { mbit: number; rtt_ms: number };
  slides: {
    name: string;
    open: Measured;
    peer_open: Measured;
    reopen: Measured;
    first_viewport: Measured;
    peer_first_viewport: Measured;
    limit_ms: number;
    ui_first_viewport: { ms: number; full_resolution_ms: number; canvas: { width: number; height: number } };
  }[];
  cache: { tiles_per_s: number; fs_tiles_per_s: number; p99_ms: number };
  pin: { mbit_per_s: number; link_mbit: number };
  dicomweb?: DicomwebBench;
  formats?: FormatOpenBench[];
  annotations?: AnnotationFrames;
  memory: { main_rss_mb: number };
};

function renderTable(r: Result): string {
  const rows: string[][] = [['figure', 'engine', 'peer / bound', 'ratio', 'target', 'met']];
  const ok = (b: boolean): string => (b ? 'yes' : 'NO');
  for (const s of r.slides) {
    rows.push(['open requests', String(s.open.requests), String(s.peer_open.requests), (s.open.requests / s.peer_open.requests).toFixed(2), '<= 2 requests', ok(s.open.requests <= 2)]);
    rows.push(['open ms', String(s.open.ms), String(s.peer_open.ms), (s.open.ms / s.peer_open.ms).toFixed(2), '', '']);
    rows.push(['open bytes', String(s.open.bytes), String(s.peer_open.bytes), (s.open.bytes / s.peer_open.bytes).toFixed(2), '', '']);
    rows.push(['reopen requests (cached descriptor)', String(s.reopen.requests), String(s.peer_open.requests), (s.reopen.requests / s.peer_open.requests).toFixed(2), '<= 2 requests', ok(s.reopen.requests <= 2)]);
    rows.push(['reopen ms', String(s.reopen.ms), String(s.peer_open.ms), (s.reopen.ms / s.peer_open.ms).toFixed(2), '', '']);
    const vsLimit = s.first_viewport.ms / s.limit_ms;
    const vsPeer = s.first_viewport.ms / s.peer_first_viewport.ms;
    rows.push(['first viewport ms vs limit', String(s.first_viewport.ms), String(s.limit_ms), vsLimit.toFixed(2), '<= 1.25 x limit', ok(vsLimit <= 1.25)]);
    rows.push(['first viewport ms vs peer', String(s.first_viewport.ms), String(s.peer_first_viewport.ms), vsPeer.toFixed(2), '<= 0.5 x peer', ok(vsPeer <= 0.5)]);
    rows.push(['first viewport requests', String(s.first_viewport.requests), String(s.peer_first_viewport.requests), (s.first_viewport.requests / s.peer_first_viewport.requests).toFixed(2), '', '']);
    const ui = s.ui_first_viewport;
    rows.push(['ui: click → whole slide loaded ms', String(ui.ms), '', '', '', '']);
    rows.push([`ui: → full resolution ${ui.canvas.width}x${ui.canvas.height} ms vs engine`, String(ui.full_resolution_ms), String(s.first_viewport.ms), (ui.full_resolution_ms / s.first_viewport.ms).toFixed(2), '', '']);
  }
  const warm = r.cache.tiles_per_s / r.cache.fs_tiles_per_s;
  rows.push(['warm cache tiles/s vs files', String(r.cache.tiles_per_s), String(r.cache.fs_tiles_per_s), warm.toFixed(2), '>= 0.8 x files', ok(warm >= 0.8)]);
  rows.push(['warm cache p99 ms', String(r.cache.p99_ms), '', '', '', '']);
  const pin = r.pin.mbit_per_s / r.pin.link_mbit;
  rows.push(['pinning Mbit/s vs link', String(r.pin.mbit_per_s), String(r.pin.link_mbit), pin.toFixed(2), '>= 0.9 x link', ok(pin >= 0.9)]);
  if (r.dicomweb) rows.push(...dicomwebRows(r.dicomweb));
  if (r.formats) rows.push(...formatOpenRows(r.formats));
  if (r.annotations) rows.push(...annotationRows(r.annotations));
  rows.push(['main RSS MB', String(r.memory.main_rss_mb), '', '', '', '']);
  return `link: ${r.link.mbit} Mbit/s, ${r.link.rtt_ms} ms RTT\n${formatTable(rows)}`;
}

function formatTable(rows: string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((row) => row[i]!.length)));
  const line = (row: string[]): string => row.map((c, i) => c.padEnd(widths[i]!)).join('  ');
  return `${rows.map(line).join('\n')}\n`;
}

await (args['annotations-only'] ? annotationsOnly() : args['dicomweb-only'] ? dicomwebOnly() : args['formats-only'] ? formatsOnly() : main());
