/** The project's class list: QuPath's defaults until the user edits it. */
import type { AnnotationClass } from '../common/api-types.js';
import { annotationErrors } from './errors.js';

/** QuPath's default classes and colours (PathClassFactory), with number-key shortcuts. */
export const DEFAULT_CLASSES: readonly AnnotationClass[] = [
  { name: 'Tumor', color: [200, 0, 0], shortcut: '1' },
  { name: 'Stroma', color: [150, 200, 150], shortcut: '2' },
  { name: 'Immune cells', color: [160, 90, 160], shortcut: '3' },
  { name: 'Necrosis', color: [50, 50, 50], shortcut: '4' },
  { name: 'Other', color: [255, 200, 0], shortcut: '5' },
  { name: 'Region*', color: [0, 0, 180], shortcut: '6' },
  { name: 'Ignore*', color: [180, 180, 180], shortcut: '7' },
];

/** Checks a class list from the renderer: unique names, colours 0–255, unique single-key shortcuts. */
export function validateClasses(v: unknown): AnnotationClass[] {
  if (!Array.isArray(v) || v.length > 1000) throw bad('the class list must be a list of at most 1000 classes');
  const names = new Set<string>();
  const keys = new Set<string>();
  return v.map((c, i) => {
    if (typeof c !== 'object' || c === null) throw bad(`class ${i} is not an object`);
    const r = c as Record<string, unknown>;
    if (typeof r.name !== 'string' || r.name.trim() === '' || r.name.length > 200) throw bad(`class ${i} needs a name`);
    if (names.has(r.name)) throw bad(`class "${r.name}" is listed twice`);
    names.add(r.name);
    const color = validateColor(r.color, `class "${r.name}"`);
    const out: AnnotationClass = { name: r.name, color };
    if (r.shortcut !== undefined && r.shortcut !== null) {
      if (typeof r.shortcut !== 'string' || !/^[1-9a-z]$/.test(r.shortcut)) throw bad(`the shortcut of "${r.name}" must be one key 1–9 or a–z`);
      if (keys.has(r.shortcut)) throw bad(`the shortcut "${r.shortcut}" is used twice`);
      keys.add(r.shortcut);
      out.shortcut = r.shortcut;
    }
    return out;
  });
}

export function validateColor(v: unknown, what: string): [number, number, number] {
  if (!Array.isArray(v) || v.length !== 3 || !v.every((x) => typeof x === 'number' && Number.isInteger(x) && x >= 0 && x <= 255)) {
    throw bad(`the colour of ${what} must be [r, g, b] with whole numbers 0–255`);
  }
  return [v[0] as number, v[1] as number, v[2] as number];
}

function bad(why: string): Error {
  return annotationErrors.make('ANNOTATIONS_BAD_INPUT', { message: `The class list cannot be saved: ${why}.` });
}
