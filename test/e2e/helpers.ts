/**
 * End-to-end harness: the real stack (IdP + MinIO STS/S3), the headless host with the
 * real services, and real Chromium. The "system browser" that the app opens for sign-in
 * is a second Chromium context the test drives with completeLogin (test/stack).
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, BrowserContext, ConsoleMessage, Page } from 'playwright-core';
import { build } from 'vite';
import { startHeadless, type HeadlessApp } from '../../main/app/headless.js';
import { completeLogin, launchChromium } from '../stack/browser-login.js';
import type { DemoUser } from '../stack/idp.js';
import { startStack, type RunningStack, type StackOptions } from '../stack/stack.js';

const ROOT = join(import.meta.dirname, '..', '..');
export const SCREENSHOTS = join(ROOT, 'test-results', 'screenshots');

let rendererBuild: Promise<string> | undefined;
/**
 * Build the renderer from the current sources into a folder of this test process (dist/
 * is not in git, and test files running side by side must not empty each other's output).
 */
export function buildRenderer(): Promise<string> {
  rendererBuild ??= (async () => {
    const outDir = mkdtempSync(join(tmpdir(), 'wsi-e2e-renderer-'));
    await build({ configFile: join(ROOT, 'renderer', 'vite.config.ts'), logLevel: 'warn', build: { outDir, emptyOutDir: true, sourcemap: false } });
    process.once('exit', () => rmSync(outDir, { recursive: true, force: true }));
    return outDir;
  })();
  return rendererBuild;
}

/** URLs the app asked the system browser to open, in order, with a way to wait for the next one. */
export class SystemBrowser {
  readonly opened: string[] = [];
  #waiters: ((url: string) => void)[] = [];
  readonly open = async (url: string): Promise<void> => {
    this.opened.push(url);
    this.#waiters.shift()?.(url);
  };
  next(): Promise<string> {
    return new Promise((resolve) => this.#waiters.push(resolve));
  }
}

export interface AppUnderTest {
  app: HeadlessApp;
  system: SystemBrowser;
  dataDir: string;
  context: BrowserContext;
  page: Page;
  consoleErrors: string[];
  /** Requests that failed or were answered with 4xx/5xx, but for the expected ones below. */
  failedRequests: string[];
  /** Tile loads OpenSeadragon cancelled because the view moved on: expected, counted. */
  cancelledTiles: string[];
  close(): Promise<void>;
  /** Stop the app (as quitting it does) and start it again on the same data and cache folders. */
  restart(): Promise<AppUnderTest>;
}

/** `pickFile` plays the user in the system's "open file" dialog (the headless host has none). */
export async function startAppUnderTest(
  browser: Browser,
  configFile: string,
  options: { pickFile?: () => Promise<string | undefined>; dataDir?: string } = {},
): Promise<AppUnderTest> {
  const dataDir = options.dataDir ?? mkdtempSync(join(tmpdir(), 'wsi-e2e-data-'));
  const system = new SystemBrowser();
  const rendererDir = await buildRenderer();
  const app = await startHeadless({ configFile, isolated: true, dataDir, rendererDir, openBrowser: system.open, ...(options.pickFile ? { pickFile: options.pickFile } : {}) });
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const page = await context.newPage();
  const consoleErrors: string[] = [];
  page.on('console', (m: ConsoleMessage) => {
    if (m.type() === 'error') consoleErrors.push(m.text());
  });
  page.on('pageerror', (e) => consoleErrors.push(`pageerror: ${e.message}`));
  const failedRequests: string[] = [];
  const cancelledTiles: string[] = [];
  page.on('requestfailed', (r) => {
    const path = new URL(r.url()).pathname;
    const failure = r.failure()?.errorText ?? '';
    // OSD drops tile loads it no longer needs when the view changes, and a reload ends the event stream.
    if (failure === 'net::ERR_ABORTED' && path.startsWith('/tiles/')) cancelledTiles.push(r.url());
    else if (!(failure === 'net::ERR_ABORTED' && path === '/api/events')) failedRequests.push(`${r.url()} ${failure}`);
  });
  page.on('response', (r) => {
    if (r.status() >= 400) failedRequests.push(`${r.url()} ${r.status()}`);
  });
  await page.goto(app.launchUrl);
  return {
    app,
    system,
    dataDir,
    context,
    page,
    consoleErrors,
    failedRequests,
    cancelledTiles,
    close: async () => {
      await context.close().catch(() => undefined);
      await app.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
    restart: async () => {
      await context.close().catch(() => undefined);
      await app.close();
      return startAppUnderTest(browser, configFile, { ...options, dataDir });
    },
  };
}

/** What most end-to-end tests start with: the real stack, Chromium, and the app at its sign-in screen. */
export interface E2eWorld {
  stack: RunningStack;
  browser: Browser;
  /** Replaced by a test that restarts the app (AppUnderTest.restart). */
  t: AppUnderTest;
  stop(): Promise<void>;
}

export async function startWorld(stackOptions: StackOptions = {}, appOptions: Parameters<typeof startAppUnderTest>[2] = {}): Promise<E2eWorld> {
  const stack = await startStack(stackOptions);
  const browser = await launchChromium();
  const t = await startAppUnderTest(browser, stack.configFile, appOptions);
  await t.page.getByTestId('signin-screen').waitFor();
  const world: E2eWorld = {
    stack,
    browser,
    t,
    stop: async () => {
      await world.t.close();
      await browser.close();
      await stack.stop();
    },
  };
  return world;
}

/** Sign in as one of the stack's demo users (alice, bob, carol). */
export async function signInAs(w: E2eWorld, username: string): Promise<void> {
  const user = w.stack.users.find((u) => u.username === username);
  assert.ok(user, `the stack has a demo user ${username}`);
  await signIn(w.t, w.browser, user);
}

/** Click "Sign in", log in as `user` in a fresh system-browser context, wait for the signed-in header. */
export async function signIn(t: AppUnderTest, browser: Browser, user: DemoUser, shot?: string): Promise<void> {
  const authorizationUrl = t.system.next();
  await t.page.getByTestId('signin-button').click();
  await t.page.getByTestId('waiting-screen').waitFor();
  const url = await authorizationUrl;
  if (shot) {
    await t.page.getByTestId('show-link').click();
    await t.page.getByTestId('authorization-url').waitFor();
    await screenshot(t.page, shot);
  }
  // A fresh context: the IdP must not reuse an earlier user's session cookie.
  const idpContext = await browser.newContext();
  try {
    await completeLogin(await idpContext.newPage(), url, user);
  } finally {
    await idpContext.close();
  }
  await t.page.getByTestId('header').waitFor();
}

export async function screenshot(page: Page, name: string): Promise<void> {
  mkdirSync(SCREENSHOTS, { recursive: true });
  await page.screenshot({ path: join(SCREENSHOTS, `${name}.png`), fullPage: true });
}

export async function entryNames(page: Page): Promise<string[]> {
  return page.getByTestId('entry').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-name') ?? ''));
}
