/**
 * One DICOM WSI instance (one file): its header, its role in the series (a pyramid level,
 * label, overview…), its frame grid and how tiles map to frames.
 */
import type { ObjectIdentity, RangeReader } from '../../sources/types.js';
import { corrupt, unsupported } from '../errors.js';
import { encapsulatedFrames, nativeFrames, type FrameTable } from './frames.js';
import { NeedMoreBytes, nums, num, parseDicomHeader, seq, str, strings, tag, TS, type DicomDataset, type DicomHeader } from './parser.js';

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
const MAX_HEADER = 64 << 20;

export type InstanceRole = 'volume' | 'label' | 'overview' | 'thumbnail' | 'map';

export interface DicomInstance {
  reader: RangeReader;
  identity: ObjectIdentity;
  header: DicomHeader;
  head: Uint8Array;
  role: InstanceRole;
  width: number;
  height: number;
  tileWidth: number;
  tileHeight: number;
  columns: number;
  rows: number;
  frames: number;
  samplesPerPixel: number;
  bitsAllocated: number;
  photometric: string;
  opticalPaths: string[];
  /** `plane:col:row` → frame, for TILED_SPARSE; undefined for TILED_FULL. */
  sparse: Map<string, number> | undefined;
  frameTable?: Promise<FrameTable>;
}

/** Read the header, fetching more than the head only when it does not fit. */
export async function readInstance(reader: RangeReader, identity: ObjectIdentity, head: Uint8Array, signal?: AbortSignal): Promise<DicomInstance> {
  let bytes = head;
  for (;;) {
    try {
      const header = parseDicomHeader(bytes, identity.size);
      return describe(reader, identity, header, bytes);
    } catch (err) {
      if (!(err instanceof NeedMoreBytes)) throw err;
      const want = Math.min(identity.size, Math.max(err.needed * 2, bytes.length * 4));
      if (want > MAX_HEADER || want <= bytes.length) throw corrupt('the DICOM header is larger than 64 MiB', err.needed);
      const { buffers } = await reader.read([{ offset: 0, length: want }], signal);
      bytes = buffers[0] ?? new Uint8Array(0);
      if (bytes.length < Math.min(want, err.needed)) throw corrupt('the DICOM header is cut short', bytes.length);
    }
  }
}

function roleOf(ds: DicomDataset): InstanceRole {
  const type = strings(ds, T.ImageType).map((s) => s.toUpperCase());
  const t3 = type[2] ?? '';
  if (t3 === 'LABEL') return 'label';
  if (t3 === 'OVERVIEW') return 'overview';
  if (t3 === 'THUMBNAIL') return 'thumbnail';
  if (t3 === 'REGIONLOCALIZER') return 'map';
  return 'volume';
}

function describe(reader: RangeReader, identity: ObjectIdentity, header: DicomHeader, head: Uint8Array): DicomInstance {
  const ds = header.dataset;
  const tileWidth = num(ds, T.Columns) ?? 0;
  const tileHeight = num(ds, T.Rows) ?? 0;
  const width = num(ds, T.TotalColumns) ?? tileWidth;
  const height = num(ds, T.TotalRows) ?? tileHeight;
  if (!(tileWidth > 0 && tileHeight > 0 && width > 0 && height > 0) || tileWidth > 65535 || tileHeight > 65535) {
    throw corrupt(`a DICOM image has an impossible size (${width}×${height}, frames ${tileWidth}×${tileHeight})`, 0);
  }
  const frames = Math.max(1, num(ds, T.NumberOfFrames) ?? 1);
  const opSeq = seq(ds, T.OpticalPathSequence);
  const opticalPaths = opSeq.length > 0 ? opSeq.map((it, i) => str(it, T.OpticalPathIdentifier) ?? String(i)) : ['0'];
  const columns = Math.ceil(width / tileWidth);
  const rows = Math.ceil(height / tileHeight);
  const organisation = str(ds, T.DimensionOrganizationType);
  let sparse: Map<string, number> | undefined;
  const perFrame = seq(ds, T.PerFrameGroups);
  if (organisation !== 'TILED_FULL' && perFrame.length > 0) {
    sparse = new Map();
    const sharedOp = str(seq(seq(ds, T.SharedGroups)[0], T.OpticalPathIdentification)[0], T.OpticalPathIdentifier);
    perFrame.forEach((item, i) => {
      const pos = seq(item, T.PlanePositionSlide)[0];
      const x = num(pos, T.ColumnPosition);
      const y = num(pos, T.RowPosition);
      if (x === undefined || y === undefined) return;
      const op = str(seq(item, T.OpticalPathIdentification)[0], T.OpticalPathIdentifier) ?? sharedOp ?? opticalPaths[0]!;
      const plane = Math.max(0, opticalPaths.indexOf(op));
      const col = Math.floor((x - 1) / tileWidth);
      const row = Math.floor((y - 1) / tileHeight);
      const key = `${plane}:${col}:${row}`;
      if (!sparse!.has(key)) sparse!.set(key, i);
    });
    if (sparse.size === 0) sparse = undefined;
  }
  return {
    reader, identity, header, head,
    role: roleOf(ds),
    width, height, tileWidth, tileHeight, columns, rows, frames,
    samplesPerPixel: num(ds, T.SamplesPerPixel) ?? 1,
    bitsAllocated: num(ds, T.BitsAllocated) ?? 8,
    photometric: str(ds, T.Photometric) ?? 'MONOCHROME2',
    opticalPaths,
    sparse,
  };
}

/** Frame index of a tile, or null when the tile was not stored (sparse). */
export function frameOf(inst: DicomInstance, plane: number, col: number, row: number): number | null {
  if (inst.sparse) return inst.sparse.get(`${plane}:${col}:${row}`) ?? null;
  const focal = Math.max(1, num(inst.header.dataset, T.NumberOfFocalPlanes) ?? 1);
  const index = plane * inst.columns * inst.rows * focal + row * inst.columns + col;
  if (index >= inst.frames) {
    // Files with one frame per tile but no plane dimension (non-conformant writers).
    if (plane === 0) throw corrupt(`tile ${col},${row} has no frame`, undefined);
    return null;
  }
  return index;
}

export function checkTransferSyntax(ts: string): 'jpeg' | 'native' | 'jpeg2000' {
  if (ts === TS.ImplicitLE || ts === TS.ExplicitLE) return 'native';
  if (ts === TS.JpegBaseline || ts === TS.JpegExtended) return 'jpeg';
  if (ts === TS.Jpeg2000 || ts === TS.Jpeg2000Lossless) return 'jpeg2000';
  if (ts.startsWith('1.2.840.10008.1.2.4.20')) {
    throw unsupported('htj2k', 'DICOM with High-Throughput JPEG 2000 frames is not supported yet.', { transferSyntax: ts });
  }
  if (ts === '1.2.840.10008.1.2.4.80' || ts === '1.2.840.10008.1.2.4.81') throw unsupported('jpeg-ls', 'DICOM with JPEG-LS frames is not supported yet.', { transferSyntax: ts });
  if (ts === '1.2.840.10008.1.2.5') throw unsupported('dicom-rle', 'DICOM with RLE frames is not supported yet.', { transferSyntax: ts });
  if (ts === '1.2.840.10008.1.2.4.57' || ts === '1.2.840.10008.1.2.4.70') throw unsupported('jpeg-lossless', 'DICOM with lossless JPEG frames is not supported yet.', { transferSyntax: ts });
  throw unsupported(`dicom-ts-${ts}`, `DICOM transfer syntax ${ts} is not supported yet.`, { transferSyntax: ts });
}

export function frameTable(inst: DicomInstance, signal?: AbortSignal): Promise<FrameTable> {
  inst.frameTable ??= (async () => {
    const pixel = inst.header.pixelData;
    if (!pixel) throw corrupt('the DICOM object has no Pixel Data', undefined);
    if (!pixel.encapsulated) {
      const frameBytes = inst.tileWidth * inst.tileHeight * inst.samplesPerPixel * (inst.bitsAllocated / 8);
      return nativeFrames(pixel, frameBytes, inst.frames, inst.identity.size);
    }
    const ds = inst.header.dataset;
    const offsets = nums(ds, T.ExtendedOffsetTable);
    const lengths = nums(ds, T.ExtendedOffsetTableLengths);
    return encapsulatedFrames(inst.reader, pixel, inst.frames, inst.identity.size, offsets && lengths ? { offsets, lengths } : undefined, inst.head, signal);
  })();
  inst.frameTable.catch(() => (inst.frameTable = undefined));
  return inst.frameTable;
}
