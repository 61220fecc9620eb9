// Builds the sandboxed UI into dist/renderer. The output has no inline scripts or styles,
// so it runs under the strict CSP (script-src 'self'; style-src 'self') of both hosts.
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';
import react from '@vitejs/plugin-react';

const root = fileURLToPath(new URL('.', import.meta.url));

export default defineConfig({
  root,
  base: './',
  plugins: [react()],
  build: {
    outDir: fileURLToPath(new URL('../dist/renderer', import.meta.url)),
    emptyOutDir: true,
    // No modulepreload polyfill: it is not needed in Chromium and would be extra code.
    modulePreload: { polyfill: false },
    assetsInlineLimit: 0,
    sourcemap: true,
    target: 'chrome120',
  },
});
