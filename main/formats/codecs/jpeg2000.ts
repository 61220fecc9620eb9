/**
 * JPEG 2000 codestreams (Aperio 33003/33005, DICOM .90/.91) decoded with OpenJPEG built
 * to WebAssembly (@cornerstonejs/codec-openjpeg, maintained by the Cornerstone project).
 * Pure bytes in, samples out, so it can run in a worker thread like the other codecs.
 */
import { createRequire } from 'node:module';
import { AppError } from '../../common/errors.js';
import type { EncodedTile } from '../types.js';
import { formatErrors } from '../errors.js';

interface FrameInfo { width: number; height: number; bitsPerSample: number; componentCount: number; isSigned: boolean }
interface J2KDecoder {
  getEncodedBuffer(length: number): Uint8Array;
  getDecodedBuffer(): Uint8Array;
  decode(): void;
  getFrameInfo(): FrameInfo;
  delete(): void;
}
interface OpenJpegModule { J2KDecoder: new () => J2KDecoder }

let modulePromise: Promise<OpenJpegModule> | undefined;

function openjpeg(): Promise<OpenJpegModule> {
  // The package is an Emscripten CommonJS factory that loads its .wasm next to itself.
  const require = createRequire(import.meta.url);
  // OpenJPEG logs "[INFO]" lines through print/printErr; they must not reach stdout (CLI JSON).
  const factory = require('@cornerstonejs/codec-openjpeg/decodewasmjs') as (o: object) => Promise<OpenJpegModule>;
  modulePromise ??= factory({ print: () => undefined, printErr: () => undefined });
  return modulePromise;
}

export interface DecodedSamples {
  width: number;
  height: number;
  samplesPerPixel: number;
  bitsPerSample: 8 | 16;
  signed: boolean;
  /** Interleaved samples, little-endian for 16-bit. */
  data: Uint8Array;
}

/** Largest decoded image accepted (a damaged header must not allocate gigabytes). */
const MAX_PIXELS = 64 << 20;

export async function decodeJpeg2000(bytes: Uint8Array, options: { ycbcr?: boolean } = {}): Promise<DecodedSamples> {
  const m = await openjpeg();
  const decoder = new m.J2KDecoder();
  try {
    decoder.getEncodedBuffer(bytes.length).set(bytes);
    decoder.decode();
    const info = decoder.getFrameInfo();
    if (!(info.width > 0 && info.height > 0) || info.width * info.height > MAX_PIXELS || info.componentCount < 1 || info.componentCount > 4) {
      throw formatErrors.make('FORMAT_CORRUPT', `A JPEG 2000 tile claims ${info.width}×${info.height}×${info.componentCount}.`);
    }
    const bits = info.bitsPerSample > 8 ? 16 : 8;
    const data = decoder.getDecodedBuffer().slice(); // copy out of WebAssembly memory
    const expected = info.width * info.height * info.componentCount * (bits / 8);
    if (data.length < expected) throw formatErrors.make('FORMAT_CORRUPT', 'A JPEG 2000 tile decoded to fewer samples than its header says.');
    if (options.ycbcr && bits === 8 && info.componentCount === 3) ycbcrToRgb(data);
    return { width: info.width, height: info.height, samplesPerPixel: info.componentCount, bitsPerSample: bits, signed: info.isSigned, data: data.subarray(0, expected) };
  } catch (err) {
    if (err instanceof AppError) throw err;
    throw formatErrors.make('FORMAT_CORRUPT', `A JPEG 2000 tile could not be decoded (OpenJPEG error ${err instanceof Error ? err.message : String(err)}).`, { cause: err });
  } finally {
    decoder.delete();
  }
}

/**
 * The one JPEG 2000 → raw tile path (TIFF tiles, DICOM files and DICOMweb frames, on the
 * main thread or in the worker pool): the tile's size and sample layout come from the
 * codestream, not from the container.
 */
export async function jpeg2000Tile(
  base: { level: number; col: number; row: number; plane: number },
  bytes: Uint8Array,
  options: { ycbcr?: boolean } = {},
): Promise<EncodedTile> {
  const d = await decodeJpeg2000(bytes, options);
  return {
    level: base.level, col: base.col, row: base.row, plane: base.plane, width: d.width, height: d.height,
    encoding: { kind: 'raw', bitsPerSample: d.bitsPerSample, samplesPerPixel: d.samplesPerPixel, sampleFormat: d.signed ? 'int' : 'uint' },
    mime: 'application/octet-stream', bytes: d.data,
  };
}

/** Aperio 33003 stores YCbCr without a JPEG 2000 colour transform: convert as OpenSlide does. */
function ycbcrToRgb(d: Uint8Array): void {
  for (let i = 0; i + 2 < d.length; i += 3) {
    const y = d[i]!, cb = d[i + 1]! - 128, cr = d[i + 2]! - 128;
    d[i] = clamp(y + 1.402 * cr);
    d[i + 1] = clamp(y - 0.344136 * cb - 0.714136 * cr);
    d[i + 2] = clamp(y + 1.772 * cb);
  }
}

function clamp(v: number): number {
  return v < 0 ? 0 : v > 255 ? 255 : Math.round(v);
}
