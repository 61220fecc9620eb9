/**
 * Writing one key of the user's own settings layer (`<paths.data>/settings.json`, the
 * file main/config/load.ts reads below a config file and IT policy). Read-modify-write of
 * the whole file, validated against the schema before it replaces the old one
 * atomically, so a crash mid-write never leaves a file the next start would refuse.
 *
 * Error codes: SETTINGS_WRITE_FAILED; CONFIG_INVALID / CONFIG_UNREADABLE from the
 * existing file pass through (the app will not overwrite a file it cannot read).
 */
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { flatten, validateLayer } from '../config/index.js';
import { appErrors } from './errors.js';
import { configErrors } from '../config/errors.js';

export const USER_SETTINGS_FILE = 'settings.json';

export function userSettingsPath(dataDir: string): string {
  return join(dataDir, USER_SETTINGS_FILE);
}

export function saveUserSetting(dataDir: string, dottedKey: string, value: unknown): void {
  const path = userSettingsPath(dataDir);
  let current: Record<string, unknown> = {};
  if (existsSync(path)) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(readFileSync(path, 'utf8'));
    } catch (err) {
      throw configErrors.make('CONFIG_INVALID', `Your settings file ${path} cannot be read, so the change was not saved.`, {
        cause: err,
        hint: 'Fix or remove the file, then make the change again.',
      });
    }
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
      throw configErrors.make('CONFIG_INVALID', `Your settings file ${path} is not a JSON object, so the change was not saved.`, { hint: 'Fix or remove the file.' });
    }
    current = parsed as Record<string, unknown>;
  }
  const parts = dottedKey.split('.');
  let node = current;
  for (const part of parts.slice(0, -1)) {
    const next = node[part];
    const child: Record<string, unknown> = typeof next === 'object' && next !== null && !Array.isArray(next) ? (next as Record<string, unknown>) : {};
    node[part] = child;
    node = child;
  }
  node[parts[parts.length - 1]!] = value;
  validateLayer(flatten(current), path);
  try {
    mkdirSync(dirname(path), { recursive: true });
    const tmp = `${path}.${process.pid}.tmp`;
    writeFileSync(tmp, `${JSON.stringify(current, null, 2)}\n`, { mode: 0o600 });
    renameSync(tmp, path);
  } catch (err) {
    throw appErrors.make('SETTINGS_WRITE_FAILED', `The setting could not be saved to ${path}; it applies until the app is closed.`, {
      cause: err,
      hint: 'Check that the folder is writable.',
    });
  }
}
