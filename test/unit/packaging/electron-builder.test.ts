/**
 * The installer configuration is checked the way electron-builder itself would (its own JSON
 * schema, strictly: a made-up key fails), and what the installer ships is computed from the
 * configuration and package.json: only modules loaded at run time, no sources, nothing the
 * bundle already holds. A packaged build cannot be made here (no Electron download), so
 * these are the checks that run on every commit; docs/release-checklist.md has the rest.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { Ajv } from 'ajv';
import yaml from 'js-yaml';
import { minimatch } from 'minimatch';
import { projectRoot } from '../../support/paths.js';

const root = projectRoot();
const config = yaml.load(readFileSync(join(root, 'electron-builder.yml'), 'utf8')) as Record<string, unknown>;
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
  dependencies: Record<string, string>;
  devDependencies: Record<string, string>;
  optionalDependencies?: Record<string, string>;
};

function validator(): (data: unknown) => { ok: boolean; errors: string } {
  const schema = JSON.parse(readFileSync(join(root, 'node_modules/app-builder-lib/scheme.json'), 'utf8')) as object;
  // electron-builder's schema uses a non-standard "typeof" keyword for JS-only hooks; a YAML
  // file cannot hold a function, so the keyword never matches and is declared as such.
  const ajv = new Ajv({ allErrors: true, strict: false, allowUnionTypes: true });
  ajv.addKeyword({ keyword: 'typeof', validate: () => false });
  const validate = ajv.compile(schema);
  return (data) => {
    const ok = validate(data) as boolean;
    return { ok, errors: ajv.errorsText(validate.errors) };
  };
}

test('electron-builder.yml is valid under electron-builder’s own schema', () => {
  const r = validator()(config);
  assert.ok(r.ok, r.errors);
});

test('a made-up key is refused by the same check', () => {
  const validate = validator();
  assert.equal(validate({ ...config, installerColour: 'blue' }).ok, false);
  assert.equal(validate({ ...config, deb: { depends: ['x'], dependz: ['y'] } }).ok, false);
});

test('the targets IT deploys with are built', () => {
  const targets = (os: string): string[] => {
    const t = (config[os] as { target: unknown[] }).target;
    return t.map((x) => (typeof x === 'string' ? x : (x as { target: string }).target));
  };
  assert.deepEqual(targets('win').sort(), ['msi', 'nsis']);
  assert.deepEqual(targets('mac').sort(), ['dmg', 'pkg']);
  assert.deepEqual(targets('linux').sort(), ['AppImage', 'deb', 'rpm']);
  for (const t of (config.mac as { target: { arch: string[] }[] }).target) assert.deepEqual(t.arch.sort(), ['arm64', 'x64']);
  const msi = config.msi as { perMachine: boolean; upgradeCode: string };
  assert.equal(msi.perMachine, true);
  assert.match(msi.upgradeCode, /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
  assert.equal(config.publish, null, 'no update feed is baked in; managed installs update through IT');
});

test('deb and rpm keep Electron’s libraries, xdg-open for sign-in and libsecret for the saved sign-in', () => {
  const deb = (config.deb as { depends: string[] }).depends;
  for (const d of ['libgtk-3-0', 'libnss3', 'xdg-utils', 'libsecret-1-0']) assert.ok(deb.includes(d), d);
  const rpm = (config.rpm as { depends: string[] }).depends;
  for (const d of ['gtk3', 'nss', 'xdg-utils', 'libsecret']) assert.ok(rpm.includes(d), d);
});

test('fuses: no run-as-node, no file:// privileges, asar integrity on', () => {
  const f = config.electronFuses as Record<string, boolean>;
  assert.equal(f.runAsNode, false);
  assert.equal(f.grantFileProtocolExtraPrivileges, false);
  assert.equal(f.enableEmbeddedAsarIntegrityValidation, true);
  assert.equal(f.onlyLoadAppFromAsar, true);
});

test('Electron is on a supported major (one of the newest three)', () => {
  const range = pkg.optionalDependencies?.electron ?? pkg.devDependencies.electron;
  assert.ok(range, 'electron is declared');
  const major = Number(/(\d+)\./.exec(range)?.[1]);
  // The newest major known to this test; bump both together (docs/release-checklist.md).
  const NEWEST_KNOWN = 45;
  assert.ok(major >= NEWEST_KNOWN - 2, `electron ${range} is past its support window`);
});

/** The modules the bundles leave to run time (scripts/build-electron.mjs externals + requires). */
function runtimeModules(): string[] {
  const script = readFileSync(join(root, 'scripts/build-electron.mjs'), 'utf8');
  const list = /external:\s*\[([^\]]*)\]/.exec(script)?.[1] ?? '';
  return [...list.matchAll(/'([^']+)'/g)].map((m) => m[1]!).filter((m) => m !== 'electron');
}

test('dependencies are exactly what is loaded at run time; the rest is bundled', () => {
  const deps = Object.keys(pkg.dependencies).sort();
  assert.deepEqual(deps, runtimeModules().sort(), 'package.json dependencies must equal the bundle externals');
});

function walk(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? walk(p) : [p];
  });
}

/** electron-builder's "files" negations (it matches them with minimatch too) applied to one module. */
function shipped(moduleDir: string): string[] {
  const negations = (config.files as string[]).filter((g) => g.startsWith('!node_modules/')).map((g) => g.slice(1));
  return walk(moduleDir)
    .map((f) => relative(root, f).split('\\').join('/'))
    .filter((f) => !negations.some((g) => minimatch(f, g, { dot: true })));
}

test('the shipped better-sqlite3 holds its binary and JavaScript, not its C sources', () => {
  const files = shipped(join(root, 'node_modules/better-sqlite3'));
  assert.ok(files.some((f) => f.endsWith('build/Release/better_sqlite3.node')), 'the native binary ships');
  assert.ok(files.some((f) => f.endsWith('lib/index.js')));
  const sources = files.filter((f) => /\.(c|cc|h|o|a|gyp|gypi|mk|Makefile)$|Makefile$/.test(f) || f.includes('/deps/') || f.includes('/src/'));
  assert.deepEqual(sources, []);
  assert.deepEqual(files.filter((f) => f.endsWith('.node')), ['node_modules/better-sqlite3/build/Release/better_sqlite3.node']);
});

test('resources the config names exist, and nothing unused is shipped', () => {
  for (const r of config.extraResources as { from: string }[]) assert.ok(existsSync(join(root, r.from)), r.from);
  assert.equal(existsSync(join(root, 'resources/default-settings.json')), false);
});
