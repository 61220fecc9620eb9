/**
 * Shared wiring for the sign-in tests: a real IdP (test/stack/idp.ts), a real Chromium
 * page as the "system browser", an AuthService over an owner-only file store in a fresh
 * data folder, and probes that say whether any token reached the disk.
 */
import { mkdtempSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { AuthService, FileSecretStore, REFRESH_TOKEN_KEY, type AuthServiceOptions } from '../../../main/auth/index.js';
import type { AuthState } from '../../../main/api/contract.js';
import { DEFAULTS, type Settings } from '../../../main/config/schema.js';
import { completeLogin, launchChromium } from '../../stack/browser-login.js';
import { DEMO_USERS, type DemoUser, type RunningIdp } from '../../stack/idp.js';

export const alice = DEMO_USERS.find((u) => u.username === 'alice')!;
export const bob = DEMO_USERS.find((u) => u.username === 'bob')!;

export function authSettings(issuer: string, patch: Partial<Settings['auth']> = {}): Settings['auth'] {
  return { ...DEFAULTS.auth, issuer, allowInsecureIssuer: true, clockSkewSeconds: 5, timeoutSeconds: 60, ...patch };
}

export interface Harness {
  service: AuthService;
  store: FileSecretStore;
  dataDir: string;
  /** URLs given to openBrowser, in order. */
  opened: string[];
  /** What the "system browser" did with each: resolves undefined, or with its error. */
  browsing: Array<Promise<unknown>>;
  dispose(): Promise<void>;
}

/** `browse` decides what the "system browser" does with each URL the app opens. */
export function makeService(
  issuer: string,
  browse: (url: string) => Promise<void>,
  extra: Omit<Partial<AuthServiceOptions>, 'auth'> & { auth?: Partial<Settings['auth']>; dataDir?: string } = {},
): Harness {
  const dataDir = extra.dataDir ?? mkdtempSync(join(tmpdir(), 'auth-data-'));
  const store = new FileSecretStore(dataDir);
  const opened: string[] = [];
  const browsing: Array<Promise<unknown>> = [];
  const { auth, dataDir: _d, ...rest } = extra;
  const service = new AuthService({
    auth: authSettings(issuer, auth),
    organisation: 'Demo Hospital',
    secretStore: store,
    openBrowser: async (url) => {
      opened.push(url);
      const p = browse(url);
      browsing.push(p.then(() => undefined, (e: unknown) => e));
      await p;
    },
    ...rest,
  });
  return {
    service,
    store,
    dataDir,
    opened,
    browsing,
    dispose: async () => {
      service.dispose();
      if (!extra.dataDir) await rm(dataDir, { recursive: true, force: true });
    },
  };
}

let browserPromise: Promise<Browser> | undefined;
export function browser(): Promise<Browser> {
  browserPromise ??= launchChromium();
  return browserPromise;
}
export async function closeBrowser(): Promise<void> {
  if (browserPromise) await (await browserPromise).close();
  browserPromise = undefined;
}

/** A fresh browser context per sign-in, so no IdP session carries over between tests. */
export async function freshPage(): Promise<Page> {
  const ctx = await (await browser()).newContext();
  return ctx.newPage();
}

/** The "system browser" signs in as `user` (or presses Cancel). */
export function loginAs(user: DemoUser, opts: { deny?: boolean } = {}): (url: string) => Promise<void> {
  return async (url) => {
    if (url.includes('/session/end')) {
      // RP-initiated logout: the IdP's page signs out by itself and then says so.
      const page = await freshPage();
      try {
        await page.goto(url);
        await page.waitForSelector('[data-signed-out]', { state: 'attached' });
      } finally {
        await page.context().close();
      }
      return;
    }
    const page = await freshPage();
    // Not awaited by the service: the callback arrives through the loopback listener.
    completeLogin(page, url, user, opts)
      .catch(() => undefined)
      .finally(() => setTimeout(() => void page.context().close().catch(() => undefined), 500));
  };
}

/**
 * Signs in at the IdP in the browser but stops the browser at the redirect: returns the
 * callback URL the provider produced (code, state, iss) without delivering it.
 * Playwright does not route requests that result from a redirect, so every IdP response
 * is fetched through the route without following redirects and the chain is walked here,
 * on the browser context's own cookie jar, until it points at the redirect URI.
 */
export async function loginAndCapture(url: string, user: DemoUser): Promise<URL> {
  const page = await freshPage();
  const idpOrigin = new URL(url).origin;
  const redirect = new URL(new URL(url).searchParams.get('redirect_uri')!);
  let resolveCaptured!: (u: URL) => void;
  const captured = new Promise<URL>((r) => (resolveCaptured = r));
  await page.route(
    (u) => u.origin === idpOrigin,
    async (route) => {
      let current = new URL(route.request().url());
      let resp = await route.fetch({ maxRedirects: 0 });
      for (let hops = 0; hops < 10; hops++) {
        const loc = resp.headers().location;
        if (!loc || resp.status() < 300 || resp.status() >= 400) break;
        const next = new URL(loc, current);
        if (next.origin === redirect.origin && next.pathname === redirect.pathname) {
          resolveCaptured(next);
          await route.fulfill({ status: 200, contentType: 'text/html', body: '<p data-captured>captured</p>' });
          return;
        }
        if (next.origin !== idpOrigin) break;
        resp = await page.request.get(next.href, { maxRedirects: 0 });
        current = next;
      }
      await route.fulfill({ response: resp });
    },
  );
  const login = completeLogin(page, url, user);
  login.catch(() => undefined); // it never sees the callback navigation; the capture decides
  try {
    return await Promise.race([captured, login.then(() => Promise.reject(new Error('the browser reached the redirect URI uncaptured')))]);
  } finally {
    await page.context().close();
  }
}

export function waitForState(service: AuthService, pred: (s: AuthState) => boolean): Promise<AuthState> {
  return new Promise((resolve) => {
    if (pred(service.state())) {
      resolve(service.state());
      return;
    }
    const off = service.onChange((s) => {
      if (pred(s)) {
        off();
        resolve(s);
      }
    });
  });
}

/** Every file under dir whose bytes contain one of the needles. */
export function filesContaining(dir: string, needles: string[]): string[] {
  const hits: string[] = [];
  const walk = (d: string): void => {
    let names: string[];
    try {
      names = readdirSync(d);
    } catch {
      return;
    }
    for (const n of names) {
      const p = join(d, n);
      const st = statSync(p);
      if (st.isDirectory()) walk(p);
      else {
        const text = readFileSync(p).toString('latin1');
        if (needles.some((x) => x.length > 0 && text.includes(x))) hits.push(p);
      }
    }
  };
  walk(dir);
  return hits;
}

export async function storedRefreshToken(h: Harness): Promise<string | undefined> {
  const raw = await h.store.get(REFRESH_TOKEN_KEY);
  return raw ? (JSON.parse(raw) as { refreshToken: string }).refreshToken : undefined;
}

/** Nothing issued to, nor kept by, the app. */
export async function assertNoTokens(h: Harness, assert: typeof import('node:assert/strict')): Promise<void> {
  assert.equal(h.service.state().status, 'signed-out');
  assert.equal(h.service.user(), undefined);
  assert.equal(await h.store.get(REFRESH_TOKEN_KEY), undefined);
  assert.deepEqual(readdirSync(h.dataDir), [], 'no file was written to the data folder');
  await assert.rejects(h.service.getIdToken(), (e: Error & { code?: string }) => e.code === 'AUTH_NOT_SIGNED_IN');
  await assert.rejects(h.service.getAccessToken(), (e: Error & { code?: string }) => e.code === 'AUTH_NOT_SIGNED_IN');
}

export type { RunningIdp };
