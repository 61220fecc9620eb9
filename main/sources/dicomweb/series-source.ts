/**
 * One DICOMweb series as a FrameSource: its address, its version (a digest of the series
 * metadata) and its frames. The series metadata is fetched at most once per source, so a
 * first open that asks `stat()` and then lays out the pyramid costs one WADO-RS
 * /metadata request, not two.
 *
 * The version digest covers what decides the pyramid and the frame → tile mapping
 * (instances, frame counts, sizes, transfer syntaxes, per-frame positions, creation
 * times) and nothing that varies with how the archive is reached (BulkDataURI and
 * RetrieveURL hold the archive's host and port): the same series behind another gateway
 * keeps its cached tiles, a changed series gets a new version and its old tiles dropped.
 */
import { createHash } from 'node:crypto';
import { throwIfAborted } from '../../common/errors.js';
import type { FrameReadResult, FrameSource, ObjectIdentity } from '../types.js';
import type { DicomwebClient } from './client.js';
import { dicomwebSeriesUri } from './address.js';
import { jsonNumber, type DicomJson, type DicomJsonElement } from './json.js';

export interface DicomwebSeriesSourceOptions {
  client: DicomwebClient;
  /** The archive's settings name (the address's host part). */
  archive: string;
  study: string;
  series: string;
}

export class DicomwebSeriesSource implements FrameSource {
  readonly kind = 'frames' as const;
  readonly uri: string;
  readonly pool: string;
  readonly client: DicomwebClient;
  readonly study: string;
  readonly series: string;
  #metadata: Promise<DicomJson[]> | undefined;
  #identity: ObjectIdentity | undefined;

  constructor(o: DicomwebSeriesSourceOptions) {
    this.client = o.client;
    this.study = o.study;
    this.series = o.series;
    this.uri = dicomwebSeriesUri(o.archive, o.study, o.series);
    this.pool = poolOf(o.client.root);
  }

  /** WADO-RS series metadata, fetched once; a failed or cancelled fetch is not remembered. */
  metadata(signal?: AbortSignal): Promise<DicomJson[]> {
    throwIfAborted(signal);
    this.#metadata ??= this.client.seriesMetadata(this.study, this.series, signal).catch((err: unknown) => {
      this.#metadata = undefined;
      throw err;
    });
    return this.#metadata;
  }

  async stat(signal?: AbortSignal): Promise<ObjectIdentity> {
    if (this.#identity) return this.#identity;
    const metadata = await this.metadata(signal);
    this.#identity = seriesIdentity(this.uri, metadata);
    return this.#identity;
  }

  async readFrames(group: string, frames: readonly number[], signal?: AbortSignal): Promise<FrameReadResult> {
    const batch = await this.client.frames(this.study, this.series, group, frames, signal);
    return { frames: batch.frames, bytes: batch.bytes, requests: batch.requests };
  }

  async close(): Promise<void> {
    // Connections belong to the client's fetch; only the remembered metadata goes.
    this.#metadata = undefined;
  }
}

/** Attributes that decide the pyramid and where each tile's frame is. */
const IDENTITY_TAGS = [
  '00080016', // SOP Class UID
  '00080008', // Image Type
  '00080012', '00080013', // Instance Creation Date / Time
  '00080023', '00080033', // Content Date / Time
  '00020010', // Transfer Syntax UID (when the archive includes group 0002)
  '00083002', // Available Transfer Syntax UID
  '00280002', '00280004', '00280006', '00280100', '00280103', // samples, photometric, planar, bits, sign
  '00280008', '00280010', '00280011', // frames, rows, columns
  '00480006', '00480007', // total pixel matrix columns / rows
  '00209311', // Dimension Organization Type
  '00209228', '00209162', // concatenation frame offset, in-concatenation number
  '00480302', // Number of Optical Paths
  '00280030', // Pixel Spacing (top level; per-frame/shared groups below)
  '00480001', '00480002', // Imaged Volume Width / Height
];
const PER_FRAME = '52009230';
const SHARED = '52009229';

/**
 * The version of a series: a SHA-256 over, per instance (sorted by SOP Instance UID), the
 * identity attributes and the per-frame positions and optical paths. `size` is the total
 * number of frames (there is no byte size of a series).
 */
export function seriesIdentity(uri: string, metadata: readonly DicomJson[]): ObjectIdentity {
  const hash = createHash('sha256');
  const instances = [...metadata].sort((a, b) => compare(value(a['00080018']), value(b['00080018'])));
  let frames = 0;
  for (const ds of instances) {
    hash.update(`I${value(ds['00080018'])}\n`);
    for (const t of IDENTITY_TAGS) {
      const el = ds[t];
      if (el) hash.update(`${t}=${value(el)}\n`);
    }
    for (const seqTag of [SHARED, PER_FRAME]) {
      const items = ds[seqTag]?.Value;
      if (!Array.isArray(items)) continue;
      hash.update(`${seqTag}#${items.length}\n`);
      for (const item of items) hash.update(`${frameFacts(item)}\n`);
    }
    frames += Math.max(1, jsonNumber(ds, '00280008') ?? 1);
  }
  return { uri, size: frames, etag: `series-sha256:${hash.digest('hex').slice(0, 40)}`, lastModified: undefined };
}

/** Plane position (0048,021A), optical path (0048,0207) and pixel measures (0028,9110) of one functional group item. */
function frameFacts(item: unknown): string {
  if (typeof item !== 'object' || item === null) return '';
  const ds = item as DicomJson;
  const nested = (seqTag: string, tags: string[]): string => {
    const first = ds[seqTag]?.Value?.[0] as DicomJson | undefined;
    return first ? tags.map((t) => value(first[t])).join(',') : '';
  };
  return [
    nested('0048021A', ['0048021E', '0048021F', '0040072A', '0040073A', '00400074']),
    nested('00480207', ['00480106']),
    nested('00289110', ['00280030', '00180050']),
  ].join('|');
}

function value(el: DicomJsonElement | undefined): string {
  if (!el) return '';
  if (Array.isArray(el.Value)) return JSON.stringify(el.Value);
  return el.InlineBinary ?? '';
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function poolOf(root: string): string {
  try {
    return new URL(root).origin;
  } catch {
    return root;
  }
}
