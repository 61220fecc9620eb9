/**
 * Opening a URL in the user's default browser from plain Node (headless host and CLI).
 * The URL is passed as one argument, never through a shell, so `&` and quotes in a
 * query string cannot run anything. Resolves false when no opener could be started.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

export function systemOpenerCommand(platform: NodeJS.Platform = process.platform, env: NodeJS.ProcessEnv = process.env): [string, string[]] | undefined {
  if (platform === 'darwin') return ['open', []];
  // rundll32 takes the URL verbatim; `cmd /c start` would re-parse `&` in it.
  if (platform === 'win32') return ['rundll32', ['url.dll,FileProtocolHandler']];
  if (env.DISPLAY || env.WAYLAND_DISPLAY) return ['xdg-open', []];
  return undefined;
}

export function openInSystemBrowser(url: string): Promise<boolean> {
  const parsed = new URL(url);
  if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:') return Promise.resolve(false);
  return spawnOpener(systemOpenerCommand(), parsed.href);
}

export interface LaunchHandoff {
  /** Whether an opener could be started. */
  opened: boolean;
  /** The private file the opener was given (its path is all that is on a command line). */
  file: string;
  /** Delete the file (when the link has been used, or the app stops). */
  remove(): void;
}

/**
 * Opens a headless launch link (which carries the session-granting secret) without putting
 * the secret on any process's command line: every local user can read another process's
 * arguments (/proc/PID/cmdline, `ps`), and the opener and the browser it starts keep them
 * for their lifetime. So the link goes into an HTML file readable by this user only (0600,
 * in a fresh 0700 folder), and the opener gets that file's path. The page moves the browser
 * on to the link; the host then answers with a same-site step (see http-host.ts) and the
 * link, being one-time, is spent. `remove` deletes the file as soon as the host reports the
 * link used. `command` replaces the OS opener (tests record what it was given).
 */
export async function openLaunchLink(url: string, options: { command?: [string, string[]]; dir?: string } = {}): Promise<LaunchHandoff> {
  const parsed = new URL(url);
  if (parsed.protocol !== 'http:') throw new Error('A launch link is an http://127.0.0.1 address.');
  const folder = mkdtempSync(join(options.dir ?? tmpdir(), 'wsi-launch-'));
  const file = join(folder, 'open-slide-workstation.html');
  const href = parsed.href.replace(/&/g, '&amp;').replace(/"/g, '&quot;');
  writeFileSync(file, `<!doctype html><meta charset="utf-8"><meta http-equiv="refresh" content="0;url=${href}"><title>Opening Slide Workstation…</title><a href="${href}">Open Slide Workstation</a>\n`, { mode: 0o600 });
  const opened = await spawnOpener(options.command ?? systemOpenerCommand(), pathToFileURL(file).href);
  return { opened, file, remove: () => rmSync(folder, { recursive: true, force: true }) };
}

function spawnOpener(cmd: [string, string[]] | undefined, target: string): Promise<boolean> {
  if (!cmd) return Promise.resolve(false);
  return new Promise((resolve) => {
    try {
      const child = spawn(cmd[0], [...cmd[1], target], { stdio: 'ignore', detached: true });
      child.once('error', () => resolve(false));
      child.once('spawn', () => {
        child.unref();
        resolve(true);
      });
    } catch {
      resolve(false);
    }
  });
}
