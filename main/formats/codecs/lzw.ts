/** TIFF LZW (MSB-first codes, "early change"); output is capped at `expected` bytes. */
export function lzwDecode(input: Uint8Array, expected: number): Uint8Array {
  const out = new Uint8Array(expected);
  let outPos = 0;
  // Dictionary as prefix/suffix arrays: no allocation per entry.
  const prefix = new Int32Array(4096);
  const suffix = new Uint8Array(4096);
  const first = new Uint8Array(4096);
  for (let i = 0; i < 256; i++) { prefix[i] = -1; suffix[i] = i; first[i] = i; }
  const stack = new Uint8Array(4096);
  let next = 258;
  let width = 9;
  let bitPos = 0;
  const totalBits = input.length * 8;
  let prev = -1;

  const readCode = (): number => {
    if (bitPos + width > totalBits) return 257;
    let code = 0;
    for (let k = 0; k < width; k++) {
      const p = bitPos + k;
      code = (code << 1) | ((input[p >> 3]! >> (7 - (p & 7))) & 1);
    }
    bitPos += width;
    return code;
  };
  const emit = (code: number): void => {
    let n = 0;
    let c = code;
    while (c >= 0 && n < 4096) { stack[n++] = suffix[c]!; c = prefix[c]!; }
    while (n > 0 && outPos < expected) out[outPos++] = stack[--n]!;
  };
  const add = (p: number, s: number): void => {
    if (next >= 4096) return;
    prefix[next] = p; suffix[next] = s; first[next] = first[p]!;
    next++;
  };

  while (outPos < expected) {
    const code = readCode();
    if (code === 257) break;
    if (code === 256) { next = 258; width = 9; prev = -1; continue; }
    if (prev === -1) {
      if (code > 255) break; // damaged: the first code after a clear is a literal
      emit(code);
      prev = code;
      continue;
    }
    if (code < next) {
      add(prev, first[code]!);
      emit(code);
    } else if (code === next) {
      add(prev, first[prev]!);
      emit(code);
    } else break; // damaged stream: stop, the rest stays zero
    prev = code;
    if (next >= (1 << width) - 1 && width < 12) width++;
  }
  return out;
}
