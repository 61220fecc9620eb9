/**
 * Drives the test IdP's login page in a real Chromium page: the "system browser" of the
 * tests. It returns once the browser has been sent to the client's redirect URI (the
 * app's loopback listener), so the caller then awaits its own callback handling.
 */
import { chromium, type Browser, type Page } from 'playwright-core';
import { existsSync } from 'node:fs';
import { AppError } from '../../main/common/errors.js';
import type { DemoUser } from './idp.js';

export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

export async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM_PATH)) {
    throw new AppError('STACK_CHROMIUM_MISSING', `Chromium was not found at ${CHROMIUM_PATH}.`, {
      hint: 'Install it with `apt-get install chromium`, or set CHROMIUM_PATH to a Chromium binary.',
    });
  }
  return chromium.launch({ executablePath: CHROMIUM_PATH, headless: true, args: CHROMIUM_ARGS });
}

/**
 * Open `authorizationUrl`, sign in as `user` (or press Cancel with `deny`), and wait until
 * the browser is redirected to the request's redirect_uri. If the IdP already has a session
 * in this browser, no form appears and the redirect happens at once. Throws with the page's
 * message on a wrong password or an IdP error page.
 */
export async function completeLogin(page: Page, authorizationUrl: string, user: DemoUser, opts: { deny?: boolean } = {}): Promise<void> {
  const redirectUri = new URL(authorizationUrl).searchParams.get('redirect_uri');
  if (!redirectUri) throw new Error('The authorization URL has no redirect_uri.');
  const target = new URL(redirectUri);
  const isCallback = (u: URL): boolean => u.origin === target.origin && u.pathname === target.pathname;

  // Watch requests, not page loads: the app's listener may answer and close at once.
  let reached = false;
  const callbackSeen = new Promise<'callback'>((resolve) => {
    const onRequest = (req: import('playwright-core').Request): void => {
      if (req.isNavigationRequest() && isCallback(new URL(req.url()))) {
        reached = true;
        page.off('request', onRequest);
        resolve('callback');
      }
    };
    page.on('request', onRequest);
  });

  // The losing side of each race must not reject later unobserved (it would crash the test run).
  const pageShows = (selector: string): Promise<'page' | 'timeout'> =>
    page.waitForSelector(selector, { state: 'attached' }).then(
      () => 'page' as const,
      () => 'timeout' as const,
    );

  const nav = page.goto(authorizationUrl, { waitUntil: 'commit' }).catch(() => undefined);
  const first = await Promise.race([callbackSeen, pageShows(`input[name=username], ${ERROR_PAGE}`)]);
  await nav;
  if (first === 'callback' || reached) return;
  if (first === 'timeout') throw new Error(`The identity provider's login page did not appear for ${authorizationUrl}.`);
  await throwIfErrorPage(page);

  if (opts.deny) {
    // Keycloak's login page has no cancel button: its "back to application" link is not offered either.
    await page.click('button[value=cancel]');
  } else {
    await page.fill('input[name=username]', user.username);
    await page.fill('input[name=password]', user.password);
    await page.click('button[value=login], #kc-login');
  }
  const outcome = await Promise.race([callbackSeen, pageShows(`${LOGIN_ERROR}, ${ERROR_PAGE}`)]);
  if (outcome === 'callback' || reached) return;
  if (outcome === 'timeout') throw new Error(`Sign-in as ${user.username}: the browser was not sent back to ${redirectUri}.`);
  await throwIfErrorPage(page);
  const msg = await page.textContent(LOGIN_ERROR).catch(() => null);
  throw new Error(`Sign-in as ${user.username} failed at the identity provider: ${msg ?? 'unknown error'}`);
}

// The in-process provider's marks, and Keycloak's (keycloak.v2 login theme).
const ERROR_PAGE = '[data-oidc-error], #kc-error-message';
const LOGIN_ERROR = '[data-login-error], #input-error';

async function throwIfErrorPage(page: Page): Promise<void> {
  const el = await page.$(ERROR_PAGE);
  if (el) throw new Error(`The identity provider showed an error page: ${(await el.textContent())?.trim() ?? ''}`);
}
