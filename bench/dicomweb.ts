/**
 * The DICOMweb part of `npm run bench`: a real Orthanc (DICOMweb + WSI plugins) holding
 * CMU-1-Small-Region as OrthancWSIDicomizer writes it (256 px frames, 5 levels), behind
 * the same link shaper as the S3 figures. Measured in one run, on the same link:
 *
 * - peer: a naive DICOMweb viewer: series metadata, then one WADO-RS request per frame,
 *   six at a time (a browser's connections per origin), as viewers that map one
 *   OpenSeadragon tile to one `/frames/N` URL do;
 * - engine: the app's own path: resolveSource → TileService (one metadata request, the
 *   frame scheduler batching the viewport's frames) → SQLite cache; then a reopen from
 *   the cached descriptor by a fresh service (the app's next start).
 *
 * The peer goes first, so anything the archive warms up (its index, the OS page cache)
 * favours the peer, not the engine. Requests, bytes and connections come from the shaper.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TileCache } from '../main/cache/tile-cache.js';
import { DEFAULTS } from '../main/config/schema.js';
import { openDicomwebSeries } from '../main/formats/dicomweb/reader.js';
import { dicomwebSeriesUri } from '../main/sources/dicomweb/address.js';
import { DicomwebClient } from '../main/sources/dicomweb/client.js';
import { resolveSource } from '../main/sources/resolve.js';
import { TileService } from '../main/tiles/service.js';
import { DEFAULT_DICOMIZE, startOrthanc } from '../test/stack/orthanc.js';
import type { Measured, Viewport } from './peer.js';
import { LinkShaper } from './shaper.js';

export interface DicomwebBench {
  name: string;
  width: number;
  height: number;
  levels: number;
  tiles: number;
  open: Measured;
  reopen: Measured & { from: string };
  first_viewport: Measured & { new_connections: number; tile_bytes: number };
  peer_open: Measured;
  peer_first_viewport: Measured & { new_connections: number };
  /** Two round trips plus the viewport's frame bytes at the link's rate (as for S3). */
  limit_ms: number;
}

const ARCHIVE = 'bench';

export async function measureDicomweb(o: { mbit: number; rttMs: number; log: (m: string) => void }): Promise<DicomwebBench> {
  const work = mkdtempSync(join(tmpdir(), 'wsi-bench-dicomweb-'));
  o.log('dicomweb: Orthanc with the dicomized CMU-1-Small-Region');
  const orthanc = await startOrthanc({ dicom: [], dicomize: DEFAULT_DICOMIZE });
  const shaper = new LinkShaper({ mbit: o.mbit, rttMs: o.rttMs, target: { host: '127.0.0.1', port: Number(new URL(orthanc.baseUrl).port) } });
  try {
    // Find the series on the archive directly (not measured).
    const direct = new DicomwebClient({ root: orthanc.dicomwebRoot });
    const [series] = await direct.searchSeries();
    if (!series) throw new Error('the dicomized series is not in Orthanc');
    const { studyInstanceUid: study, seriesInstanceUid: seriesUid } = series;

    const link = await shaper.start();
    const root = `${link.url}/dicom-web`;

    // --- peer: metadata, then one request per frame, six in flight --------------------
    o.log('dicomweb peer: one frame per request');
    const naive = new DicomwebClient({ root });
    shaper.resetCounters();
    let t0 = performance.now();
    const peerSlide = await openDicomwebSeries(naive, study, seriesUid);
    const peerOpenMs = performance.now() - t0;
    const peerOpen = shaper.resetCounters();
    const d = peerSlide.descriptor;
    const l0 = d.levels[0]!;
    const vp: Viewport = {
      x: Math.max(0, Math.floor(l0.width / 2 - 960)),
      y: Math.max(0, Math.floor(l0.height / 2 - 540)),
      width: Math.min(1920, l0.width),
      height: Math.min(1080, l0.height),
    };
    const tiles: { col: number; row: number }[] = [];
    for (let row = Math.floor(vp.y / l0.tileHeight); row <= Math.floor((vp.y + vp.height - 1) / l0.tileHeight); row++) {
      for (let col = Math.floor(vp.x / l0.tileWidth); col <= Math.floor((vp.x + vp.width - 1) / l0.tileWidth); col++) tiles.push({ col, row });
    }
    t0 = performance.now();
    let next = 0;
    const lane = async (): Promise<void> => {
      while (next < tiles.length) {
        const t = tiles[next++]!;
        const loc = await peerSlide.locateTile(0, t.col, t.row, 0);
        if (loc) await naive.frames(study, seriesUid, loc.meta!['sopInstanceUid'] as string, [loc.meta!['frame'] as number]);
      }
    };
    await Promise.all(Array.from({ length: 6 }, () => lane()));
    const peerViewMs = performance.now() - t0;
    const peerView = shaper.resetCounters();

    // --- engine: the tile service over the same link ---------------------------------
    o.log('dicomweb engine: tile service');
    const settings = structuredClone(DEFAULTS);
    settings.storage.dicomweb = [{ name: ARCHIVE, url: root }];
    const cache = TileCache.open(join(work, 'tiles.db'));
    const resolve = async (uri: string): Promise<ReturnType<typeof resolveSource>> => resolveSource(uri, { settings });
    const service = new TileService({ cache, resolve });
    const uri = dicomwebSeriesUri(ARCHIVE, study, seriesUid);
    shaper.resetCounters();
    t0 = performance.now();
    const handle = await service.open(uri);
    const openMs = performance.now() - t0;
    const open = shaper.resetCounters();
    t0 = performance.now();
    const got = await Promise.all(tiles.map((t) => service.getTile(handle, 0, t.col, t.row, 0, { priority: 'visible' })));
    const viewMs = performance.now() - t0;
    const view = shaper.resetCounters();
    const tileBytes = got.reduce((n, t) => n + (t?.bytes.length ?? 0), 0);
    await service.close();

    const second = new TileService({ cache, resolve });
    shaper.resetCounters();
    t0 = performance.now();
    const again = await second.open(uri);
    const reopenMs = performance.now() - t0;
    const reopen = shaper.resetCounters();
    await second.close();
    cache.close();

    return {
      name: 'CMU-1-Small-Region dicomized (DICOMweb, Orthanc)',
      width: l0.width,
      height: l0.height,
      levels: d.levels.length,
      tiles: tiles.length,
      open: { requests: open.requests, bytes: open.bytesDown, ms: Math.round(openMs) },
      reopen: { requests: reopen.requests, bytes: reopen.bytesDown, ms: Math.round(reopenMs), from: again.openedFrom },
      first_viewport: { requests: view.requests, bytes: view.bytesDown, ms: Math.round(viewMs), new_connections: view.connections, tile_bytes: tileBytes },
      peer_open: { requests: peerOpen.requests, bytes: peerOpen.bytesDown, ms: Math.round(peerOpenMs) },
      peer_first_viewport: { requests: peerView.requests, bytes: peerView.bytesDown, ms: Math.round(peerViewMs), new_connections: peerView.connections },
      limit_ms: Math.round(2 * o.rttMs + (tileBytes * 8) / (o.mbit * 1000)),
    };
  } finally {
    await shaper.stop().catch(() => undefined);
    await orthanc.stop().catch(() => undefined);
    rmSync(work, { recursive: true, force: true });
  }
}

export function dicomwebRows(b: DicomwebBench): string[][] {
  const ratio = (a: number, p: number): string => (p > 0 ? (a / p).toFixed(2) : '');
  return [
    ['dicomweb open requests', String(b.open.requests), String(b.peer_open.requests), ratio(b.open.requests, b.peer_open.requests), '', ''],
    ['dicomweb open ms', String(b.open.ms), String(b.peer_open.ms), ratio(b.open.ms, b.peer_open.ms), '', ''],
    ['dicomweb reopen requests (cached descriptor)', String(b.reopen.requests), String(b.peer_open.requests), ratio(b.reopen.requests, b.peer_open.requests), '', ''],
    [`dicomweb first viewport requests (${b.tiles} tiles)`, String(b.first_viewport.requests), String(b.peer_first_viewport.requests), ratio(b.first_viewport.requests, b.peer_first_viewport.requests), '', ''],
    ['dicomweb first viewport bytes', String(b.first_viewport.bytes), String(b.peer_first_viewport.bytes), ratio(b.first_viewport.bytes, b.peer_first_viewport.bytes), '', ''],
    ['dicomweb first viewport ms vs peer', String(b.first_viewport.ms), String(b.peer_first_viewport.ms), ratio(b.first_viewport.ms, b.peer_first_viewport.ms), '', ''],
    ['dicomweb first viewport ms vs limit', String(b.first_viewport.ms), String(b.limit_ms), ratio(b.first_viewport.ms, b.limit_ms), '', ''],
  ];
}
