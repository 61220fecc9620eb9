/**
 * Hostile-input harness for the format readers. Mutates and truncates the real test files
 * (in memory; nothing is written) and checks that every case ends in a valid open or an
 * AppError with a FORMAT_* / SOURCE_* code: never a crash, a hang or a foreign exception.
 *
 *   npx tsx scripts/fuzz-formats.ts --cases 10000 [--seed 1] [--slow MS: list cases slower than MS]
 *
 * Mutations aim at the structures parsers trust: bytes inside TIFF directories, counts
 * and offsets set near 2^32 or past the end, IFD links turned into loops, tile byte counts
 * zeroed, JPEG tables and DICOM element lengths damaged, compressed tile data sprayed,
 * and truncation anywhere.
 */
import { readFile } from 'node:fs/promises';
import { pathToFileURL } from 'node:url';
import { isAppError } from '../main/common/errors.js';
import { decodeTileToRgba } from '../main/formats/codecs/decode.js';
import { openSlide, readTile } from '../main/formats/open.js';
import { parseTiff } from '../main/formats/tiff/parse.js';
import type { SlideReader } from '../main/formats/types.js';
import { parseDirectory, parseFileHeader } from '../main/formats/czi/structure.js';
import type { ByteRange, ObjectIdentity, RangeReader, RangeReadResult } from '../main/sources/types.js';

import { TESTDATA } from '../test/support/paths.js';
export const SEEDS = [
  'aperio-svs/CMU-1-Small-Region.svs',
  'aperio-svs/aperio-16x16-crop.svs',
  'derived/generic-tiff/CMU-1-Small-Region.pyramid-jpeg.tif',
  'derived/generic-tiff/CMU-1-Small-Region.pyramid-jpeg.bigtiff.tif',
  'derived/ome-tiff/NDPI-DAPI-TRITC.2ch-uint16-pyramid-subifds.ome.tif',
  'hamamatsu-ndpi/test3-DAPI-2-387.ndpi',
  'vectra-qptiff/small_vectra.qptiff',
  'dicom-wsi/wsi2dcm-single-level/jpeg-baseline.dcm',
  'dicom-wsi/wsi2dcm-single-level/raw-explicit-le.dcm',
  'dicom-wsi/wsi2dcm-single-level/jpeg2000-lossless.dcm',
  'dicom-wsi/highdicom-sm_image-50x50.dcm',
  'dicom-wsi/wg26-bpaec-3dhistech-partial/7_0.dcm',
  'dicom-wsi/pathml-small_dicom-tcga.dcm',
  'zeiss-czi/S3_1Pos_2Mosaic_T1_Z1_CH1.czi',
  'zeiss-czi/1_tileregion.czi',
];

interface Seed {
  name: string;
  bytes: Uint8Array;
  /** Byte regions worth damaging: directories, tile tables, JPEG tables, headers. */
  hot: ByteRange[];
  /** Offsets of 4-byte IFD link fields (for loops) and of IFDs (loop targets). */
  links: number[];
  ifds: number[];
  zeroable: ByteRange[];
}

/** Reads base bytes with a few patched bytes and an optional truncation, copying only what is read. */
class PatchedReader implements RangeReader {
  readonly uri: string;
  constructor(readonly base: Uint8Array, readonly size: number, readonly patches: Map<number, number>, name: string) {
    this.uri = `memory:///${name}`;
  }
  async stat(): Promise<ObjectIdentity> {
    return { uri: this.uri, size: this.size, etag: 'fuzz', lastModified: undefined };
  }
  async read(ranges: readonly ByteRange[]): Promise<RangeReadResult> {
    const buffers = ranges.map((r) => {
      const end = Math.min(this.size, r.offset + r.length);
      const b = this.base.slice(Math.min(r.offset, end), end);
      for (const [at, v] of this.patches) if (at >= r.offset && at < end) b[at - r.offset] = v;
      return b;
    });
    return { buffers, requests: 1 };
  }
  async close(): Promise<void> {}
}

function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export async function loadSeeds(names = SEEDS): Promise<Seed[]> {
  const seeds: Seed[] = [];
  for (const name of names) {
    const bytes = new Uint8Array(await readFile(`${TESTDATA}/${name}`));
    const seed: Seed = { name, bytes, hot: [{ offset: 0, length: Math.min(bytes.length, 4096) }], links: [], ifds: [], zeroable: [] };
    try {
      const tiff = await parseTiff(new PatchedReader(bytes, bytes.length, new Map(), name), bytes.subarray(0, 1 << 18), bytes.length, { ndpi: name.endsWith('.ndpi') });
      for (const ifd of tiff?.allIfds() ?? []) {
        const n = ifd.entries.size;
        const entry = tiff!.bigTiff ? 20 : 12;
        const header = tiff!.bigTiff ? 8 : 2;
        seed.ifds.push(ifd.offset);
        seed.hot.push({ offset: ifd.offset, length: header + n * entry + 4 });
        seed.links.push(ifd.offset + header + n * entry);
        for (const e of ifd.entries.values()) {
          if ([324, 325, 273, 279, 347, 65426, 270].includes(e.tag)) seed.hot.push({ offset: e.valueOffset, length: Math.min(e.byteLength, 4096) });
          if (e.tag === 325 || e.tag === 279) seed.zeroable.push({ offset: e.valueOffset, length: e.byteLength });
        }
      }
    } catch {
      // Not a TIFF (DICOM, CZI): the head is the hot area.
    }
    if (name.endsWith('.dcm')) seed.hot.push({ offset: 128, length: Math.min(bytes.length - 128, 1 << 16) });
    if (name.endsWith('.czi')) seed.hot.push(...cziHot(bytes));
    seeds.push(seed);
  }
  return seeds;
}

/** CZI: the segment directory, the attachment directory and each subblock's header are worth damaging. */
function cziHot(bytes: Uint8Array): ByteRange[] {
  try {
    const h = parseFileHeader(bytes, bytes.length);
    const hot: ByteRange[] = [{ offset: h.directoryPosition, length: 4096 }, { offset: h.attachmentDirectoryPosition, length: 1024 }, { offset: h.metadataPosition, length: 512 }];
    for (const e of parseDirectory(bytes.subarray(h.directoryPosition), h.directoryPosition, bytes.length)) hot.push({ offset: e.filePosition, length: 300 });
    return hot.filter((r) => r.offset > 0);
  } catch {
    return [];
  }
}

type Mutation = (s: Seed, r: () => number, p: Map<number, number>) => { size?: number; label: string };

const pick = <T>(r: () => number, xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
const inHot = (s: Seed, r: () => number): number => {
  const h = pick(r, s.hot);
  return Math.min(s.bytes.length - 1, h.offset + Math.floor(r() * Math.max(1, h.length)));
};
const put32 = (p: Map<number, number>, at: number, v: number, le = true): void => {
  for (let i = 0; i < 4; i++) p.set(at + i, le ? (v >>> (8 * i)) & 0xff : (v >>> (8 * (3 - i))) & 0xff);
};

const MUTATIONS: Mutation[] = [
  (s, r, p) => {
    const n = 1 + Math.floor(r() * 8);
    for (let i = 0; i < n; i++) {
      const at = inHot(s, r);
      p.set(at, s.bytes[at]! ^ (1 << Math.floor(r() * 8)));
    }
    return { label: 'bitflip' };
  },
  (s, r, p) => {
    put32(p, inHot(s, r) & ~1, 0xffffffff - Math.floor(r() * 64), s.bytes[0] !== 0x4d);
    return { label: 'near-2^32' };
  },
  (s, r, p) => {
    put32(p, inHot(s, r) & ~1, s.bytes.length + Math.floor(r() * 1_000_000), s.bytes[0] !== 0x4d);
    return { label: 'past-end' };
  },
  (s, r, p) => {
    if (s.links.length === 0 || s.ifds.length === 0) return { label: 'loop(none)' };
    put32(p, pick(r, s.links), pick(r, s.ifds), s.bytes[0] !== 0x4d);
    return { label: 'ifd-loop' };
  },
  (s, r) => ({ size: Math.floor(r() * s.bytes.length), label: 'truncate' }),
  (s, r) => ({ size: Math.floor(r() * Math.min(s.bytes.length, 70_000)), label: 'truncate-head' }),
  (s, r, p) => {
    if (s.zeroable.length === 0) return { label: 'zero(none)' };
    const z = pick(r, s.zeroable);
    const start = z.offset + Math.floor(r() * z.length);
    for (let i = 0; i < Math.min(64, z.offset + z.length - start); i++) p.set(start + i, 0);
    return { label: 'zero-tile-counts' };
  },
  (s, r, p) => {
    for (let i = 0; i < 64; i++) p.set(inHot(s, r), Math.floor(r() * 256));
    return { label: 'spray' };
  },
  (s, r, p) => {
    // Anywhere, so compressed tile data (JPEG, JPEG 2000, LZW, Deflate) is damaged too.
    for (let i = 0; i < 32; i++) p.set(Math.floor(r() * s.bytes.length), Math.floor(r() * 256));
    return { label: 'spray-anywhere' };
  },
];

export interface CaseResult {
  outcome: string;
  ok: boolean;
  label: string;
  seed: string;
  ms: number;
  detail?: string;
}

function classify(err: unknown): { outcome: string; ok: boolean; detail?: string } {
  if (isAppError(err) && /^(FORMAT|SOURCE)_/.test(err.code)) return { outcome: err.code, ok: true };
  const detail = err instanceof Error ? `${err.name}: ${err.message}\n${err.stack ?? ''}` : String(err);
  return { outcome: isAppError(err) ? `bad-code:${err.code}` : 'foreign-exception', ok: false, detail };
}

async function exercise(slide: SlideReader, reader: RangeReader, r: () => number): Promise<string[]> {
  const errors: string[] = [];
  const d = slide.descriptor;
  const tries: [number, number, number, number][] = [[0, 0, 0, 0]];
  const last = d.levels.length - 1;
  tries.push([last, 0, 0, 0]);
  const l = Math.floor(r() * d.levels.length);
  const lv = d.levels[l]!;
  tries.push([l, Math.floor(r() * lv.columns), Math.floor(r() * lv.rows), Math.floor(r() * d.channels.length)]);
  for (const [level, col, row, plane] of tries) {
    try {
      const tile = await readTile(slide, reader, level, col, row, plane);
      if (tile) await decodeTileToRgba(tile);
    } catch (err) {
      const c = classify(err);
      if (!c.ok) throw err;
      errors.push(c.outcome);
    }
  }
  for (const a of d.associated) {
    try {
      await decodeTileToRgba(await slide.readAssociated(a.name));
    } catch (err) {
      const c = classify(err);
      if (!c.ok) throw err;
      errors.push(c.outcome);
    }
  }
  return errors;
}

export async function runCase(seeds: Seed[], index: number, baseSeed = 1): Promise<CaseResult> {
  const r = rng(baseSeed * 1_000_003 + index);
  const s = pick(r, seeds);
  const patches = new Map<number, number>();
  let size = s.bytes.length;
  const labels: string[] = [];
  const rounds = 1 + Math.floor(r() * 2);
  for (let i = 0; i < rounds; i++) {
    const m = pick(r, MUTATIONS)(s, r, patches);
    if (m.size !== undefined) size = Math.min(size, m.size);
    labels.push(m.label);
  }
  const reader = new PatchedReader(s.bytes, size, patches, s.name.split('/').pop()!);
  const t0 = performance.now();
  try {
    const slide = await openSlide(reader);
    const tileErrors = await exercise(slide, reader, r);
    await slide.close();
    return { outcome: tileErrors.length ? 'opened, tile errors' : 'opened', ok: true, label: labels.join('+'), seed: s.name, ms: performance.now() - t0 };
  } catch (err) {
    return { ...classify(err), label: labels.join('+'), seed: s.name, ms: performance.now() - t0 };
  }
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const arg = (name: string, d: number): number => {
    const i = args.indexOf(name);
    return i >= 0 ? Number(args[i + 1]) : d;
  };
  const cases = arg('--cases', 1000);
  const baseSeed = arg('--seed', 1);
  const slowMs = arg('--slow', Infinity);
  const seeds = await loadSeeds();
  const counts = new Map<string, number>();
  const failures: CaseResult[] = [];
  let maxMs = 0;
  let maxRss = 0;
  const t0 = performance.now();
  for (let i = 0; i < cases; i++) {
    const res = await runCase(seeds, i, baseSeed);
    counts.set(res.outcome, (counts.get(res.outcome) ?? 0) + 1);
    if (!res.ok) failures.push({ ...res, detail: `case ${i}: ${res.detail}` });
    maxMs = Math.max(maxMs, res.ms);
    if (res.ms > slowMs) console.error(`slow case ${i}: ${Math.round(res.ms)} ms ${res.seed} ${res.label} → ${res.outcome}`);
    maxRss = Math.max(maxRss, process.memoryUsage().rss);
  }
  const summary = {
    cases,
    seconds: Math.round((performance.now() - t0) / 100) / 10,
    outcomes: Object.fromEntries([...counts].sort((a, b) => b[1] - a[1])),
    failures: failures.length,
    slowestCaseMs: Math.round(maxMs),
    maxRssMiB: Math.round(maxRss / 2 ** 20),
  };
  console.log(JSON.stringify(summary, null, 2));
  for (const f of failures.slice(0, 10)) console.error(f.seed, f.label, f.detail);
  process.exitCode = failures.length ? 1 : 0;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) void main();
