/** PackBits (Apple/TIFF run-length), output capped at `expected` bytes. */
export function packbitsDecode(input: Uint8Array, expected: number): Uint8Array {
  const out = new Uint8Array(expected);
  let i = 0;
  let o = 0;
  while (i < input.length && o < expected) {
    const n = (input[i++]! << 24) >> 24;
    if (n >= 0) {
      const len = Math.min(n + 1, expected - o, input.length - i);
      out.set(input.subarray(i, i + len), o);
      i += n + 1;
      o += len;
    } else if (n !== -128) {
      const len = Math.min(1 - n, expected - o);
      out.fill(input[i++] ?? 0, o, o + len);
      o += len;
    }
  }
  return out;
}
