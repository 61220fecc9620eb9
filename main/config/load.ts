/**
 * Loading and merging the settings layers. Policy locations per OS are where IT's
 * deployment tools put machine-wide files; a policy file is optional, but when present
 * and malformed the app refuses to start rather than silently running unmanaged.
 */
import { readFileSync, existsSync } from 'node:fs';
import { homedir, platform } from 'node:os';
import { join } from 'node:path';
import { DEFAULTS, insecureEndpointProblems, SCHEMA, type Settings } from './schema.js';
import { configErrors } from './errors.js';

export type Layer = 'default' | 'user' | 'file' | 'policy';

export interface LoadedSettings {
  settings: Settings;
  /** Dotted keys fixed by IT policy: shown read-only, writes refused. */
  locked: Set<string>;
  /** Which layer set each key that is not a default. */
  origin: Record<string, Layer>;
  /** The files that were read, for `whoami`/about screens and support. */
  sources: { layer: Layer; path: string }[];
}

export interface LoadOptions {
  /** `--config FILE`, e.g. the file `npm run stack` writes. */
  configFile?: string;
  userFile?: string;
  policyFile?: string;
  /** Read no user/policy files from the machine (tests). */
  isolated?: boolean;
}

export function defaultPaths(): { data: string; cache: string; policy: string } {
  const home = homedir();
  switch (platform()) {
    case 'win32': {
      const appData = process.env.APPDATA ?? join(home, 'AppData', 'Roaming');
      const local = process.env.LOCALAPPDATA ?? join(home, 'AppData', 'Local');
      const programData = process.env.ProgramData ?? 'C:\\ProgramData';
      return { data: join(appData, 'SlideWorkstation'), cache: join(local, 'SlideWorkstation', 'Cache'), policy: join(programData, 'SlideWorkstation', 'policy.json') };
    }
    case 'darwin':
      return {
        data: join(home, 'Library', 'Application Support', 'SlideWorkstation'),
        cache: join(home, 'Library', 'Caches', 'SlideWorkstation'),
        policy: '/Library/Application Support/SlideWorkstation/policy.json',
      };
    default:
      return {
        data: join(process.env.XDG_CONFIG_HOME ?? join(home, '.config'), 'slide-workstation'),
        cache: join(process.env.XDG_CACHE_HOME ?? join(home, '.cache'), 'slide-workstation'),
        policy: '/etc/slide-workstation/policy.json',
      };
  }
}

function readJson(path: string, layer: Layer): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw configErrors.make('CONFIG_UNREADABLE', `The ${layer} settings file ${path} cannot be read.`, { cause: err });
  }
  try {
    const value: unknown = JSON.parse(text);
    if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new Error('not an object');
    return value as Record<string, unknown>;
  } catch (err) {
    throw configErrors.make('CONFIG_INVALID', `The ${layer} settings file ${path} is not a JSON object: ${(err as Error).message}.`, {
      cause: err,
      hint: 'Fix the file or remove it; the app will not guess what was meant.',
    });
  }
}

/** Flatten to dotted leaf keys, stopping at the schema's leaves (arrays and listed objects stay whole). */
export function flatten(obj: Record<string, unknown>, prefix = ''): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(obj)) {
    const key = prefix ? `${prefix}.${k}` : k;
    if (key in SCHEMA || typeof v !== 'object' || v === null || Array.isArray(v)) out[key] = v;
    else Object.assign(out, flatten(v as Record<string, unknown>, key));
  }
  return out;
}

export function validateLayer(values: Record<string, unknown>, source: string): void {
  const problems: string[] = [];
  for (const [key, value] of Object.entries(values)) {
    const check = SCHEMA[key];
    if (!check) {
      problems.push(`"${key}" is not a setting`);
      continue;
    }
    const problem = check(value, key);
    if (problem) problems.push(`"${key}" ${problem}`);
  }
  if (problems.length) {
    throw configErrors.make('CONFIG_INVALID', `Settings in ${source} are not valid: ${problems.join('; ')}.`, {
      details: { source, problems },
      hint: 'Correct these keys; see docs/configuration.md for every setting.',
    });
  }
}

function setPath(target: Record<string, unknown>, dotted: string, value: unknown): void {
  const parts = dotted.split('.');
  let node = target;
  for (const part of parts.slice(0, -1)) {
    node[part] ??= {};
    node = node[part] as Record<string, unknown>;
  }
  node[parts[parts.length - 1]!] = structuredClone(value);
}

export function loadSettings(options: LoadOptions = {}): LoadedSettings {
  const paths = defaultPaths();
  const layers: { layer: Layer; path: string }[] = [];
  if (!options.isolated) {
    const user = options.userFile ?? join(paths.data, 'settings.json');
    if (existsSync(user)) layers.push({ layer: 'user', path: user });
  } else if (options.userFile && existsSync(options.userFile)) {
    layers.push({ layer: 'user', path: options.userFile });
  }
  if (options.configFile) layers.push({ layer: 'file', path: options.configFile });
  const policy = options.policyFile ?? (options.isolated ? undefined : process.env.SLIDE_WORKSTATION_POLICY ?? paths.policy);
  if (policy && existsSync(policy)) layers.push({ layer: 'policy', path: policy });

  const settings = structuredClone(DEFAULTS) as unknown as Record<string, unknown>;
  const origin: Record<string, Layer> = {};
  const locked = new Set<string>();
  for (const { layer, path } of layers) {
    const values = flatten(readJson(path, layer));
    validateLayer(values, path);
    for (const [key, value] of Object.entries(values)) {
      setPath(settings, key, value);
      origin[key] = layer;
      if (layer === 'policy') locked.add(key);
    }
  }
  const result = settings as unknown as Settings;
  const insecure = insecureEndpointProblems(result);
  if (insecure.length) {
    throw configErrors.make('CONFIG_INSECURE_ENDPOINT', `Settings name a storage or archive address without encryption: ${insecure.join('; ')}.`, {
      details: { problems: insecure, sources: layers.map((l) => l.path) },
    });
  }
  result.paths.data ||= paths.data;
  result.paths.cache ||= paths.cache;
  return { settings: result, locked, origin, sources: layers };
}

/** Whether the app has a storage/identity environment at all (else the demo environment starts). */
export function isConfigured(settings: Settings): boolean {
  return settings.auth.issuer !== '';
}
