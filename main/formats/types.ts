/**
 * What a slide reader answers: a descriptor of the pyramid and, per tile, where its
 * bytes are and how to turn those bytes into something the viewer can draw. Readers
 * never fetch on their own initiative: the tile scheduler asks `locateTile`, reads the
 * ranges (coalescing neighbours, in parallel, through the cache) and hands the bytes to
 * `assembleTile`. That split is what lets the scheduler coalesce and prioritise.
 */
import type { ByteRange, ObjectIdentity, RangeReader } from '../sources/types.js';

export interface SlideLevel {
  /** Pixels of this level. */
  width: number;
  height: number;
  tileWidth: number;
  tileHeight: number;
  /** Tile grid size: ceil(width / tileWidth) × ceil(height / tileHeight). */
  columns: number;
  rows: number;
  /** Level-0 pixels per pixel of this level (1 for level 0). */
  downsample: number;
}

export interface ChannelInfo {
  name: string;
  /** Display colour as `#rrggbb` when the file says one (OME, DICOM optical paths). */
  color?: string;
  bitsPerSample: 8 | 16 | 32;
  sampleFormat: 'uint' | 'int' | 'float';
}

export type AssociatedImageName = 'label' | 'macro' | 'thumbnail' | 'overview' | 'map';

export interface AssociatedImageInfo {
  name: AssociatedImageName;
  width: number;
  height: number;
}

export interface SlideDescriptor {
  /** Format family that read it: 'aperio', 'generic-tiff', 'ome-tiff', 'hamamatsu-ndpi', 'dicom'. */
  format: string;
  /** Scanner vendor or writer when known. */
  vendor: string | undefined;
  identity: ObjectIdentity;
  levels: SlideLevel[];
  /** Microns per pixel at level 0, when the file says so. */
  mpp: { x: number; y: number } | undefined;
  objectivePower: number | undefined;
  /**
   * 'rgb': tiles are colour images (JPEG pass-through or decoded to RGB).
   * 'channels': fluorescence; one raw plane per channel, coloured by the renderer.
   */
  pixelKind: 'rgb' | 'channels';
  channels: ChannelInfo[];
  associated: AssociatedImageInfo[];
  /** Free-form metadata with OpenSlide's property names where one exists (`openslide.mpp-x`, `aperio.AppMag`, `tiff.ImageDescription`). */
  properties: Record<string, string>;
}

/** Where a tile's bytes are; `ranges` are read together and handed to `assembleTile`. */
export interface TileLocation {
  level: number;
  col: number;
  row: number;
  /** Channel plane for 'channels' slides (0 for RGB). */
  plane: number;
  ranges: ByteRange[];
  /**
   * The object to read `ranges` from when it is not the slide's own object (a DICOM series
   * spread over several files). Absent: the RangeReader the slide was opened with.
   */
  source?: RangeReader;
  /** Reader-private data needed to assemble (compression, JPEG tables id, frame index). */
  meta?: Record<string, unknown>;
}

export type TileEncoding =
  | { kind: 'jpeg' } // a complete JFIF/Adobe JPEG the browser can decode as is
  | { kind: 'png' }
  | { kind: 'webp' }
  /** Raw samples, row-major, `samplesPerPixel` interleaved, little-endian for 16-bit. */
  | { kind: 'raw'; bitsPerSample: 8 | 16 | 32; samplesPerPixel: number; sampleFormat: 'uint' | 'int' | 'float' };

export interface EncodedTile {
  level: number;
  col: number;
  row: number;
  plane: number;
  /** Pixel size of the tile as stored (edge tiles may be padded to the full tile size). */
  width: number;
  height: number;
  encoding: TileEncoding;
  /** MIME type to serve it with (`image/jpeg`, `application/octet-stream` for raw). */
  mime: string;
  bytes: Uint8Array;
}

export interface SlideReader {
  readonly descriptor: SlideDescriptor;
  /** null when the tile does not exist (sparse DICOM, empty TIFF tile): the viewer draws background. */
  locateTile(level: number, col: number, row: number, plane: number, signal?: AbortSignal): Promise<TileLocation | null>;
  /** Turn the bytes read at `location.ranges` into a tile (splice JPEG tables, fix colour, decode non-JPEG). */
  assembleTile(location: TileLocation, buffers: Uint8Array[]): Promise<EncodedTile>;
  readAssociated(name: AssociatedImageName, signal?: AbortSignal): Promise<EncodedTile>;
  close(): Promise<void>;
}

/** One entry in the ordered list of formats: the most specific first, generic TIFF last. */
export interface SlideFormat {
  name: string;
  /**
   * Decide from what was already read (the first bytes and, for TIFF, the parsed
   * directories) whether this format applies. Returns a reason when it declines, so
   * "why was my file not recognised?" can be answered with `--debug detection`.
   */
  detect(probe: FormatProbe): { ok: true } | { ok: false; reason: string };
  open(probe: FormatProbe, signal?: AbortSignal): Promise<SlideReader>;
}

/** What detection shares so no format reads the header again. */
export interface FormatProbe {
  reader: RangeReader;
  identity: ObjectIdentity;
  /** The first bytes of the object (at least 64 KiB when the object is that large). */
  head: Uint8Array;
  /** Parsed TIFF structure, when the object is a TIFF; typed by the TIFF core. */
  tiff?: unknown;
  /** Sibling objects (same folder / S3 prefix), for multi-file formats such as DICOM series. */
  siblings?: () => Promise<RangeReader[]>;
}
