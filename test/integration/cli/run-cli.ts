/**
 * The CLI as a user runs it: `bin/slide-workstation.mjs` in a child process, from a
 * working directory of its own (the bin must not depend on it), and `login --no-browser`
 * with the test playing the user who opens the printed address in a browser.
 */
import { spawn } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser } from 'playwright-core';
import { completeLogin } from '../../stack/browser-login.js';
import type { DemoUser } from '../../stack/idp.js';

/** The CLI as installed (package.json bin). */
export const BIN = join(resolve(fileURLToPath(new URL('../../..', import.meta.url))), 'bin', 'slide-workstation.mjs');

export interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface CliOptions {
  config: string;
  env?: Record<string, string>;
  /** Called with everything written to stderr so far, on every write. */
  onStderr?: (text: string) => void;
}

export function runCli(args: string[], o: CliOptions): Promise<CliRun> {
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, [BIN, ...args, '--config', o.config], { cwd: tmpdir(), env: { ...process.env, ...o.env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (b: Buffer) => (stdout += b.toString('utf8')));
    child.stderr.on('data', (b: Buffer) => {
      stderr += b.toString('utf8');
      o.onStderr?.(stderr);
    });
    child.on('error', fail);
    child.on('close', (code) => done({ code, stdout, stderr }));
  });
}

/** `login --no-browser`: the address it prints is opened in a fresh browser context and signed in as `user`. */
export async function loginNoBrowser(browser: Browser, user: DemoUser, o: Omit<CliOptions, 'onStderr'>): Promise<CliRun> {
  let signedIn: Promise<void> | undefined;
  const context = await browser.newContext();
  try {
    const page = await context.newPage();
    const run = await runCli(['login', '--no-browser'], {
      ...o,
      onStderr: (text) => {
        const url = /^(http:\/\/127\.0\.0\.1:\d+\/\S*code_challenge=\S+)\n/m.exec(text)?.[1];
        if (url && !signedIn) signedIn = completeLogin(page, url, user);
      },
    });
    await signedIn;
    return run;
  } finally {
    await context.close();
  }
}
