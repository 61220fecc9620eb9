/**
 * Fluorescence compositing, the pure arithmetic: no DOM, no OpenSeadragon, so unit tests
 * run it under Node and the end-to-end test can state independently what the screen
 * must show.
 *
 * Each channel of a tile arrives as one plane of raw samples (8/16/32-bit, unsigned,
 * signed or float). A channel is shown through a window [min, max] mapped linearly onto
 * 0…1 (clamped), tinted with its colour and added into RGB:
 *
 *     out_c = min(255, round( Σ_channels visible · clamp((v − min) / (max − min), 0, 1) · colour_c ))
 *
 * with colour_c in 0…255. A window with max ≤ min is a threshold (v ≥ max is full).
 * Integer samples up to 16 bits go through a lookup table (one multiply-free pass per
 * channel); wider or float samples are mapped directly.
 */

export type SampleFormat = 'uint' | 'int' | 'float';
export type Samples = Uint8Array | Int8Array | Uint16Array | Int16Array | Uint32Array | Int32Array | Float32Array | Float64Array;

/** One channel of one tile. */
export interface ChannelPlane {
  width: number;
  height: number;
  bitsPerSample: number;
  sampleFormat: SampleFormat;
  /** width × height samples, row-major. */
  data: Samples;
}

/** All channels of one tile; a null plane is a channel the slide has no data for there (drawn as 0). */
export interface TilePlanes {
  width: number;
  height: number;
  /** The part of the tile inside the slide (edge tiles are padded to the full tile size). */
  validWidth: number;
  validHeight: number;
  planes: (ChannelPlane | null)[];
}

/** How one channel is shown. */
export interface ChannelDisplay {
  visible: boolean;
  /** `#rrggbb`. */
  color: string;
  min: number;
  max: number;
}

/** What the slide says about a channel (the contract's SlideSummary.channels). */
export interface ChannelInfo {
  name: string;
  color?: string | undefined;
  bitsPerSample: number;
  sampleFormat?: SampleFormat | undefined;
}

/** Blue, green, red first (DAPI + two stains is the common case), as the engine's region export. */
export const PALETTE = ['#0000ff', '#00ff00', '#ff0000', '#ff00ff', '#00ffff', '#ffff00', '#ffffff'];

/** Colours people expect for common dyes and stains, by name. */
const DYE_COLOURS: [RegExp, string][] = [
  [/dapi|hoechst|nuc(lear)?[ _-]?blue|\bblue\b/i, '#0000ff'],
  [/fitc|gfp|\bcy2\b|alexa[ _-]?(fluor)?[ _-]?488|af488|opal[ _-]?520|\bgreen\b/i, '#00ff00'],
  [/tritc|\bcy3\b|rfp|mcherry|texas|alexa[ _-]?(fluor)?[ _-]?(546|555|568|594)|af(546|555|568|594)|opal[ _-]?570|\bred\b/i, '#ff0000'],
  [/\bcy5\b|alexa[ _-]?(fluor)?[ _-]?647|af647|opal[ _-]?650|far[ _-]?red/i, '#ff00ff'],
  [/\bcy7\b|alexa[ _-]?(fluor)?[ _-]?750|opal[ _-]?690/i, '#ffffff'],
  [/yfp|\byellow\b|opal[ _-]?540/i, '#ffff00'],
  [/cfp|\bcyan\b|opal[ _-]?620/i, '#00ffff'],
];

export function parseColour(hex: string): [number, number, number] | undefined {
  const m = /^#?([0-9a-f]{2})([0-9a-f]{2})([0-9a-f]{2})$/i.exec(hex.trim());
  return m ? [parseInt(m[1]!, 16), parseInt(m[2]!, 16), parseInt(m[3]!, 16)] : undefined;
}

export function formatColour(rgb: readonly [number, number, number]): string {
  return `#${rgb.map((c) => Math.max(0, Math.min(255, Math.round(c))).toString(16).padStart(2, '0')).join('')}`;
}

/** The slide's own colour, else the dye's usual colour, else the palette by position (skipping colours already taken). */
export function defaultColours(channels: readonly ChannelInfo[]): string[] {
  const out: (string | undefined)[] = channels.map((c) => {
    const own = c.color ? parseColour(c.color) : undefined;
    return own ? formatColour(own) : DYE_COLOURS.find(([re]) => re.test(c.name))?.[1];
  });
  const taken = new Set(out.filter((c): c is string => c !== undefined));
  let next = 0;
  return out.map((c, i) => {
    if (c) return c;
    const free = PALETTE.slice(next).find((p) => !taken.has(p));
    const pick = free ?? PALETTE[i % PALETTE.length]!;
    taken.add(pick);
    next = PALETTE.indexOf(pick) + 1;
    return pick;
  });
}

/** The range a sample type can hold (float: 0…1, the usual normalised range). */
export function sampleRange(bitsPerSample: number, sampleFormat: SampleFormat = 'uint'): { min: number; max: number } {
  if (sampleFormat === 'float') return { min: 0, max: 1 };
  if (sampleFormat === 'int') return { min: -(2 ** (bitsPerSample - 1)), max: 2 ** (bitsPerSample - 1) - 1 };
  return { min: 0, max: 2 ** bitsPerSample - 1 };
}

/** Every channel visible in its colour over its type's full range. */
export function defaultDisplay(channels: readonly ChannelInfo[]): ChannelDisplay[] {
  const colours = defaultColours(channels);
  return channels.map((c, i) => ({ visible: true, color: colours[i]!, ...sampleRange(c.bitsPerSample, c.sampleFormat ?? 'uint') }));
}

/** Per-channel lookup tables, built once per display setting and reused for every tile. */
interface Lut {
  /** Added to a sample to index the table (−min of the type). */
  offset: number;
  size: number;
  /** size × 3 contributions (r, g, b), 0…255, unrounded. */
  rgb: Float32Array;
}

const lutCache = new Map<string, Lut>();
const LUT_CACHE_LIMIT = 32;

function lutFor(bits: number, format: SampleFormat, d: ChannelDisplay, rgb: [number, number, number]): Lut | undefined {
  if (format === 'float' || bits > 16) return undefined;
  const key = `${bits}/${format}/${d.min}/${d.max}/${rgb.join(',')}`;
  const hit = lutCache.get(key);
  if (hit) return hit;
  const range = sampleRange(bits, format);
  const size = range.max - range.min + 1;
  const table = new Float32Array(size * 3);
  for (let i = 0; i < size; i++) {
    const t = level(i + range.min, d.min, d.max);
    table[i * 3] = t * rgb[0];
    table[i * 3 + 1] = t * rgb[1];
    table[i * 3 + 2] = t * rgb[2];
  }
  const lut = { offset: -range.min, size, rgb: table };
  if (lutCache.size >= LUT_CACHE_LIMIT) lutCache.delete(lutCache.keys().next().value!);
  lutCache.set(key, lut);
  return lut;
}

/** A sample's brightness through the window, 0…1. */
export function level(v: number, min: number, max: number): number {
  if (!(max > min)) return v >= max ? 1 : 0;
  const t = (v - min) / (max - min);
  return t <= 0 ? 0 : t >= 1 ? 1 : t;
}

/**
 * Composite the visible channels of one tile into `out` (RGBA, width × height × 4,
 * opaque). `scratch` (width × height × 3 floats) may be passed to avoid an allocation.
 */
export function composite(tile: TilePlanes, display: readonly ChannelDisplay[], out: Uint8ClampedArray | Uint8Array, scratch?: Float32Array): void {
  const n = tile.width * tile.height;
  if (out.length < n * 4) throw new RangeError(`The output holds ${out.length / 4} pixels; the tile has ${n}.`);
  const acc = scratch && scratch.length >= n * 3 ? scratch.subarray(0, n * 3) : new Float32Array(n * 3);
  acc.fill(0);
  tile.planes.forEach((plane, c) => {
    const d = display[c];
    if (!plane || !d || !d.visible) return;
    const rgb = parseColour(d.color);
    if (!rgb || (rgb[0] === 0 && rgb[1] === 0 && rgb[2] === 0)) return;
    if (plane.width !== tile.width || plane.height !== tile.height) throw new RangeError(`Channel ${c} is ${plane.width}×${plane.height}; the tile is ${tile.width}×${tile.height}.`);
    const data = plane.data;
    const lut = lutFor(plane.bitsPerSample, plane.sampleFormat, d, rgb);
    if (lut) {
      const t = lut.rgb;
      const off = lut.offset;
      const top = lut.size - 1;
      for (let i = 0, j = 0; i < n; i++, j += 3) {
        let k = data[i]! + off;
        // Samples outside the declared bit depth (12-bit data in 16-bit words never is; a wrong tag might be).
        if (k > top) k = top;
        else if (k < 0) k = 0;
        k *= 3;
        acc[j] = acc[j]! + t[k]!;
        acc[j + 1] = acc[j + 1]! + t[k + 1]!;
        acc[j + 2] = acc[j + 2]! + t[k + 2]!;
      }
    } else {
      const [r, g, b] = rgb;
      for (let i = 0, j = 0; i < n; i++, j += 3) {
        const v = level(data[i]!, d.min, d.max);
        acc[j] = acc[j]! + v * r;
        acc[j + 1] = acc[j + 1]! + v * g;
        acc[j + 2] = acc[j + 2]! + v * b;
      }
    }
  });
  for (let i = 0, j = 0, o = 0; i < n; i++, j += 3, o += 4) {
    out[o] = Math.min(255, Math.floor(acc[j]! + 0.5));
    out[o + 1] = Math.min(255, Math.floor(acc[j + 1]! + 0.5));
    out[o + 2] = Math.min(255, Math.floor(acc[j + 2]! + 0.5));
    out[o + 3] = 255;
  }
}

/**
 * A contrast window from the samples seen: the `low` and `high` quantiles of the valid
 * pixels of the given planes (all of one channel), like ImageJ's "Auto" with a little
 * saturation on both ends. Undefined when there are no samples.
 */
export function autoWindow(planes: readonly { plane: ChannelPlane; validWidth: number; validHeight: number }[], low = 0.001, high = 0.999): { min: number; max: number } | undefined {
  const first = planes[0]?.plane;
  if (!first) return undefined;
  const integer = first.sampleFormat !== 'float' && first.bitsPerSample <= 16;
  if (integer) {
    const range = sampleRange(first.bitsPerSample, first.sampleFormat);
    const counts = new Float64Array(range.max - range.min + 1);
    let total = 0;
    for (const { plane, validWidth, validHeight } of planes) {
      for (let y = 0; y < validHeight; y++) {
        const row = y * plane.width;
        for (let x = 0; x < validWidth; x++) {
          const k = plane.data[row + x]! - range.min;
          if (k >= 0 && k < counts.length) {
            counts[k]!++;
            total++;
          }
        }
      }
    }
    if (total === 0) return undefined;
    const lo = quantileIndex(counts, total * low);
    const hi = quantileIndex(counts, total * high);
    return widen(lo + range.min, hi + range.min, 1);
  }
  const values: number[] = [];
  for (const { plane, validWidth, validHeight } of planes) {
    // Every pixel would be millions of numbers to sort; a regular sample is enough for a window.
    const step = Math.max(1, Math.floor(Math.sqrt((validWidth * validHeight) / 65536)));
    for (let y = 0; y < validHeight; y += step) for (let x = 0; x < validWidth; x += step) {
      const v = plane.data[y * plane.width + x]!;
      if (Number.isFinite(v)) values.push(v);
    }
  }
  if (values.length === 0) return undefined;
  values.sort((a, b) => a - b);
  const at = (q: number): number => values[Math.min(values.length - 1, Math.max(0, Math.floor(q * (values.length - 1))))]!;
  return widen(at(low), at(high), first.sampleFormat === 'float' ? 0 : 1);
}

/** The first bin where the running count passes `target`. */
function quantileIndex(counts: Float64Array, target: number): number {
  let run = 0;
  for (let i = 0; i < counts.length; i++) {
    run += counts[i]!;
    if (run > target) return i;
  }
  return counts.length - 1;
}

/** A flat channel (all one value) still gets a window that shows it. */
function widen(min: number, max: number, step: number): { min: number; max: number } {
  if (max > min) return { min, max };
  return step > 0 ? { min: min - step, max: min + step } : { min: min - 1e-6, max: max + 1e-6 };
}

/** What the tile route says about a raw plane (its `x-tile-*` headers). */
export interface RawPlaneHeader {
  width: number;
  height: number;
  bitsPerSample: number;
  samplesPerPixel: number;
  sampleFormat: SampleFormat;
}

export function parseRawHeader(get: (name: string) => string | null): RawPlaneHeader {
  const num = (name: string): number => {
    const v = Number(get(name));
    if (!Number.isInteger(v) || v <= 0) throw new Error(`The tile answer has no valid ${name} header.`);
    return v;
  };
  const sampleFormat = get('x-tile-sample-format');
  if (sampleFormat !== 'uint' && sampleFormat !== 'int' && sampleFormat !== 'float') throw new Error(`The tile answer has an unknown sample format "${sampleFormat}".`);
  const order = get('x-tile-byte-order');
  if (order !== null && order !== 'little-endian') throw new Error(`The tile answer has an unknown byte order "${order}".`);
  return { width: num('x-tile-width'), height: num('x-tile-height'), bitsPerSample: num('x-tile-bits-per-sample'), samplesPerPixel: num('x-tile-samples-per-pixel'), sampleFormat };
}

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/**
 * The samples of a raw plane answer (little-endian) as a typed array. With more than one
 * sample per pixel the first is the channel's (a plane is one channel).
 */
export function planeFromRaw(bytes: ArrayBuffer, h: RawPlaneHeader): ChannelPlane {
  const n = h.width * h.height;
  const bytesPer = h.bitsPerSample / 8;
  if (h.sampleFormat === 'float' ? bytesPer !== 4 && bytesPer !== 8 : bytesPer !== 1 && bytesPer !== 2 && bytesPer !== 4) throw new Error(`${h.bitsPerSample}-bit ${h.sampleFormat} samples are not supported.`);
  const expected = n * h.samplesPerPixel * bytesPer;
  if (bytes.byteLength < expected) throw new Error(`The tile answer has ${bytes.byteLength} bytes; ${h.width}×${h.height} samples need ${expected}.`);
  let all: Samples;
  if (LITTLE_ENDIAN) {
    // A copy (slice): the plane outlives the response, and a copy is aligned whatever the source.
    all = typedArray(h, bytes.slice(0, expected));
  } else {
    const view = new DataView(bytes);
    all = typedArray(h, new ArrayBuffer(expected));
    for (let i = 0; i < all.length; i++) all[i] = readSample(view, i * bytesPer, h);
  }
  if (h.samplesPerPixel === 1) return { width: h.width, height: h.height, bitsPerSample: h.bitsPerSample, sampleFormat: h.sampleFormat, data: all };
  const one = typedArray(h, new ArrayBuffer(n * bytesPer));
  for (let i = 0; i < n; i++) one[i] = all[i * h.samplesPerPixel]!;
  return { width: h.width, height: h.height, bitsPerSample: h.bitsPerSample, sampleFormat: h.sampleFormat, data: one };
}

function typedArray(h: RawPlaneHeader, buffer: ArrayBuffer): Samples {
  if (h.sampleFormat === 'float') return h.bitsPerSample === 64 ? new Float64Array(buffer) : new Float32Array(buffer);
  if (h.bitsPerSample === 8) return h.sampleFormat === 'int' ? new Int8Array(buffer) : new Uint8Array(buffer);
  if (h.bitsPerSample === 16) return h.sampleFormat === 'int' ? new Int16Array(buffer) : new Uint16Array(buffer);
  return h.sampleFormat === 'int' ? new Int32Array(buffer) : new Uint32Array(buffer);
}

function readSample(view: DataView, at: number, h: RawPlaneHeader): number {
  if (h.sampleFormat === 'float') return h.bitsPerSample === 64 ? view.getFloat64(at, true) : view.getFloat32(at, true);
  if (h.bitsPerSample === 8) return h.sampleFormat === 'int' ? view.getInt8(at) : view.getUint8(at);
  if (h.bitsPerSample === 16) return h.sampleFormat === 'int' ? view.getInt16(at, true) : view.getUint16(at, true);
  return h.sampleFormat === 'int' ? view.getInt32(at, true) : view.getUint32(at, true);
}

/** An 8-bit plane from decoded RGBA pixels (a channel stored as a greyscale JPEG/PNG): the red sample. */
export function planeFromRgba(rgba: Uint8ClampedArray | Uint8Array, width: number, height: number): ChannelPlane {
  const data = new Uint8Array(width * height);
  for (let i = 0; i < data.length; i++) data[i] = rgba[i * 4]!;
  return { width, height, bitsPerSample: 8, sampleFormat: 'uint', data };
}
