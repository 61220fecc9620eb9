/**
 * TIFF / BigTIFF / NDPI-TIFF directory parser for hostile input over a RangeReader.
 *
 * Round trips: the caller hands in the head it already read; every directory whose bytes
 * are in hand is parsed without I/O, and each further round fetches all missing
 * directories and small values at once (one `read` call with several ranges). Tile
 * offset arrays are not read here: `TiffFile.load` fetches them per level on first need.
 *
 * Safety: IFD offsets are checked for loops and bounds; entry counts, IFD counts and
 * value sizes are capped; nothing is allocated from a size in the file without a bound.
 */
import { throwIfAborted } from '../../common/errors.js';
import type { ByteRange, RangeReader } from '../../sources/types.js';
import { ByteStore, decodeText } from '../bytes.js';
import { corrupt } from '../errors.js';
import { TiffIfd, type TiffEntry, type TiffValue } from './ifd.js';
import { LAZY_TAGS, Tag, typeSize } from './tags.js';
import { commonErrors } from '../../common/errors.js';

export const TIFF_LIMITS = {
  maxIfds: 1024,
  maxEntries: 4096,
  /** Values up to this size are fetched while opening (descriptions, JPEG tables). */
  maxEagerValue: 8 << 20,
  /** Largest array `load` will fetch (a 4 GiB-tile-count lie must not allocate 32 GiB). */
  maxLazyValue: 256 << 20,
  /**
   * Size of a read at an IFD that is not in hand. A pyramid level's IFD is usually well
   * under 1 KiB (tile tables are read lazily), and a slow link pays for every byte: at
   * 20 Mbit/s 64 KiB costs half a round trip more than 16 KiB. Bigger IFDs are completed
   * by a second read once their entry count is known.
   */
  ifdReadSize: 16 << 10,
  maxSubIfdDepth: 2,
} as const;

export interface TiffHeader {
  littleEndian: boolean;
  bigTiff: boolean;
  firstIfd: number;
}

/** Classic/BigTIFF magic, or null when the bytes are not a TIFF header. */
export function readTiffHeader(head: Uint8Array): TiffHeader | null {
  if (head.length < 8) return null;
  const le = head[0] === 0x49 && head[1] === 0x49;
  const be = head[0] === 0x4d && head[1] === 0x4d;
  if (!le && !be) return null;
  const dv = new DataView(head.buffer, head.byteOffset, head.byteLength);
  const magic = dv.getUint16(2, le);
  if (magic === 42) return { littleEndian: le, bigTiff: false, firstIfd: dv.getUint32(4, le) };
  if (magic === 43) {
    if (head.length < 16 || dv.getUint16(4, le) !== 8 || dv.getUint16(6, le) !== 0) return null;
    return { littleEndian: le, bigTiff: true, firstIfd: safeNumber(dv.getBigUint64(8, le), 8) };
  }
  return null;
}

function safeNumber(v: bigint, at: number): number {
  if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw corrupt('a 64-bit offset or count is out of range', at);
  return Number(v);
}

export class TiffFile {
  readonly reader: RangeReader;
  readonly size: number;
  readonly littleEndian: boolean;
  readonly bigTiff: boolean;
  /** Hamamatsu NDPI: classic TIFF with 64-bit IFD links and high bytes for offsets. */
  readonly ndpi: boolean;
  readonly ifds: TiffIfd[];
  readonly #lazy = new Map<TiffEntry, Promise<TiffValue>>();
  /** Slices of big offset/count tables, per (offsets entry, first index): single-flight. */
  readonly #blocks = new Map<TiffEntry, Map<number, Promise<[Float64Array, Float64Array]>>>();

  constructor(reader: RangeReader, size: number, header: TiffHeader, ndpi: boolean, ifds: TiffIfd[]) {
    this.reader = reader;
    this.size = size;
    this.littleEndian = header.littleEndian;
    this.bigTiff = header.bigTiff;
    this.ndpi = ndpi;
    this.ifds = ifds;
  }

  /** All directories, main chain first then SubIFDs (depth-first). */
  allIfds(): TiffIfd[] {
    const out: TiffIfd[] = [];
    const walk = (list: TiffIfd[]): void => {
      for (const d of list) {
        out.push(d);
        walk(d.subIfds);
      }
    };
    walk(this.ifds);
    return out;
  }

  /** A tag's value, fetched in one range read on first need and cached. */
  async load(ifd: TiffIfd, tag: number, signal?: AbortSignal): Promise<TiffValue | undefined> {
    const entry = ifd.entries.get(tag);
    if (!entry) return undefined;
    if (entry.value !== undefined) return entry.value;
    let p = this.#lazy.get(entry);
    if (!p) {
      p = this.#fetchValue(entry, signal);
      this.#lazy.set(entry, p);
      p.catch(() => this.#lazy.delete(entry));
    }
    return p;
  }

  async loadNumbers(ifd: TiffIfd, tag: number, signal?: AbortSignal): Promise<Float64Array | undefined> {
    const v = await this.load(ifd, tag, signal);
    if (v === undefined) return undefined;
    if (v instanceof Float64Array) return v;
    if (v instanceof Uint8Array) return Float64Array.from(v);
    throw corrupt(`tag ${tag} holds text where numbers are expected`, ifd.offset);
  }

  /**
   * Entries [first, first + count) of two parallel numeric arrays (tile offsets and byte
   * counts), both slices in one `read` call so they go out together. Cached per block and
   * shared by concurrent callers; the read itself is not tied to one caller's signal (a
   * few KiB), each caller stops waiting on its own abort.
   */
  async loadTableSlice(ifd: TiffIfd, offsetsTag: number, countsTag: number, first: number, count: number, signal?: AbortSignal): Promise<[Float64Array, Float64Array]> {
    throwIfAborted(signal);
    const a = ifd.entries.get(offsetsTag);
    const b = ifd.entries.get(countsTag);
    if (!a || !b) throw corrupt('an image has no tile offsets', ifd.offset);
    if (!Number.isSafeInteger(first) || !Number.isSafeInteger(count) || first < 0 || count <= 0 || first + count > a.count || first + count > b.count) {
      throw corrupt(`tile ${first + count - 1} is missing from the offset table`, ifd.offset);
    }
    let byFirst = this.#blocks.get(a);
    if (!byFirst) this.#blocks.set(a, (byFirst = new Map()));
    let p = byFirst.get(first);
    if (!p) {
      p = this.#fetchSlices([a, b], first, count);
      byFirst.set(first, p);
      p.catch(() => byFirst.delete(first));
    }
    if (!signal) return p;
    return new Promise((resolve, reject) => {
      const onAbort = (): void => reject(commonErrors.make('ABORTED', 'The operation was cancelled.', { cause: signal.reason }));
      signal.addEventListener('abort', onAbort, { once: true });
      p.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
    });
  }

  async #fetchSlices(entries: TiffEntry[], first: number, count: number): Promise<[Float64Array, Float64Array]> {
    const parts = entries.map((e) => {
      const ts = typeSize(e.type);
      if (ts === 0 || ts > 8) throw corrupt(`tag ${e.tag} has field type ${e.type}`, e.valueOffset);
      return { entry: { ...e, count, valueOffset: e.valueOffset + first * ts, byteLength: count * ts, value: undefined } as TiffEntry };
    });
    const { buffers } = await this.reader.read(parts.map((x) => ({ offset: x.entry.valueOffset, length: x.entry.byteLength })));
    const out = parts.map((x, i) => {
      const bytes = buffers[i];
      if (!bytes || bytes.length < x.entry.byteLength) throw corrupt(`tag ${x.entry.tag} runs past the end of the file`, x.entry.valueOffset);
      const v = decodeValue(bytes, 0, x.entry, this.littleEndian);
      return v instanceof Float64Array ? v : v instanceof Uint8Array ? Float64Array.from(v) : undefined;
    });
    if (!out[0] || !out[1]) throw corrupt('a tile offset table holds text', entries[0]!.valueOffset);
    return [out[0], out[1]];
  }

  async #fetchValue(entry: TiffEntry, signal?: AbortSignal): Promise<TiffValue> {
    if (entry.byteLength > TIFF_LIMITS.maxLazyValue) {
      throw corrupt(`tag ${entry.tag} claims ${entry.byteLength} bytes`, entry.valueOffset);
    }
    const { buffers } = await this.reader.read([{ offset: entry.valueOffset, length: entry.byteLength }], signal);
    const bytes = buffers[0];
    if (!bytes || bytes.length < entry.byteLength) throw corrupt(`tag ${entry.tag} runs past the end of the file`, entry.valueOffset);
    const value = decodeValue(bytes, 0, entry, this.littleEndian);
    entry.value = value; // later calls skip the map
    return value;
  }
}

interface ParseOptions {
  ndpi?: boolean;
  signal?: AbortSignal;
  /** Bytes already fetched by an earlier parse of the same object (re-parse in NDPI mode). */
  store?: ByteStore;
  /** Stop after this many main-chain directories (a first look before choosing the mode). */
  maxMainIfds?: number;
}

/** Bytes at the end of the file fetched with the first directory read outside the head: many writers put directories there. */
const TAIL_PREFETCH = 64 << 10;

interface IfdTask {
  offset: number;
  /** Called with the parsed IFD; returns follow-up tasks. */
  place: (ifd: TiffIfd) => void;
  index: number;
  isSub: boolean;
  depth: number;
  /** Known total size once the entry count was seen. */
  need?: number;
}

/**
 * Parse all directories. `head` holds the first bytes of the object (offset 0).
 * Returns null when the head is not a TIFF.
 */
export async function parseTiff(reader: RangeReader, head: Uint8Array, size: number, options: ParseOptions = {}): Promise<TiffFile | null> {
  const header = readTiffHeader(head);
  if (!header) return null;
  const ndpi = options.ndpi === true && !header.bigTiff;
  const le = header.littleEndian;
  const store = options.store ?? new ByteStore();
  if (!options.store) store.add(0, head);
  let tailFetched = head.length >= size;

  let firstIfd = header.firstIfd;
  if (ndpi && head.length >= 12) {
    const dv = new DataView(head.buffer, head.byteOffset, head.byteLength);
    firstIfd += dv.getUint32(8, le) * 2 ** 32;
  }

  const main: TiffIfd[] = [];
  const seen = new Set<number>();
  let count = 0;
  const pendingValues: TiffEntry[] = [];

  const addChain = (offset: number, index: number): IfdTask => ({
    offset,
    index,
    isSub: false,
    depth: 0,
    place: (ifd) => {
      main.push(ifd);
    },
  });

  let tasks: IfdTask[] = firstIfd === 0 ? [] : [addChain(firstIfd, 0)];
  let subValueWaits: { ifd: TiffIfd; entry: TiffEntry; depth: number }[] = [];

  // Offsets already fetched once: still missing after that means past the real end.
  const requested = new Set<number>();
  const entrySize = header.bigTiff ? 20 : 12;
  const countSize = header.bigTiff ? 8 : 2;
  const linkSize = header.bigTiff || ndpi ? 8 : 4;

  for (let round = 0; tasks.length > 0 || subValueWaits.length > 0 || pendingValues.length > 0; round++) {
    throwIfAborted(options.signal);
    if (round > TIFF_LIMITS.maxIfds + 8) throw corrupt('too many rounds of directory reads', undefined);
    const missing: ByteRange[] = [];
    const nextTasks: IfdTask[] = [];

    // Directories: parse what is in hand, queue the rest.
    while (tasks.length > 0) {
      const task = tasks.shift()!;
      if (task.offset < 8 || task.offset >= size) throw corrupt('a directory offset points outside the file', task.offset);
      const countBytes = store.get(task.offset, countSize);
      if (!countBytes) {
        if (requested.has(task.offset)) throw corrupt('a directory lies past the end of the file', task.offset);
        missing.push({ offset: task.offset, length: TIFF_LIMITS.ifdReadSize });
        nextTasks.push(task);
        continue;
      }
      const cdv = new DataView(countBytes.buffer, countBytes.byteOffset, countBytes.byteLength);
      const n = header.bigTiff ? safeNumber(cdv.getBigUint64(0, le), task.offset) : cdv.getUint16(0, le);
      if (n === 0 || n > TIFF_LIMITS.maxEntries) throw corrupt(`a directory claims ${n} entries`, task.offset);
      const total = countSize + n * entrySize + linkSize + (ndpi ? 4 * n : 0);
      if (task.offset + total > size) throw corrupt('a directory runs past the end of the file', task.offset);
      const bytes = store.get(task.offset, total);
      if (!bytes) {
        if (requested.has(-task.offset - 1)) throw corrupt('a directory is cut short by the end of the file', task.offset);
        requested.add(-task.offset - 1);
        missing.push({ offset: task.offset, length: Math.max(total, TIFF_LIMITS.ifdReadSize) });
        nextTasks.push(task);
        continue;
      }
      if (seen.has(task.offset)) throw corrupt('directories form a loop', task.offset);
      seen.add(task.offset);
      if (++count > TIFF_LIMITS.maxIfds) throw corrupt(`more than ${TIFF_LIMITS.maxIfds} directories`, task.offset);

      const ifd = parseIfd(bytes, task, n, { le, bigTiff: header.bigTiff, ndpi, size, entrySize, countSize });
      task.place(ifd);
      const firstLook = options.maxMainIfds !== undefined;
      for (const entry of ifd.entries.values()) {
        if (firstLook) break; // a first look needs only inline values
        if (entry.value !== undefined || LAZY_TAGS.has(entry.tag) || entry.byteLength > TIFF_LIMITS.maxEagerValue) continue;
        pendingValues.push(entry);
      }
      // Next in the chain.
      const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
      const linkAt = countSize + n * entrySize;
      let next = header.bigTiff ? safeNumber(dv.getBigUint64(linkAt, le), task.offset + linkAt) : dv.getUint32(linkAt, le);
      if (ndpi) next += dv.getUint32(linkAt + 4, le) * 2 ** 32;
      if (!task.isSub && next !== 0 && main.length < (options.maxMainIfds ?? Infinity)) {
        if (seen.has(next)) throw corrupt('directories form a loop', next);
        tasks.push(addChain(next, task.index + 1));
      }
      const sub = ifd.entries.get(Tag.SubIFDs);
      if (sub && !firstLook && task.depth < TIFF_LIMITS.maxSubIfdDepth) subValueWaits.push({ ifd, entry: sub, depth: task.depth + 1 });
    }

    // Small values out of hand, and SubIFD offset lists.
    const stillValues: TiffEntry[] = [];
    for (const entry of pendingValues.splice(0)) {
      const b = store.get(entry.valueOffset, entry.byteLength);
      if (b) entry.value = decodeValue(b, 0, entry, le);
      else {
        missing.push({ offset: entry.valueOffset, length: entry.byteLength });
        stillValues.push(entry);
      }
    }
    const stillSubs: typeof subValueWaits = [];
    for (const w of subValueWaits) {
      if (w.entry.value === undefined) {
        const b = store.get(w.entry.valueOffset, w.entry.byteLength);
        if (b) w.entry.value = decodeValue(b, 0, w.entry, le);
      }
      const offs = w.entry.value;
      if (!(offs instanceof Float64Array)) {
        if (w.entry.value !== undefined) throw corrupt('SubIFDs holds no offsets', w.ifd.offset);
        if (!stillValues.includes(w.entry) && !missing.some((r) => r.offset === w.entry.valueOffset)) {
          missing.push({ offset: w.entry.valueOffset, length: w.entry.byteLength });
        }
        stillSubs.push(w);
        continue;
      }
      if (offs.length > TIFF_LIMITS.maxIfds) throw corrupt(`${offs.length} SubIFDs`, w.ifd.offset);
      const parent = w.ifd;
      const slots: (TiffIfd | undefined)[] = new Array<TiffIfd | undefined>(offs.length);
      offs.forEach((o, i) => {
        nextTasks.push({
          offset: o,
          index: parent.index,
          isSub: true,
          depth: w.depth,
          place: (ifd) => {
            slots[i] = ifd;
            parent.subIfds = slots.filter((s): s is TiffIfd => s !== undefined);
          },
        });
      });
    }
    subValueWaits = stillSubs;
    pendingValues.push(...stillValues);
    tasks = nextTasks;

    if (missing.length > 0) {
      if (!tailFetched && tasks.length > 0) {
        tailFetched = true;
        const tail = Math.max(0, size - TAIL_PREFETCH);
        if (!store.get(tail, size - tail)) missing.push({ offset: tail, length: size - tail });
      }
      const ranges = dedupe(missing, size);
      const { buffers } = await reader.read(ranges, options.signal);
      ranges.forEach((r, i) => store.add(r.offset, buffers[i] ?? new Uint8Array(0)));
      for (const r of missing) requested.add(r.offset);
      // A value still missing after its read is past the real end: fail instead of looping.
      for (const e of pendingValues) {
        if (!store.get(e.valueOffset, e.byteLength)) throw corrupt(`tag ${e.tag} runs past the end of the file`, e.valueOffset);
      }
    } else if (tasks.length === 0 && (subValueWaits.length > 0 || pendingValues.length > 0)) {
      // Nothing to fetch yet work remains: only possible with inconsistent state.
      throw corrupt('directory values could not be resolved', undefined);
    }
  }

  if (main.length === 0) throw corrupt('the TIFF has no image directory', header.firstIfd);
  return new TiffFile(reader, size, header, ndpi, main);
}

function dedupe(ranges: ByteRange[], size: number): ByteRange[] {
  const out: ByteRange[] = [];
  const keys = new Set<string>();
  for (const r of ranges) {
    const length = Math.max(0, Math.min(r.length, size - r.offset));
    const k = `${r.offset}:${length}`;
    if (keys.has(k) || length === 0) continue;
    keys.add(k);
    out.push({ offset: r.offset, length });
  }
  return out;
}

interface IfdLayout {
  le: boolean;
  bigTiff: boolean;
  ndpi: boolean;
  size: number;
  entrySize: number;
  countSize: number;
}

function parseIfd(bytes: Uint8Array, task: IfdTask, n: number, l: IfdLayout): TiffIfd {
  const ifd = new TiffIfd(task.offset, task.index, task.isSub);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const inlineSize = l.bigTiff ? 8 : 4;
  const highAt = l.countSize + n * l.entrySize + 8;
  for (let i = 0; i < n; i++) {
    const p = l.countSize + i * l.entrySize;
    const tag = dv.getUint16(p, l.le);
    const type = dv.getUint16(p + 2, l.le);
    const count = l.bigTiff ? safeNumber(dv.getBigUint64(p + 4, l.le), task.offset + p) : dv.getUint32(p + 4, l.le);
    const ts = typeSize(type);
    if (ts === 0) continue; // unknown field type: skip, as TIFF 6 says readers should
    const byteLength = count * ts;
    if (count === 0) continue;
    if (byteLength > l.size) throw corrupt(`tag ${tag} claims ${count} values, more than the file holds`, task.offset + p);
    const fieldAt = p + (l.bigTiff ? 12 : 8);
    const high = l.ndpi ? dv.getUint32(highAt + 4 * i, l.le) : 0;
    let entry: TiffEntry;
    if (byteLength <= inlineSize) {
      entry = { tag, type, count, valueOffset: task.offset + fieldAt, byteLength };
      entry.value = decodeValue(bytes, fieldAt, entry, l.le);
      if (l.ndpi && high !== 0 && count === 1 && (type === 4 || type === 13) && entry.value instanceof Float64Array) {
        entry.value = Float64Array.of(entry.value[0]! + high * 2 ** 32);
      }
    } else {
      const valueOffset = (l.bigTiff ? safeNumber(dv.getBigUint64(fieldAt, l.le), task.offset + fieldAt) : dv.getUint32(fieldAt, l.le)) + high * 2 ** 32;
      if (valueOffset + byteLength > l.size) throw corrupt(`the value of tag ${tag} lies past the end of the file`, task.offset + p);
      entry = { tag, type, count, valueOffset, byteLength };
    }
    if (!ifd.entries.has(tag)) ifd.entries.set(tag, entry);
  }
  return ifd;
}

/** Decode a value of `entry` found at `bytes[at]`. */
export function decodeValue(bytes: Uint8Array, at: number, entry: TiffEntry, le: boolean): TiffValue {
  const { type, count } = entry;
  if (type === 2) return decodeText(bytes.subarray(at, at + count));
  if (type === 1 || type === 7 || type === 6) return bytes.slice(at, at + count);
  const dv = new DataView(bytes.buffer, bytes.byteOffset + at, entry.byteLength);
  const out = new Float64Array(count);
  for (let i = 0; i < count; i++) {
    switch (type) {
      case 3: out[i] = dv.getUint16(i * 2, le); break;
      case 8: out[i] = dv.getInt16(i * 2, le); break;
      case 4: case 13: out[i] = dv.getUint32(i * 4, le); break;
      case 9: out[i] = dv.getInt32(i * 4, le); break;
      case 11: out[i] = dv.getFloat32(i * 4, le); break;
      case 12: out[i] = dv.getFloat64(i * 8, le); break;
      case 5: { const d = dv.getUint32(i * 8 + 4, le); out[i] = d === 0 ? 0 : dv.getUint32(i * 8, le) / d; break; }
      case 10: { const d = dv.getInt32(i * 8 + 4, le); out[i] = d === 0 ? 0 : dv.getInt32(i * 8, le) / d; break; }
      case 16: case 18: out[i] = Number(dv.getBigUint64(i * 8, le)); break;
      case 17: out[i] = Number(dv.getBigInt64(i * 8, le)); break;
      default: out[i] = 0;
    }
  }
  return out;
}
