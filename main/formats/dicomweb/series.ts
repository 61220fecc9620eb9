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
import { describeImage, framePositions, hasFramePositions, roleOf, T, type DicomImage, type InstanceRole, type TileGrid } from '../dicom/image.js';
import { toDataset } from '../dicom/json.js';
import { pyramidMpp, type MppSource } from '../dicom/mpp.js';
import { num, seq, str, tag, type DicomDataset } from '../dicom/parser.js';
import type { DicomJson } from '../../sources/dicomweb/json.js';

const SOPInstanceUID = tag(0x0008, 0x0018);
const ConcatenationFrameOffset = tag(0x0020, 0x9228);
const TransferSyntaxUID = tag(0x0002, 0x0010);
const PatientName = tag(0x0010, 0x0010);

export type Role = InstanceRole;

/** A DICOMweb instance: the image model it shares with Part 10 files (../dicom/image.ts) plus its place in the series. */
export interface WebInstance extends DicomImage {
  sopInstanceUid: string;
  /** First frame of this part in its concatenation (0 when not concatenated). */
  frameOffset: number;
  /** From the metadata when the server includes group 0002 (Orthanc does not). */
  transferSyntax: string | undefined;
}

export interface FrameRef {
  instance: WebInstance;
  /** 1-based frame number within the instance, as WADO-RS numbers frames. */
  frame: number;
}

export interface WebLevel extends TileGrid {
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
  const sop = str(ds, SOPInstanceUID) ?? '';
  return {
    ...describeImage(ds, `DICOM instance ${sop}`, undefined),
    sopInstanceUid: sop,
    frameOffset: num(ds, ConcatenationFrameOffset) ?? 0,
    transferSyntax: str(ds, TransferSyntaxUID),
  };
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
  if (!sorted.some(hasFramePositions)) return level;
  const sparse = new Map<string, FrameRef>();
  for (const inst of sorted) {
    for (const { key, index } of framePositions(inst, (op) => (rgb ? 0 : Math.max(0, planes.indexOf(op))))) {
      if (!sparse.has(key)) sparse.set(key, { instance: inst, frame: index + 1 });
    }
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
