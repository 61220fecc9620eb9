#!/usr/bin/env node
// Entry point of the `slide-workstation` command (package.json "bin").
// Runs the compiled CLI when a build is present and not older than the sources;
// otherwise (a dev checkout) the TypeScript directly through tsx, in this process.
import { existsSync, statSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const built = `${root}dist/node/main/cli/index.js`;
const source = `${root}main/cli/index.ts`;

function useBuilt() {
  if (!existsSync(built)) return false;
  if (!existsSync(source)) return true;
  return statSync(built).mtimeMs >= statSync(source).mtimeMs;
}

let mod;
if (useBuilt()) {
  mod = await import(pathToFileURL(built).href);
} else {
  const { register } = await import('tsx/esm/api');
  register();
  mod = await import(pathToFileURL(source).href);
}
process.exitCode = await mod.runCli(process.argv.slice(2));
