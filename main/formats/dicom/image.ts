/**
 * The one DICOM WSI image model, shared by Part 10 files (instance.ts) and DICOMweb
 * series (../dicomweb/series.ts), which see the same datasets through different
 * transports: the tag dictionary, an image's role, frame grid and optical paths, where
 * per-frame positions put each frame, and how a frame becomes a tile (JPEG passed
 * through, JPEG 2000 decoded, native samples checked for length and interleaved).
 */
import { jpeg2000Tile } from '../codecs/jpeg2000.js';
import { corrupt, unsupported } from '../errors.js';
import { markRgb } from '../jpeg/markers.js';
import type { EncodedTile, SlideLevel } from '../types.js';
import { num, seq, str, strings, tag, TS, type DicomDataset } from './parser.js';
import { hasJfif, interleave } from './pixels.js';

export const T = {
  SOPClassUID: tag(0x0008, 0x0016),
  ImageType: tag(0x0008, 0x0008),
  Manufacturer: tag(0x0008, 0x0070),
  ModelName: tag(0x0008, 0x1090),
  StudyUID: tag(0x0020, 0x000d),
  SeriesUID: tag(0x0020, 0x000e),
  SamplesPerPixel: tag(0x0028, 0x0002),
  Photometric: tag(0x0028, 0x0004),
  PlanarConfiguration: tag(0x0028, 0x0006),
  NumberOfFrames: tag(0x0028, 0x0008),
  Rows: tag(0x0028, 0x0010),
  Columns: tag(0x0028, 0x0011),
  PixelSpacing: tag(0x0028, 0x0030),
  BitsAllocated: tag(0x0028, 0x0100),
  PixelRepresentation: tag(0x0028, 0x0103),
  PixelMeasures: tag(0x0028, 0x9110),
  ContainerIdentifier: tag(0x0040, 0x0512),
  ImagedVolumeWidth: tag(0x0048, 0x0001),
  TotalColumns: tag(0x0048, 0x0006),
  TotalRows: tag(0x0048, 0x0007),
  OpticalPathSequence: tag(0x0048, 0x0105),
  OpticalPathIdentifier: tag(0x0048, 0x0106),
  OpticalPathDescription: tag(0x0048, 0x0107),
  ObjectiveLensPower: tag(0x0048, 0x0112),
  OpticalPathIdentification: tag(0x0048, 0x0207),
  PlanePositionSlide: tag(0x0048, 0x021a),
  ColumnPosition: tag(0x0048, 0x021e),
  RowPosition: tag(0x0048, 0x021f),
  NumberOfFocalPlanes: tag(0x0048, 0x0303),
  DimensionOrganizationType: tag(0x0020, 0x9311),
  SharedGroups: tag(0x5200, 0x9229),
  PerFrameGroups: tag(0x5200, 0x9230),
  ExtendedOffsetTable: tag(0x7fe0, 0x0001),
  ExtendedOffsetTableLengths: tag(0x7fe0, 0x0002),
  IlluminationWaveLength: tag(0x0022, 0x0055),
} as const;

export const WSI_SOP_CLASS = '1.2.840.10008.5.1.4.1.1.77.1.6';

/** An image's pixel size and tile grid, as a pyramid level has them. */
export type TileGrid = Omit<SlideLevel, 'downsample'>;

export type InstanceRole = 'volume' | 'label' | 'overview' | 'thumbnail' | 'map';

/** What one instance's dataset says about its image, whatever transport it came by. */
export interface DicomImage extends TileGrid {
  dataset: DicomDataset;
  role: InstanceRole;
  frames: number;
  samplesPerPixel: number;
  bitsAllocated: number;
  photometric: string;
  opticalPaths: string[];
}

/** `subject` names the image in the error (a file's, or a DICOMweb instance by its UID). */
export function describeImage(ds: DicomDataset, subject: string, offset: number | undefined): DicomImage {
  const tileWidth = num(ds, T.Columns) ?? 0;
  const tileHeight = num(ds, T.Rows) ?? 0;
  const width = num(ds, T.TotalColumns) ?? tileWidth;
  const height = num(ds, T.TotalRows) ?? tileHeight;
  if (!(tileWidth > 0 && tileHeight > 0 && width > 0 && height > 0) || tileWidth > 65535 || tileHeight > 65535) {
    throw corrupt(`${subject} has an impossible size (${width}×${height}, frames ${tileWidth}×${tileHeight})`, offset);
  }
  const opSeq = seq(ds, T.OpticalPathSequence);
  return {
    dataset: ds,
    role: roleOf(ds),
    width, height, tileWidth, tileHeight,
    columns: Math.ceil(width / tileWidth),
    rows: Math.ceil(height / tileHeight),
    frames: Math.max(1, num(ds, T.NumberOfFrames) ?? 1),
    samplesPerPixel: num(ds, T.SamplesPerPixel) ?? 1,
    bitsAllocated: num(ds, T.BitsAllocated) ?? 8,
    photometric: str(ds, T.Photometric) ?? 'MONOCHROME2',
    opticalPaths: opSeq.length > 0 ? opSeq.map((it, i) => str(it, T.OpticalPathIdentifier) ?? String(i)) : ['0'],
  };
}

export function roleOf(ds: DicomDataset): InstanceRole {
  const t3 = (strings(ds, T.ImageType)[2] ?? '').toUpperCase();
  if (t3 === 'LABEL') return 'label';
  if (t3 === 'OVERVIEW') return 'overview';
  if (t3 === 'THUMBNAIL') return 'thumbnail';
  if (t3 === 'REGIONLOCALIZER') return 'map';
  return 'volume';
}

/** Whether frames carry positions (TILED_SPARSE, and the Orthanc dicomizer's output) rather than a TILED_FULL order. */
export function hasFramePositions(image: DicomImage): boolean {
  return str(image.dataset, T.DimensionOrganizationType) !== 'TILED_FULL' && seq(image.dataset, T.PerFrameGroups).length > 0;
}

/**
 * Each positioned frame's tile key `plane:col:row` and its 0-based index, in frame order;
 * `planeOf` maps an optical path id to the plane number.
 */
export function* framePositions(image: DicomImage, planeOf: (opticalPath: string) => number): Generator<{ key: string; index: number }> {
  const ds = image.dataset;
  const sharedOp = str(seq(seq(ds, T.SharedGroups)[0], T.OpticalPathIdentification)[0], T.OpticalPathIdentifier);
  const perFrame = seq(ds, T.PerFrameGroups);
  for (let i = 0; i < perFrame.length; i++) {
    const item = perFrame[i]!;
    const pos = seq(item, T.PlanePositionSlide)[0];
    const x = num(pos, T.ColumnPosition);
    const y = num(pos, T.RowPosition);
    if (x === undefined || y === undefined) continue;
    const op = str(seq(item, T.OpticalPathIdentification)[0], T.OpticalPathIdentifier) ?? sharedOp ?? image.opticalPaths[0]!;
    // Positions are 1-based pixel coordinates of the frame's top-left corner in the total matrix.
    yield { key: `${planeOf(op)}:${Math.floor((x - 1) / image.tileWidth)}:${Math.floor((y - 1) / image.tileHeight)}`, index: i };
  }
}

/** TILED_FULL: the frame index of a tile (plane · cols · rows · focal planes + row · cols + col). */
export function tiledFullIndex(image: DicomImage, plane: number, col: number, row: number): number {
  const focal = Math.max(1, num(image.dataset, T.NumberOfFocalPlanes) ?? 1);
  return plane * image.columns * image.rows * focal + row * image.columns + col;
}

export type FrameKind = 'jpeg' | 'native' | 'jpeg2000';

/** How frames of a transfer syntax become tiles; a typed unsupported error for the syntaxes not read yet. */
export function frameKind(ts: string, details: Record<string, unknown> = {}): FrameKind {
  if (ts === TS.ImplicitLE || ts === TS.ExplicitLE) return 'native';
  if (ts === TS.JpegBaseline || ts === TS.JpegExtended) return 'jpeg';
  if (ts === TS.Jpeg2000 || ts === TS.Jpeg2000Lossless) return 'jpeg2000';
  if (ts.startsWith('1.2.840.10008.1.2.4.20')) {
    throw unsupported('htj2k', 'DICOM with High-Throughput JPEG 2000 frames is not supported yet.', { transferSyntax: ts, ...details });
  }
  if (ts === '1.2.840.10008.1.2.4.80' || ts === '1.2.840.10008.1.2.4.81') throw unsupported('jpeg-ls', 'DICOM with JPEG-LS frames is not supported yet.', { transferSyntax: ts, ...details });
  if (ts === '1.2.840.10008.1.2.5') throw unsupported('dicom-rle', 'DICOM with RLE frames is not supported yet.', { transferSyntax: ts, ...details });
  if (ts === '1.2.840.10008.1.2.4.57' || ts === '1.2.840.10008.1.2.4.70') throw unsupported('jpeg-lossless', 'DICOM with lossless JPEG frames is not supported yet.', { transferSyntax: ts, ...details });
  throw unsupported(`dicom-ts-${ts}`, `DICOM transfer syntax ${ts} is not supported yet.`, { transferSyntax: ts, ...details });
}

/** One frame's bytes (items already unwrapped) as a tile: the same rules for files and DICOMweb. */
export async function assembleDicomFrame(image: DicomImage, kind: FrameKind, at: { level: number; col: number; row: number; plane: number }, bytes: Uint8Array): Promise<EncodedTile> {
  const base = { level: at.level, col: at.col, row: at.row, plane: at.plane, width: image.tileWidth, height: image.tileHeight };
  if (kind === 'jpeg') {
    // A JFIF marker means YCbCr whatever the tag says; otherwise an RGB tag needs Adobe's marker to be decoded as RGB.
    const out = image.photometric === 'RGB' && !hasJfif(bytes) ? markRgb(bytes) : bytes;
    return { ...base, encoding: { kind: 'jpeg' }, mime: 'image/jpeg', bytes: out };
  }
  if (kind === 'jpeg2000') return jpeg2000Tile(base, bytes);
  const spp = image.samplesPerPixel;
  const bits = image.bitsAllocated;
  if (bits !== 8 && bits !== 16) throw corrupt(`${bits}-bit DICOM samples`, undefined);
  const expected = image.tileWidth * image.tileHeight * spp * (bits / 8);
  if (bytes.length < expected) throw corrupt(`a native frame has ${bytes.length} bytes, ${expected} expected`, undefined);
  let out = bytes.length === expected ? bytes : bytes.subarray(0, expected);
  if (spp > 1 && num(image.dataset, T.PlanarConfiguration) === 1) out = interleave(out, spp, image.tileWidth * image.tileHeight, bits / 8);
  const signed = num(image.dataset, T.PixelRepresentation) === 1;
  return { ...base, encoding: { kind: 'raw', bitsPerSample: bits, samplesPerPixel: spp, sampleFormat: signed ? 'int' : 'uint' }, mime: 'application/octet-stream', bytes: out };
}
