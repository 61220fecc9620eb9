/**
 * One DICOM WSI instance (one file): its header, the image model it shares with DICOMweb
 * (image.ts: role in the series, frame grid, optical paths) and where its frames are.
 */
import type { ObjectIdentity, RangeReader } from '../../sources/types.js';
import { corrupt } from '../errors.js';
import { encapsulatedFrames, nativeFrames, type FrameTable } from './frames.js';
import { describeImage, framePositions, hasFramePositions, T, tiledFullIndex, type DicomImage } from './image.js';
import { NeedMoreBytes, nums, parseDicomHeader, type DicomHeader } from './parser.js';


const MAX_HEADER = 64 << 20;

/** A Part 10 file: the shared image model plus where its bytes are. */
export interface DicomInstance extends DicomImage {
  reader: RangeReader;
  identity: ObjectIdentity;
  header: DicomHeader;
  head: Uint8Array;
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

function describe(reader: RangeReader, identity: ObjectIdentity, header: DicomHeader, head: Uint8Array): DicomInstance {
  const image = describeImage(header.dataset, 'a DICOM image', 0);
  let sparse: Map<string, number> | undefined;
  if (hasFramePositions(image)) {
    sparse = new Map();
    for (const { key, index } of framePositions(image, (op) => Math.max(0, image.opticalPaths.indexOf(op)))) if (!sparse.has(key)) sparse.set(key, index);
    if (sparse.size === 0) sparse = undefined;
  }
  return { ...image, reader, identity, header, head, sparse };
}

/** Frame index of a tile, or null when the tile was not stored (sparse). */
export function frameOf(inst: DicomInstance, plane: number, col: number, row: number): number | null {
  if (inst.sparse) return inst.sparse.get(`${plane}:${col}:${row}`) ?? null;
  const index = tiledFullIndex(inst, plane, col, row);
  if (index >= inst.frames) {
    // Files with one frame per tile but no plane dimension (non-conformant writers).
    if (plane === 0) throw corrupt(`tile ${col},${row} has no frame`, undefined);
    return null;
  }
  return index;
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
