/**
 * Builds small TIFF / BigTIFF files (either byte order) in memory for unit tests,
 * including deliberately broken ones. Also an in-memory RangeReader for those bytes.
 */
import type { ByteRange, ObjectIdentity, RangeReader, RangeReadResult } from '../../../main/sources/types.js';

export interface BEntry {
  tag: number;
  type: number;
  values: number[] | Uint8Array | string;
  /** Override the count written (hostile files). */
  count?: number;
  /** Override the value offset written (hostile files). */
  offset?: number;
}

export interface BIfd {
  entries: BEntry[];
  subIfds?: BIfd[];
  /** Override the next-IFD link (hostile files): 'self' makes a loop. */
  next?: number | 'self';
}

const SIZE: Record<number, number> = { 1: 1, 2: 1, 3: 2, 4: 4, 5: 8, 7: 1, 11: 4, 12: 8, 13: 4, 16: 8, 18: 8 };

export class TiffBuilder {
  readonly bigTiff: boolean;
  readonly le: boolean;
  #bytes: number[] = [];

  constructor(options: { bigTiff?: boolean; littleEndian?: boolean } = {}) {
    this.bigTiff = options.bigTiff ?? false;
    this.le = options.littleEndian ?? true;
    this.#header();
  }

  #header(): void {
    const b = this.le ? [0x49, 0x49] : [0x4d, 0x4d];
    if (this.bigTiff) this.#bytes.push(...b, ...this.#u(43, 2), ...this.#u(8, 2), 0, 0, ...this.#u(0, 8));
    else this.#bytes.push(...b, ...this.#u(42, 2), ...this.#u(0, 4));
  }

  #u(v: number, n: number): number[] {
    const out: number[] = [];
    let x = BigInt(v);
    for (let i = 0; i < n; i++) {
      out.push(Number(x & 0xffn));
      x >>= 8n;
    }
    return this.le ? out : out.reverse();
  }

  get length(): number {
    return this.#bytes.length;
  }

  /** Append raw bytes (tile data); returns their offset. */
  addData(data: Uint8Array): number {
    const at = this.#bytes.length;
    for (const b of data) this.#bytes.push(b);
    if (this.#bytes.length % 2) this.#bytes.push(0);
    return at;
  }

  #encode(e: BEntry): number[] {
    if (typeof e.values === 'string') return [...Buffer.from(`${e.values}\0`, 'latin1')];
    if (e.values instanceof Uint8Array) return [...e.values];
    const size = SIZE[e.type]!;
    const out: number[] = [];
    for (const v of e.values) {
      if (e.type === 5) out.push(...this.#u(Math.round(v * 1000), 4), ...this.#u(1000, 4));
      else out.push(...this.#u(v, size));
    }
    return out;
  }

  #count(e: BEntry): number {
    if (e.count !== undefined) return e.count;
    if (typeof e.values === 'string') return e.values.length + 1;
    if (e.values instanceof Uint8Array) return e.values.length;
    return e.values.length;
  }

  /** Write an IFD (and its SubIFDs first); returns its offset. */
  #writeIfd(ifd: BIfd): number {
    const subOffsets = (ifd.subIfds ?? []).map((s) => this.#writeIfd(s));
    const entries = [...ifd.entries];
    if (subOffsets.length > 0) entries.push({ tag: 330, type: this.bigTiff ? 16 : 4, values: subOffsets });
    entries.sort((a, b) => a.tag - b.tag);
    // Out-of-line values first.
    const inline = this.bigTiff ? 8 : 4;
    const valueOffsets = entries.map((e) => {
      const bytes = this.#encode(e);
      if (bytes.length <= inline) return -1;
      return this.addData(Uint8Array.from(bytes));
    });
    const at = this.#bytes.length;
    this.#bytes.push(...this.#u(entries.length, this.bigTiff ? 8 : 2));
    entries.forEach((e, i) => {
      this.#bytes.push(...this.#u(e.tag, 2), ...this.#u(e.type, 2), ...this.#u(this.#count(e), this.bigTiff ? 8 : 4));
      if (valueOffsets[i] === -1 && e.offset === undefined) {
        const v = this.#encode(e);
        // Inline values are left-justified in the field whatever the byte order.
        while (v.length < inline) v.push(0);
        this.#bytes.push(...v);
      } else this.#bytes.push(...this.#u(e.offset ?? valueOffsets[i]!, inline));
    });
    this.#linkAt = this.#bytes.length;
    this.#bytes.push(...this.#u(0, this.bigTiff ? 8 : 4));
    return at;
  }

  #linkAt = 0;

  #patch(at: number, v: number, n: number): void {
    const bytes = this.#u(v, n);
    bytes.forEach((b, i) => (this.#bytes[at + i] = b));
  }

  /** Write the main chain and link the header to it. */
  build(ifds: BIfd[]): Uint8Array {
    let prevLink = this.bigTiff ? 8 : 4;
    const linkSize = this.bigTiff ? 8 : 4;
    for (const ifd of ifds) {
      const at = this.#writeIfd(ifd);
      this.#patch(prevLink, at, linkSize);
      prevLink = this.#linkAt;
      if (ifd.next !== undefined) this.#patch(this.#linkAt, ifd.next === 'self' ? at : ifd.next, linkSize);
    }
    return Uint8Array.from(this.#bytes);
  }
}

/** A tiled 8-bit image directory: tiles given as byte arrays (already compressed). */
export function tiledIfd(b: TiffBuilder, o: { width: number; height: number; tile: number; spp?: number; bits?: number; compression?: number; tiles: Uint8Array[]; extra?: BEntry[]; counts?: number[] }): BIfd {
  const offsets = o.tiles.map((t) => b.addData(t));
  const spp = o.spp ?? 1;
  return {
    entries: [
      { tag: 256, type: 4, values: [o.width] },
      { tag: 257, type: 4, values: [o.height] },
      { tag: 258, type: 3, values: Array(spp).fill(o.bits ?? 8) },
      { tag: 259, type: 3, values: [o.compression ?? 1] },
      { tag: 262, type: 3, values: [spp === 3 ? 2 : 1] },
      { tag: 277, type: 3, values: [spp] },
      { tag: 322, type: 3, values: [o.tile] },
      { tag: 323, type: 3, values: [o.tile] },
      { tag: 324, type: b.bigTiff ? 16 : 4, values: offsets },
      { tag: 325, type: 4, values: o.counts ?? o.tiles.map((t) => t.length) },
      ...(o.extra ?? []),
    ],
  };
}

export class MemoryReader implements RangeReader {
  readonly uri: string;
  reads = 0;
  constructor(readonly bytes: Uint8Array, name = 'memory.tif') {
    this.uri = `memory:///${name}`;
  }
  async stat(): Promise<ObjectIdentity> {
    return { uri: this.uri, size: this.bytes.length, etag: 'm', lastModified: undefined };
  }
  async read(ranges: readonly ByteRange[]): Promise<RangeReadResult> {
    this.reads++;
    return { buffers: ranges.map((r) => this.bytes.slice(r.offset, Math.min(this.bytes.length, r.offset + r.length))), requests: 1 };
  }
  async close(): Promise<void> {}
}
