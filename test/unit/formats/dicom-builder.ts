/** Builds small DICOM Part 10 WSI objects in memory for unit tests (explicit or implicit VR LE). */

export type El = { tag: [number, number]; vr: string; value: Uint8Array | string | number[] | El[][] };

const LONG = new Set(['OB', 'OW', 'OV', 'SQ', 'UN', 'UT']);

function u16(v: number): number[] { return [v & 0xff, (v >> 8) & 0xff]; }
function u32(v: number): number[] { return [v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, (v >>> 24) & 0xff]; }

function valueBytes(el: El, explicit: boolean): number[] {
  const v = el.value;
  if (typeof v === 'string') {
    const b = [...Buffer.from(v, 'latin1')];
    if (b.length % 2) b.push(el.vr === 'UI' ? 0 : 0x20);
    return b;
  }
  if (v instanceof Uint8Array) {
    const b = [...v];
    if (b.length % 2) b.push(0);
    return b;
  }
  if (el.vr === 'SQ') {
    // Items of undefined length, closed by delimiters: the harder case for parsers.
    const out: number[] = [];
    for (const item of v as El[][]) {
      out.push(...u16(0xfffe), ...u16(0xe000), ...u32(0xffffffff));
      for (const e of item) out.push(...element(e, explicit));
      out.push(...u16(0xfffe), ...u16(0xe00d), ...u32(0));
    }
    return out;
  }
  const nums = v as number[];
  const out: number[] = [];
  for (const n of nums) {
    if (el.vr === 'US') out.push(...u16(n));
    else if (el.vr === 'UL' || el.vr === 'SL') out.push(...u32(n >>> 0));
    else if (el.vr === 'OV') { out.push(...u32(n), ...u32(Math.floor(n / 2 ** 32))); }
  }
  return out;
}

export function element(el: El, explicit: boolean): number[] {
  const [g, e] = el.tag;
  const body = valueBytes(el, explicit);
  const sqUndefined = el.vr === 'SQ';
  const len = sqUndefined ? 0xffffffff : body.length;
  const out = [...u16(g), ...u16(e)];
  if (explicit || g === 2) {
    out.push(...Buffer.from(el.vr, 'latin1'));
    if (LONG.has(el.vr)) out.push(0, 0, ...u32(len));
    else out.push(...u16(len));
  } else out.push(...u32(len));
  out.push(...body);
  if (sqUndefined) out.push(...u16(0xfffe), ...u16(0xe0dd), ...u32(0));
  return out;
}

export function dicomFile(transferSyntax: string, elements: El[], pixel: number[]): Uint8Array {
  const explicit = transferSyntax !== '1.2.840.10008.1.2';
  const out: number[] = Array(128).fill(0);
  out.push(...Buffer.from('DICM', 'latin1'));
  out.push(...element({ tag: [0x0002, 0x0010], vr: 'UI', value: transferSyntax }, true));
  const sorted = [...elements].sort((a, b) => a.tag[0] - b.tag[0] || a.tag[1] - b.tag[1]);
  for (const el of sorted) out.push(...element(el, explicit));
  out.push(...pixel);
  return Uint8Array.from(out);
}

export function nativePixelData(frames: Uint8Array[], explicit: boolean): number[] {
  const body = frames.flatMap((f) => [...f]);
  return element({ tag: [0x7fe0, 0x0010], vr: 'OW', value: Uint8Array.from(body) }, explicit);
}

/** Encapsulated Pixel Data: each frame a list of fragments; BOT filled or empty. */
export function encapsulatedPixelData(frames: Uint8Array[][], withBot: boolean): { bytes: number[]; eotOffsets: number[]; eotLengths: number[] } {
  const items: number[] = [];
  const starts: number[] = [];
  for (const frags of frames) {
    starts.push(items.length);
    for (const f of frags) {
      const b = [...f];
      if (b.length % 2) b.push(0);
      items.push(...u16(0xfffe), ...u16(0xe000), ...u32(b.length), ...b);
    }
  }
  const bot = withBot ? starts.flatMap((s) => u32(s)) : [];
  const bytes = [
    ...u16(0x7fe0), ...u16(0x0010), ...Buffer.from('OB', 'latin1'), 0, 0, ...u32(0xffffffff),
    ...u16(0xfffe), ...u16(0xe000), ...u32(bot.length), ...bot,
    ...items,
    ...u16(0xfffe), ...u16(0xe0dd), ...u32(0),
  ];
  return { bytes, eotOffsets: starts, eotLengths: frames.map((f) => f.reduce((n, x) => n + x.length + (x.length % 2), 0)) };
}

export const WSI = '1.2.840.10008.5.1.4.1.1.77.1.6';

export function wsiElements(o: { width: number; height: number; tile: number; frames: number; spp: number; photometric: string; organisation: string; extra?: El[] }): El[] {
  return [
    { tag: [0x0008, 0x0016], vr: 'UI', value: WSI },
    { tag: [0x0008, 0x0008], vr: 'CS', value: 'ORIGINAL\\PRIMARY\\VOLUME\\NONE' },
    { tag: [0x0008, 0x0070], vr: 'LO', value: 'Unit Test' },
    { tag: [0x0020, 0x000e], vr: 'UI', value: '1.2.3.4' },
    { tag: [0x0020, 0x9311], vr: 'CS', value: o.organisation },
    { tag: [0x0028, 0x0002], vr: 'US', value: [o.spp] },
    { tag: [0x0028, 0x0004], vr: 'CS', value: o.photometric },
    { tag: [0x0028, 0x0008], vr: 'IS', value: String(o.frames) },
    { tag: [0x0028, 0x0010], vr: 'US', value: [o.tile] },
    { tag: [0x0028, 0x0011], vr: 'US', value: [o.tile] },
    { tag: [0x0028, 0x0100], vr: 'US', value: [8] },
    { tag: [0x0028, 0x0103], vr: 'US', value: [0] },
    { tag: [0x0048, 0x0006], vr: 'UL', value: [o.width] },
    { tag: [0x0048, 0x0007], vr: 'UL', value: [o.height] },
    ...(o.extra ?? []),
  ];
}
