/**
 * Where a slide's bytes live. A RangeReader knows nothing about slide formats: it
 * answers byte ranges of one object and says which version of the object it read.
 * Formats, the tile scheduler and the cache build on this and nothing else.
 */
export interface ByteRange {
  offset: number;
  length: number;
}

/** Identity of the object a reader reads; the cache keys descriptors and tiles by it. */
export interface ObjectIdentity {
  /** Canonical URI: `file:///…`, `s3://bucket/key`, `https://…`, `dicomweb://…`. */
  uri: string;
  size: number;
  /** Storage version tag (S3 ETag, HTTP ETag, or size+mtime for local files). */
  etag: string | undefined;
  lastModified: string | undefined;
}

export interface RangeReadResult {
  /** One buffer per requested range, in request order. */
  buffers: Uint8Array[];
  /** Network requests this call made (0 when served from memory); benchmarks count them. */
  requests: number;
}

export interface RangeReader {
  readonly uri: string;
  /**
   * Size and version of the object. Free after the first `read` (learned from
   * Content-Range / ETag of that response); otherwise one metadata request.
   */
  stat(signal?: AbortSignal): Promise<ObjectIdentity>;
  /**
   * Read the ranges. Ranges past the end are clipped (a shorter buffer comes back),
   * so a format reader can size its first read generously. Implementations may merge
   * ranges into fewer requests but never reorder results. If the object changed since
   * the first read (ETag differs), rejects with `SOURCE_CHANGED`.
   */
  read(ranges: readonly ByteRange[], signal?: AbortSignal): Promise<RangeReadResult>;
  /**
   * Open up to `connections` connections to the object's host now, without waiting, so
   * the reads that follow (a viewport's tiles over parallel connections) do not each pay
   * a TCP/TLS handshake. Network sources only; failures are ignored (the reads report).
   */
  preconnect?(connections: number): void;
  close(): Promise<void>;
}

/** Moved to main/common/fetch.ts (every area takes one); re-exported so readers' imports keep working. */
export type { FetchLike } from '../common/fetch.js';

/**
 * A source whose unit is a frame, not a byte range: a DICOMweb series, where a tile is
 * frame N of instance I and the archive answers several frames of one instance in one
 * multi-frame request. The tile service reads it through the frame scheduler
 * (main/tiles/frames.ts); byte ranges make no sense here (decision 0703).
 */
export interface FrameSource {
  readonly kind: 'frames';
  /** Canonical address, e.g. `dicomweb://<archive>/studies/<uid>/series/<uid>`. */
  readonly uri: string;
  /** Which connection pool it shares (the archive's origin): parallelism is bounded per pool. */
  readonly pool: string;
  /** Version of the whole series (a digest of its metadata): the cache keys descriptors and tiles by it. */
  stat(signal?: AbortSignal): Promise<ObjectIdentity>;
  /** Frames (1-based) of one group (a DICOM instance), answered in the order asked. */
  readFrames(group: string, frames: readonly number[], signal?: AbortSignal): Promise<FrameReadResult>;
  close(): Promise<void>;
}

export interface FrameData {
  bytes: Uint8Array;
  /** As the archive labelled the part: `image/jpeg`, `application/octet-stream`… */
  mediaType: string | undefined;
  transferSyntax: string | undefined;
}

export interface FrameReadResult {
  frames: FrameData[];
  /** Body bytes and network requests (benchmarks and stats count them). */
  bytes: number;
  requests: number;
}

export function isFrameSource(source: RangeReader | FrameSource): source is FrameSource {
  return (source as Partial<FrameSource>).kind === 'frames';
}
