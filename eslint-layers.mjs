// The layers of main/: per area, the areas it may import. This table is the single source
// of the rule (eslint.config.js turns it into import-x/no-restricted-paths zones) and of the
// table in docs/architecture.md; test/unit/common/layers.test.ts checks that it has no cycle,
// that a planted back edge fails the lint, and that the tree has none.
// Adding an edge is a design decision: add it here, in the docs table, and say why in a
// decision record. Never add an edge that closes a cycle (the test refuses it).
// See docs/decisions/0902-layers-lint.md.

/** @type {Record<string, readonly string[]>} area → areas it may import (itself always allowed). */
export const LAYERS = {
  // Shared by every area: error vocabulary, logging, fetch type, network-error test, the
  // API's data types. Imports nothing from main/.
  common: [],
  config: ['common'],
  net: ['common', 'config'],
  auth: ['common', 'config', 'net'],
  credentials: ['common', 'config', 'net', 'auth'],
  // Bytes from somewhere (files, S3, DICOMweb); knows nothing of slide formats.
  sources: ['common', 'config', 'net', 'auth', 'credentials'],
  // Slide formats, decoded from sources' range readers.
  formats: ['common', 'config', 'sources'],
  cache: ['common', 'config', 'formats'],
  tiles: ['common', 'config', 'sources', 'formats', 'cache'],
  annotations: ['common', 'config'],
  // The API: contract, handlers, tile route. The contract re-exports common's data types
  // for the renderer.
  api: ['common', 'config', 'auth', 'formats', 'tiles', 'cache', 'annotations'],
  // The composition root and the app's services.
  app: ['common', 'config', 'net', 'auth', 'credentials', 'sources', 'formats', 'cache', 'tiles', 'annotations', 'api'],
  cli: ['common', 'config', 'net', 'auth', 'credentials', 'sources', 'formats', 'cache', 'tiles', 'annotations', 'api', 'app'],
  // The Electron shell: the only area that may use Electron.
  electron: ['common', 'config', 'net', 'auth', 'credentials', 'sources', 'formats', 'cache', 'tiles', 'annotations', 'api', 'app', 'cli'],
};

export const AREAS = Object.keys(LAYERS);

/** import-x/no-restricted-paths zones: for each area, every other area it may not import. */
export function layerZones(root = '.') {
  return AREAS.map((area) => {
    const allowed = new Set([area, ...LAYERS[area]]);
    const from = AREAS.filter((a) => !allowed.has(a)).map((a) => `${root}/main/${a}`);
    return {
      target: `${root}/main/${area}`,
      from,
      message: `Layer rule: main/${area} may import only ${[...LAYERS[area]].map((a) => `main/${a}`).join(', ') || 'nothing from main/'} (eslint-layers.mjs, docs/architecture.md). Move the shared code down instead of adding a back edge.`,
    };
  }).filter((z) => z.from.length > 0);
}

/** The first cycle in the table, or undefined: the table itself must be a DAG. */
export function findCycle() {
  const state = new Map();
  const path = [];
  const visit = (a) => {
    if (state.get(a) === 'done') return undefined;
    if (state.get(a) === 'open') return [...path.slice(path.indexOf(a)), a];
    state.set(a, 'open');
    path.push(a);
    for (const b of LAYERS[a] ?? []) {
      const c = visit(b);
      if (c) return c;
    }
    path.pop();
    state.set(a, 'done');
    return undefined;
  };
  for (const a of AREAS) {
    const c = visit(a);
    if (c) return c;
  }
  return undefined;
}
