/**
 * Opening a slide: one stat, one large head read, one TIFF parse, then the formats in
 * order of precedence, most specific first (OpenSlide's rule). The first whose `detect`
 * says yes opens the slide; every "no" has a reason for `--debug detection`.
 *
 * Precedence (tested in test/unit/formats/open.test.ts):
 *   1. dicom          DICM magic at 128; never a TIFF
 *   1b. zeiss-czi     ZISRAWFILE segment at 0; never a TIFF
 *   2. hamamatsu-ndpi TIFF with tag 65420 (before anything else TIFF: its offsets need NDPI mode)
 *   3. aperio         TIFF whose first description starts with "Aperio"
 *   4. ome-tiff       TIFF with OME-XML in the first description
 *   5. generic-tiff   any other tiled TIFF / BigTIFF
 * A file none reads gets FORMAT_UNSUPPORTED naming what it is (sniff.ts), or FORMAT_UNKNOWN.
 */
import { AppError, isAbortError, throwIfAborted } from '../common/errors.js';
import { logger } from '../common/log.js';
import type { RangeReader } from '../sources/types.js';
import { aperioFormat } from './aperio.js';
import { ByteStore } from './bytes.js';
import { dicomFormat } from './dicom/format.js';
import { cziFormat } from './czi/format.js';
import { corrupt, unsupported } from './errors.js';
import { genericTiffFormat } from './generic-tiff.js';
import { ndpiFormat } from './ndpi.js';
import { omeTiffFormat } from './ome-tiff.js';
import { recognise } from './sniff.js';
import { parseTiff, readTiffHeader, type TiffFile } from './tiff/parse.js';
import { Tag } from './tiff/tags.js';
import type { AssociatedImageName, EncodedTile, FormatProbe, SlideFormat, SlideReader, TileLocation } from './types.js';
import { commonErrors } from '../common/errors.js';
import { formatErrors } from './errors.js';

const log = logger('formats');

export const FORMATS: readonly SlideFormat[] = [dicomFormat, cziFormat, ndpiFormat, aperioFormat, omeTiffFormat, genericTiffFormat];

/**
 * First read of every open. 64 KiB holds the first directories of SVS, vips, tifffile and
 * NDPI files and typical DICOM headers: measured on the test files, 16 KiB to 256 KiB give
 * the same request counts for every TIFF format (SVS 4, vips 3, OME 3–4, NDPI 7, 16×16 SVS 1);
 * only 3DHistech DICOM with ~230 KB headers needs one read more at 64 KiB. Every byte
 * beyond that is paid on each open: 192 KiB is 77 ms on a 20 Mbit/s link (decision 0101).
 */
export const HEAD_SIZE = 64 << 10;

export interface OpenOptions {
  signal?: AbortSignal;
  /** Other objects in the same folder / prefix (multi-file DICOM series). */
  siblings?: () => Promise<RangeReader[]>;
  /** Called with each format's verdict (`--debug detection`). */
  onDetection?: (format: string, verdict: { ok: true } | { ok: false; reason: string }) => void;
  formats?: readonly SlideFormat[];
  headSize?: number;
}

export async function openSlide(reader: RangeReader, options: OpenOptions = {}): Promise<SlideReader> {
  const { signal } = options;
  try {
    // Read first, then stat: readers clip ranges at the end and learn size and version
    // from that answer, so the open costs no separate metadata round trip (a HEAD on S3).
    const { buffers } = await reader.read([{ offset: 0, length: options.headSize ?? HEAD_SIZE }], signal);
    const identity = await reader.stat(signal);
    const head = buffers[0] ?? new Uint8Array(0);
    if (head.length === 0) throw corrupt('the file is empty', 0);
    let tiff: TiffFile | undefined;
    if (readTiffHeader(head)) {
      // NDPI is only known from its first directory, and its links need NDPI mode: look at
      // the first directory, then parse everything in the right mode from the same bytes.
      const store = new ByteStore();
      store.add(0, head);
      const first = await parseTiff(reader, head, identity.size, { signal, store, maxMainIfds: 1 });
      const ndpi = first?.ifds[0]?.has(Tag.NdpiFormatFlag) === true && !first.bigTiff;
      tiff = (await parseTiff(reader, head, identity.size, { signal, store, ndpi })) ?? undefined;
    }
    const probe: FormatProbe = { reader, identity, head, tiff, ...(options.siblings ? { siblings: options.siblings } : {}) };
    for (const format of options.formats ?? FORMATS) {
      throwIfAborted(signal);
      const verdict = format.detect(probe);
      options.onDetection?.(format.name, verdict);
      if (!verdict.ok) {
        log.debug('detection', { format: format.name, reason: verdict.reason });
        continue;
      }
      const slide = await format.open(probe, signal);
      return guard(slide);
    }
    const what = recognise(head, identity.uri, tiff);
    if (what) throw unsupported(what.format, `${what.name} is not supported yet.`, { uri: identity.uri });
    throw formatErrors.make('FORMAT_UNKNOWN', 'This file is not a slide format the workstation knows.', {
      hint: 'Supported: Aperio SVS, Hamamatsu NDPI, OME-TIFF, pyramidal TIFF/BigTIFF, DICOM WSI and Zeiss CZI.',
      details: { uri: identity.uri },
    });
  } catch (err) {
    throw asFormatError(err);
  }
}

/** Anything a parser throws that is not an AppError is a damaged file (a RangeError from a short DataView…). */
export function asFormatError(err: unknown): AppError {
  if (err instanceof AppError) return err;
  if (isAbortError(err)) return commonErrors.make('ABORTED', 'The operation was cancelled.', { cause: err });
  const message = err instanceof Error ? err.message : String(err);
  return formatErrors.make('FORMAT_CORRUPT', `The slide file is damaged: ${message}.`, { cause: err, details: { offset: undefined } });
}

/** The core checks what formats return and keeps foreign exceptions from leaking out. */
function guard(slide: SlideReader): SlideReader {
  if (slide.descriptor.levels.length === 0) throw corrupt('the slide has no pyramid level', undefined);
  const wrap = async <T>(f: () => Promise<T>): Promise<T> => {
    try {
      return await f();
    } catch (err) {
      throw asFormatError(err);
    }
  };
  return {
    descriptor: slide.descriptor,
    locateTile: (level: number, col: number, row: number, plane: number, signal?: AbortSignal): Promise<TileLocation | null> =>
      wrap(() => slide.locateTile(level, col, row, plane, signal)),
    assembleTile: (location: TileLocation, buffers: Uint8Array[]): Promise<EncodedTile> => wrap(() => slide.assembleTile(location, buffers)),
    readAssociated: (name: AssociatedImageName, signal?: AbortSignal): Promise<EncodedTile> => wrap(() => slide.readAssociated(name, signal)),
    close: () => slide.close(),
  };
}

/** Locate, read and assemble one tile: what the tile scheduler does, without its queueing. */
export async function readTile(slide: SlideReader, reader: RangeReader, level: number, col: number, row: number, plane = 0, signal?: AbortSignal): Promise<EncodedTile | null> {
  const loc = await slide.locateTile(level, col, row, plane, signal);
  if (!loc) return null;
  const { buffers } = await (loc.source ?? reader).read(loc.ranges, signal);
  return slide.assembleTile(loc, buffers);
}
