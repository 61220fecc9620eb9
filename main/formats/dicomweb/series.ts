/**
 * The pyramid of a DICOM WSI series described by its WADO-RS metadata (one DICOM JSON
 * dataset per instance): pure logic, no I/O, so it is unit-testable on metadata alone.
 *
 * - VOLUME instances form levels by TotalPixelMatrixColumns/Rows (writers such as
 *   OrthancWSIDicomizer write no ImageType, and split big levels into concatenations).
 * - A level may hold several instances: one per optical path, and/or the parts of a
 *   concatenation (ConcatenationFrameOffsetNumber gives each part's first frame).
 * - TILED_FULL: frame = plane·cols·rows + row·cols + col, counted over the concatenation.
 *   Otherwise, when per-frame PlanePositionSlide is present (TILED_SPARSE, and the
 *   dicomizer's output): a tile → (instance, frame) map; missing tiles are null.
 * - LABEL / OVERVIEW / THUMBNAIL instances become associated images.
 * The tag dictionary and dataset helpers are the Part 10 reader's (main/formats/dicom).
 */
import { corrupt } from '../errors.js';
import { T } from '../dicom/instance.js';
import { pyramidMpp, type MppSource } from '../dicom/mpp.js';
import { num, seq, str, strings, tag, type DicomDataset } from '../dicom/parser.js';
import { toDataset, type DicomJson } from '../../sources/dicomweb/json.js';

const SOPInstanceUID = tag(0x0008, 0x0018);
const ConcatenationFrameOffset = tag(0x0020, 0x9228);
const TransferSyntaxUID = tag(0x0002, 0x0010);
const PatientName = tag(0x0010, 0x0010);

export type Role = 'volume' | 'label' | 'overview' | 'thumbnail' | 'map';

export interface WebInstance {
  sopInstanceUid: string;
  dataset: DicomDataset;
  role: Role;
  width: number;
  height: number;
  tileWidth: number;
  tileHeight: number;
  columns: number;
  rows: number;
  frames: number;
  /** First frame of this part in its concatenation (0 when not concatenated). */
  frameOffset: number;
  samplesPerPixel: number;
  bitsAllocated: number;
  photometric: string;
  opticalPaths: string[];
  /** From the metadata when the server includes group 0002 (Orthanc does not). */
  transferSyntax: string | undefined;
}

export interface FrameRef {
  instance: WebInstance;
  /** 1-based frame number within the instance, as WADO-RS numbers frames. */
  frame: number;
}

export interface WebLevel {
  width: number;
  height: number;
  tileWidth: number;
  tileHeight: number;
  columns: number;
  rows: number;
  instances: WebInstance[];
  /** `plane:col:row` → frame, when frames carry positions; undefined for TILED_FULL. */
  sparse: Map<string, FrameRef> | undefined;
}

export interface SeriesLayout {
  levels: WebLevel[];
  /** Channel ids: one ('RGB') for colour, the optical path ids for fluorescence. */
  planes: string[];
  rgb: boolean;
  mpp: { x: number; y: number } | undefined;
  /** Which attributes gave `mpp` (they disagree in some writers' output). */
  mppSource: MppSource | undefined;
  objectivePower: number | undefined;
  channels: { name: string; bits: 8 | 16 }[];
  associated: Map<'label' | 'overview' | 'thumbnail' | 'map', WebInstance>;
  /** Dataset of the largest level's first instance (for properties). */
  top: DicomDataset;
}

export function describeInstance(json: DicomJson): WebInstance {
  const ds = toDataset(json);
  const tileWidth = num(ds, T.Columns) ?? 0;
  const tileHeight = num(ds, T.Rows) ?? 0;
  const width = num(ds, T.TotalColumns) ?? tileWidth;
  const height = num(ds, T.TotalRows) ?? tileHeight;
  const sop = str(ds, SOPInstanceUID) ?? '';
  if (!(tileWidth > 0 && tileHeight > 0 && width > 0 && height > 0) || tileWidth > 65535 || tileHeight > 65535) {
    throw corrupt(`DICOM instance ${sop} has an impossible size (${width}×${height}, frames ${tileWidth}×${tileHeight})`, undefined);
  }
  const opSeq = seq(ds, T.OpticalPathSequence);
  return {
    sopInstanceUid: sop,
    dataset: ds,
    role: roleOf(ds),
    width, height, tileWidth, tileHeight,
    columns: Math.ceil(width / tileWidth),
    rows: Math.ceil(height / tileHeight),
    frames: Math.max(1, num(ds, T.NumberOfFrames) ?? 1),
    frameOffset: num(ds, ConcatenationFrameOffset) ?? 0,
    samplesPerPixel: num(ds, T.SamplesPerPixel) ?? 1,
    bitsAllocated: num(ds, T.BitsAllocated) ?? 8,
    photometric: str(ds, T.Photometric) ?? 'MONOCHROME2',
    opticalPaths: opSeq.length > 0 ? opSeq.map((it, i) => str(it, T.OpticalPathIdentifier) ?? String(i)) : ['0'],
    transferSyntax: str(ds, TransferSyntaxUID),
  };
}

function roleOf(ds: DicomDataset): Role {
  const t3 = (strings(ds, T.ImageType)[2] ?? '').toUpperCase();
  if (t3 === 'LABEL') return 'label';
  if (t3 === 'OVERVIEW') return 'overview';
  if (t3 === 'THUMBNAIL') return 'thumbnail';
  if (t3 === 'REGIONLOCALIZER') return 'map';
  return 'volume';
}

export function layoutSeries(metadata: readonly DicomJson[]): SeriesLayout {
  const all: WebInstance[] = [];
  for (const json of metadata) {
    try {
      all.push(describeInstance(json));
    } catch (err) {
      // A map or a damaged non-image instance must not stop the slide; pyramid levels are checked below.
      if (roleOf(toDataset(json)) === 'volume' && num(toDataset(json), T.TotalColumns) !== undefined) throw err;
    }
  }
  const volumes = all.filter((i) => i.role === 'volume');
  if (volumes.length === 0) throw corrupt('the DICOM series has no pyramid level (VOLUME image)', undefined);
  const bySize = new Map<string, WebInstance[]>();
  for (const v of volumes) {
    const k = `${v.width}x${v.height}`;
    bySize.set(k, [...(bySize.get(k) ?? []), v]);
  }
  const groups = [...bySize.values()].sort((a, b) => b[0]!.width * b[0]!.height - a[0]!.width * a[0]!.height);
  const first = groups[0]![0]!;
  const rgb = first.samplesPerPixel === 3;
  const planes = rgb ? ['RGB'] : [...new Set(groups[0]!.flatMap((i) => i.opticalPaths))];
  const levels = groups.map((insts) => buildLevel(insts, rgb, planes));

  const ds = first.dataset;
  const { mpp, source: mppSource } = pyramidMpp(ds, first.width, first.height);
  const opSeq = seq(ds, T.OpticalPathSequence);
  const power = num(opSeq[0], T.ObjectiveLensPower);
  const bits: 8 | 16 = first.bitsAllocated === 16 ? 16 : 8;
  const channels = rgb
    ? [{ name: 'RGB', bits: 8 as const }]
    : planes.map((id) => {
        const item = groups[0]!.flatMap((i) => seq(i.dataset, T.OpticalPathSequence)).find((it) => str(it, T.OpticalPathIdentifier) === id);
        const wl = num(item, T.IlluminationWaveLength);
        return { name: str(item, T.OpticalPathDescription) ?? (wl ? `${wl} nm` : `Optical path ${id}`), bits };
      });
  const associated = new Map<'label' | 'overview' | 'thumbnail' | 'map', WebInstance>();
  for (const i of all) if (i.role !== 'volume' && !associated.has(i.role)) associated.set(i.role, i);
  return { levels, planes, rgb, mpp, mppSource, objectivePower: power !== undefined && power > 0 ? power : undefined, channels, associated, top: ds };
}

function buildLevel(insts: WebInstance[], rgb: boolean, planes: string[]): WebLevel {
  const g = insts[0]!;
  const sorted = [...insts].sort((a, b) => a.frameOffset - b.frameOffset);
  const level: WebLevel = { width: g.width, height: g.height, tileWidth: g.tileWidth, tileHeight: g.tileHeight, columns: g.columns, rows: g.rows, instances: sorted, sparse: undefined };
  const positioned = sorted.some((i) => str(i.dataset, T.DimensionOrganizationType) !== 'TILED_FULL' && seq(i.dataset, T.PerFrameGroups).length > 0);
  if (!positioned) return level;
  const sparse = new Map<string, FrameRef>();
  for (const inst of sorted) {
    const sharedOp = str(seq(seq(inst.dataset, T.SharedGroups)[0], T.OpticalPathIdentification)[0], T.OpticalPathIdentifier);
    seq(inst.dataset, T.PerFrameGroups).forEach((item, i) => {
      const pos = seq(item, T.PlanePositionSlide)[0];
      const x = num(pos, T.ColumnPosition);
      const y = num(pos, T.RowPosition);
      if (x === undefined || y === undefined) return;
      const op = str(seq(item, T.OpticalPathIdentification)[0], T.OpticalPathIdentifier) ?? sharedOp ?? inst.opticalPaths[0]!;
      const plane = rgb ? 0 : Math.max(0, planes.indexOf(op));
      // Positions are 1-based pixel coordinates of the frame's top-left corner in the total matrix.
      const k = `${plane}:${Math.floor((x - 1) / inst.tileWidth)}:${Math.floor((y - 1) / inst.tileHeight)}`;
      if (!sparse.has(k)) sparse.set(k, { instance: inst, frame: i + 1 });
    });
  }
  if (sparse.size > 0) level.sparse = sparse;
  return level;
}

/** The frame holding a tile, or null when the tile was not stored (sparse). */
export function frameOfTile(level: WebLevel, plane: number, planeId: string, col: number, row: number): FrameRef | null {
  if (level.sparse) return level.sparse.get(`${plane}:${col}:${row}`) ?? null;
  // One instance (or concatenation) per optical path, or all paths in one: pick the one holding this path.
  const holders = level.instances.filter((i) => i.opticalPaths.includes(planeId));
  const parts = holders.length > 0 ? holders : level.instances;
  const localPlane = Math.max(0, parts[0]!.samplesPerPixel === 3 ? 0 : parts[0]!.opticalPaths.indexOf(planeId));
  const focal = Math.max(1, num(parts[0]!.dataset, T.NumberOfFocalPlanes) ?? 1);
  const index = localPlane * level.columns * level.rows * focal + row * level.columns + col;
  const part = parts.find((p) => index >= p.frameOffset && index < p.frameOffset + p.frames);
  if (!part) {
    if (localPlane === 0) throw corrupt(`tile ${col},${row} has no frame in the series`, undefined);
    return null;
  }
  return { instance: part, frame: index - part.frameOffset + 1 };
}

export function patientNameOf(ds: DicomDataset): string | undefined {
  return str(ds, PatientName);
}
