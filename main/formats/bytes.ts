/**
 * Bytes already in hand while a header is parsed: the first large read plus whatever
 * batched reads followed. Parsers ask here first so nothing is fetched twice.
 */
export class ByteStore {
  readonly #chunks: { offset: number; bytes: Uint8Array }[] = [];

  add(offset: number, bytes: Uint8Array): void {
    if (bytes.length > 0) this.#chunks.push({ offset, bytes });
  }

  /** The bytes [offset, offset + length) if one chunk holds them all. */
  get(offset: number, length: number): Uint8Array | undefined {
    for (const c of this.#chunks) {
      if (offset >= c.offset && offset + length <= c.offset + c.bytes.length) {
        const start = offset - c.offset;
        return c.bytes.subarray(start, start + length);
      }
    }
    return undefined;
  }
}

export function ascii(bytes: Uint8Array, offset: number, length: number): string {
  let s = '';
  const end = Math.min(bytes.length, offset + length);
  for (let i = offset; i < end; i++) s += String.fromCharCode(bytes[i]!);
  return s;
}

export function concat(parts: readonly Uint8Array[]): Uint8Array {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

const utf8 = new TextDecoder('utf-8');
export function decodeText(bytes: Uint8Array): string {
  let end = bytes.length;
  while (end > 0 && bytes[end - 1] === 0) end--;
  return utf8.decode(bytes.subarray(0, end));
}
