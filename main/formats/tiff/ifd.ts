/**
 * One parsed TIFF directory. Small values are decoded when the directory is parsed;
 * large arrays (tile offsets and byte counts) stay as a reference to the file until
 * `TiffFile.load` fetches them.
 */
import { decodeText } from '../bytes.js';
import { Tag } from './tags.js';

export type TiffValue = string | Float64Array | Uint8Array;

export interface TiffEntry {
  tag: number;
  type: number;
  count: number;
  /** Where the value bytes are in the file (the entry itself for inline values). */
  valueOffset: number;
  byteLength: number;
  /** Decoded value when in hand. */
  value?: TiffValue;
}

export class TiffIfd {
  readonly offset: number;
  readonly entries = new Map<number, TiffEntry>();
  subIfds: TiffIfd[] = [];
  /** Index in the main chain, or the parent's index for SubIFDs. */
  readonly index: number;
  readonly isSubIfd: boolean;

  constructor(offset: number, index: number, isSubIfd: boolean) {
    this.offset = offset;
    this.index = index;
    this.isSubIfd = isSubIfd;
  }

  has(tag: number): boolean {
    return this.entries.has(tag);
  }

  numbers(tag: number): Float64Array | undefined {
    const v = this.entries.get(tag)?.value;
    if (v instanceof Float64Array) return v;
    if (v instanceof Uint8Array) return Float64Array.from(v);
    return undefined;
  }

  number(tag: number): number | undefined;
  number(tag: number, fallback: number): number;
  number(tag: number, fallback?: number): number | undefined {
    const v = this.numbers(tag);
    return v && v.length > 0 ? v[0] : fallback;
  }

  string(tag: number): string | undefined {
    const v = this.entries.get(tag)?.value;
    if (typeof v === 'string') return v;
    if (v instanceof Uint8Array) return decodeText(v);
    return undefined;
  }

  bytes(tag: number): Uint8Array | undefined {
    const v = this.entries.get(tag)?.value;
    return v instanceof Uint8Array ? v : undefined;
  }

  get width(): number { return this.number(Tag.ImageWidth, 0); }
  get height(): number { return this.number(Tag.ImageLength, 0); }
  get tiled(): boolean { return this.has(Tag.TileWidth) && this.has(Tag.TileLength); }
  get tileWidth(): number { return this.number(Tag.TileWidth, 0); }
  get tileHeight(): number { return this.number(Tag.TileLength, 0); }
  get compression(): number { return this.number(Tag.Compression, 1); }
  get photometric(): number | undefined { return this.number(Tag.Photometric); }
  get samplesPerPixel(): number { return this.number(Tag.SamplesPerPixel, 1); }
  get bitsPerSample(): number { return this.number(Tag.BitsPerSample, 1); }
  get sampleFormat(): number { return this.number(Tag.SampleFormat, 1); }
  get planarConfig(): number { return this.number(Tag.PlanarConfiguration, 1); }
  get subfileType(): number { return this.number(Tag.NewSubfileType, 0); }
  get description(): string | undefined { return this.string(Tag.ImageDescription); }
  get reduced(): boolean { return (this.subfileType & 1) === 1; }
}
