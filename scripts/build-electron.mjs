#!/usr/bin/env node
// Bundles the Electron main process and the preload with esbuild into dist/electron/.
// electron is provided by the runtime. The externals are exactly package.json's
// "dependencies" (test/unit/packaging checks it): better-sqlite3 and @napi-rs/keyring are
// native modules, and the OpenJPEG codec loads its .wasm from its own folder; electron-builder
// ships them unpacked next to the bundle. Everything else is inside the bundle.
import { build } from 'esbuild';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
// --outdir DIR: build elsewhere (the shell's wiring test bundles into a temp folder).
const outIdx = process.argv.indexOf('--outdir');
const outDir = outIdx >= 0 ? process.argv[outIdx + 1] : 'dist/electron';
const common = {
  absWorkingDir: root,
  bundle: true,
  platform: 'node',
  target: 'node22',
  sourcemap: true,
  legalComments: 'none',
  external: ['electron', 'better-sqlite3', '@napi-rs/keyring', '@cornerstonejs/codec-openjpeg'],
  logLevel: 'warning',
};

await Promise.all([
  build({
    ...common,
    entryPoints: ['main/electron/main.ts'],
    outfile: `${outDir}/main.js`,
    format: 'esm',
    // Bundled CommonJS dependencies call require(); give the ES module a real one.
    banner: { js: "import { createRequire as __wsiCreateRequire } from 'node:module'; const require = __wsiCreateRequire(import.meta.url);" },
  }),
  // The tile decoder threads (main/tiles/workers.ts) load worker.js from the bundle's folder.
  build({
    ...common,
    entryPoints: ['main/tiles/worker.ts'],
    outfile: `${outDir}/worker.js`,
    format: 'esm',
    banner: { js: "import { createRequire as __wsiCreateRequire } from 'node:module'; const require = __wsiCreateRequire(import.meta.url);" },
  }),
  build({
    ...common,
    entryPoints: ['preload/index.ts'],
    // Sandboxed preloads run as CommonJS with a restricted require (electron only).
    outfile: `${outDir}/preload.cjs`,
    format: 'cjs',
  }),
]);
console.log(`built ${outDir}/main.js, ${outDir}/worker.js and ${outDir}/preload.cjs`);
