/**
 * Opening a URL in the user's default browser from plain Node (headless host and CLI).
 * The URL is passed as one argument, never through a shell, so `&` and quotes in a
 * query string cannot run anything. Resolves false when no opener could be started.
 */
import { spawn } from 'node:child_process';

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
  const cmd = systemOpenerCommand();
  if (!cmd) return Promise.resolve(false);
  return new Promise((resolve) => {
    try {
      const child = spawn(cmd[0], [...cmd[1], parsed.href], { stdio: 'ignore', detached: true });
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
