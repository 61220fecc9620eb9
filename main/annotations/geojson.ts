/**
 * QuPath GeoJSON both ways. Export writes what QuPath reads (FeatureCollection, `id`,
 * `properties.objectType`, `classification {name, color}`, `isLocked`, `name`,
 * `measurements` as an object) plus this app's own fields under `properties.wsi`, which
 * QuPath ignores and keeps. Import takes the variants seen in the wild and checks every
 * feature before anything is stored, so a broken file imports nothing.
 */
import { randomUUID } from 'node:crypto';
import type { AnnotationAuthor, AnnotationObject } from '../common/api-types.js';
import { annotationErrors } from './errors.js';
import { checkGeometry } from './geometry.js';

/** Properties this module reads or writes itself; everything else is kept in `extra`. */
const KNOWN = new Set(['objectType', 'classification', 'isLocked', 'name', 'description', 'measurements', 'wsi', 'colorRGB']);

export function toFeature(o: AnnotationObject): Record<string, unknown> {
  const wsi: Record<string, unknown> = { author: o.author, created: o.created, modified: o.modified };
  if (o.shape) wsi.shape = o.shape;
  if (o.parentId) wsi.parentId = o.parentId;
  if (o.conflictOf) wsi.conflictOf = o.conflictOf;
  const extra = o.extra ?? {};
  // A QuPath "cell" is stored as a detection; the original word goes back out.
  const objectType = extra.objectType === 'cell' ? 'cell' : o.objectType;
  const properties: Record<string, unknown> = { objectType };
  if (o.classification) properties.classification = { name: o.classification.name, color: [...o.classification.color] };
  properties.isLocked = o.locked;
  if (o.name !== undefined) properties.name = o.name;
  if (o.description !== undefined) properties.description = o.description;
  properties.measurements = sortedRecord(o.measurements);
  for (const k of Object.keys(extra).sort()) if (!KNOWN.has(k)) properties[k] = extra[k];
  properties.wsi = wsi;
  return { type: 'Feature', id: o.id, geometry: o.geometry, properties };
}

export function toFeatureCollection(objects: AnnotationObject[]): string {
  const sorted = [...objects].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  return JSON.stringify({ type: 'FeatureCollection', features: sorted.map(toFeature) }, null, 2) + '\n';
}

function sortedRecord(r: Record<string, number>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const k of Object.keys(r).sort()) out[k] = r[k]!;
  return out;
}

/** The features of a parsed document (a FeatureCollection, a bare array, or one Feature). */
export function featuresOf(doc: unknown): unknown[] {
  if (Array.isArray(doc)) return doc;
  if (typeof doc === 'object' && doc !== null) {
    const d = doc as { type?: unknown; features?: unknown };
    if (d.type === 'FeatureCollection' && Array.isArray(d.features)) return d.features;
    if (d.type === 'Feature') return [doc];
  }
  throw invalid('the file is not a GeoJSON FeatureCollection or a list of features');
}

/** One feature → an object, or an error naming the feature index and the problem. */
export function fromFeature(f: unknown, index: number, author: AnnotationAuthor, now: number): AnnotationObject {
  const fail = (why: string): Error => invalid(`feature ${index}: ${why}`, index);
  if (typeof f !== 'object' || f === null || Array.isArray(f)) throw fail('is not an object');
  const feat = f as { type?: unknown; id?: unknown; geometry?: unknown; properties?: unknown };
  if (feat.type !== 'Feature') throw fail(`"type" is ${JSON.stringify(feat.type)}, not "Feature"`);
  const geometry = checkGeometry(feat.geometry);
  if (typeof geometry === 'string') throw fail(geometry);
  const props = feat.properties ?? {};
  if (typeof props !== 'object' || props === null || Array.isArray(props)) throw fail('"properties" is not an object');
  const p = props as Record<string, unknown>;

  let objectType: 'annotation' | 'detection' = 'annotation';
  const extra: Record<string, unknown> = {};
  const t = p.objectType ?? p.object_type;
  if (t === 'detection' || t === 'cell' || t === 'tile') objectType = 'detection';
  else if (t !== undefined && t !== 'annotation') throw fail(`objectType ${JSON.stringify(t)} is not annotation, detection or cell`);
  if (t === 'cell' || t === 'tile') extra.objectType = t;

  const classification = readClassification(p, fail);
  const measurements = readMeasurements(p.measurements, fail);
  for (const [k, v] of Object.entries(p)) if (!KNOWN.has(k)) extra[k] = v;

  const wsi = typeof p.wsi === 'object' && p.wsi !== null ? (p.wsi as Record<string, unknown>) : {};
  let id: string;
  if (typeof feat.id === 'string' && feat.id !== '') id = feat.id;
  else if (typeof feat.id === 'number') id = String(feat.id);
  else if (feat.id === undefined || feat.id === null) id = randomUUID();
  else throw fail('"id" is neither a string nor a number');
  if (id.length > 200) throw fail('"id" is longer than 200 characters');

  const obj: AnnotationObject = {
    id,
    objectType,
    geometry,
    locked: p.isLocked === true,
    measurements,
    author: isAuthor(wsi.author) ? wsi.author : author,
    created: typeof wsi.created === 'number' ? wsi.created : now,
    modified: typeof wsi.modified === 'number' ? wsi.modified : now,
  };
  if (classification) obj.classification = classification;
  if (typeof p.name === 'string') obj.name = p.name;
  if (typeof p.description === 'string') obj.description = p.description;
  if (wsi.shape === 'rectangle' || wsi.shape === 'ellipse') obj.shape = wsi.shape;
  if (typeof wsi.parentId === 'string') obj.parentId = wsi.parentId;
  if (typeof wsi.conflictOf === 'string') obj.conflictOf = wsi.conflictOf;
  if (Object.keys(extra).length > 0) obj.extra = extra;
  return obj;
}

function readClassification(p: Record<string, unknown>, fail: (why: string) => Error): AnnotationObject['classification'] {
  const c = p.classification;
  if (c === undefined || c === null) return undefined;
  if (typeof c !== 'object' || Array.isArray(c)) throw fail('"classification" is not an object');
  const r = c as { name?: unknown; color?: unknown; colorRGB?: unknown };
  if (typeof r.name !== 'string' || r.name === '') throw fail('"classification" has no name');
  let color: [number, number, number] = [128, 128, 128];
  if (Array.isArray(r.color)) {
    if (r.color.length !== 3 || !r.color.every((x) => typeof x === 'number' && Number.isInteger(x) && x >= 0 && x <= 255)) {
      throw fail('"classification.color" is not [r, g, b] with whole numbers 0–255');
    }
    color = [r.color[0], r.color[1], r.color[2]] as [number, number, number];
  } else {
    // Older QuPath: a packed (A)RGB integer, often negative because the alpha byte is set.
    const packed = r.colorRGB ?? p.colorRGB;
    if (packed !== undefined) {
      if (typeof packed !== 'number' || !Number.isInteger(packed)) throw fail('"colorRGB" is not a whole number');
      const v = packed >>> 0;
      color = [(v >>> 16) & 255, (v >>> 8) & 255, v & 255];
    }
  }
  return { name: r.name, color };
}

function readMeasurements(m: unknown, fail: (why: string) => Error): Record<string, number> {
  const out: Record<string, number> = {};
  if (m === undefined || m === null) return out;
  // Older QuPath: a list of {name, value}.
  if (Array.isArray(m)) {
    m.forEach((e, i) => {
      const r = e as { name?: unknown; value?: unknown } | null;
      if (typeof r !== 'object' || r === null || typeof r.name !== 'string') throw fail(`measurement ${i} has no name`);
      if (typeof r.value === 'number') out[r.name] = r.value;
      else if (r.value === null || r.value === 'NaN') out[r.name] = NaN;
      else throw fail(`measurement "${r.name}" is not a number`);
    });
    return out;
  }
  if (typeof m !== 'object') throw fail('"measurements" is neither an object nor a list');
  for (const [k, v] of Object.entries(m as Record<string, unknown>)) {
    if (typeof v === 'number') out[k] = v;
    // QuPath writes NaN as the string "NaN" or null.
    else if (v === null || v === 'NaN') out[k] = NaN;
    else throw fail(`measurement "${k}" is not a number`);
  }
  return out;
}

function isAuthor(v: unknown): v is AnnotationAuthor {
  return typeof v === 'object' && v !== null && typeof (v as AnnotationAuthor).sub === 'string' && typeof (v as AnnotationAuthor).name === 'string';
}

function invalid(message: string, index?: number): Error {
  return annotationErrors.make('ANNOTATIONS_GEOJSON_INVALID', {
    message: `The GeoJSON file cannot be imported: ${message}.`,
    ...(index === undefined ? {} : { details: { featureIndex: index } }),
  });
}

/** Parses a whole document; every feature is checked before the caller stores any. */
export function parseGeoJson(text: string, author: AnnotationAuthor, now = Date.now()): AnnotationObject[] {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (cause) {
    throw annotationErrors.make('ANNOTATIONS_GEOJSON_INVALID', { message: `The GeoJSON file cannot be imported: it is not valid JSON (${(cause as Error).message}).`, cause });
  }
  const seen = new Set<string>();
  return featuresOf(doc).map((f, i) => {
    const o = fromFeature(f, i, author, now);
    if (seen.has(o.id)) throw invalid(`feature ${i}: the id "${o.id}" is used by an earlier feature`, i);
    seen.add(o.id);
    return o;
  });
}
