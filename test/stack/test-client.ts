/**
 * A minimal relying party for tests of the stack itself: a one-shot loopback listener,
 * the authorization URL with PKCE, the browser login via completeLogin, and the code
 * exchange with openid-client. The app's own sign-in lives in main/auth; this exists so the
 * stack can be tested without it.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import * as client from 'openid-client';
import type { Page } from 'playwright-core';
import { completeLogin } from './browser-login.js';
import type { DemoUser } from './idp.js';

export interface TestLoginResult {
  tokens: client.TokenEndpointResponse & client.TokenEndpointResponseHelpers;
  config: client.Configuration;
}

export async function discover(issuer: string, clientId: string): Promise<client.Configuration> {
  return client.discovery(new URL(issuer), clientId, undefined, client.None(), { execute: [client.allowInsecureRequests] });
}

/** Starts a loopback listener that captures one callback URL, then closes. */
async function oneShotListener(host = '127.0.0.1'): Promise<{ redirectUri: string; callback: Promise<URL>; close: () => void }> {
  let resolveCb!: (u: URL) => void;
  const callback = new Promise<URL>((r) => (resolveCb = r));
  const server = createServer((req, res) => {
    const u = new URL(req.url ?? '/', `http://${host}:${(server.address() as AddressInfo).port}`);
    if (u.pathname !== '/callback') {
      res.statusCode = 404;
      res.end();
      return;
    }
    res.setHeader('content-type', 'text/plain');
    res.setHeader('connection', 'close');
    res.end('You can close this window.');
    resolveCb(u);
  });
  await new Promise<void>((r) => server.listen(0, host, r));
  const port = (server.address() as AddressInfo).port;
  return {
    redirectUri: `http://${host}:${port}/callback`,
    callback,
    close: () => {
      server.close();
      server.closeAllConnections();
    },
  };
}

export async function buildLogin(config: client.Configuration, redirectUri: string, scope = 'openid profile email offline_access') {
  const verifier = client.randomPKCECodeVerifier();
  const state = client.randomState();
  const nonce = client.randomNonce();
  const url = client.buildAuthorizationUrl(config, {
    redirect_uri: redirectUri,
    scope,
    code_challenge: await client.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
    state,
    nonce,
  });
  return { url, verifier, state, nonce };
}

/** Full browser login as `user`; returns the token response (ID token, access token, refresh token). */
export async function loginViaBrowser(page: Page, issuer: string, clientId: string, user: DemoUser): Promise<TestLoginResult> {
  const config = await discover(issuer, clientId);
  const listener = await oneShotListener();
  try {
    const req = await buildLogin(config, listener.redirectUri);
    await completeLogin(page, req.url.href, user);
    const cb = await listener.callback;
    const tokens = await client.authorizationCodeGrant(config, cb, {
      pkceCodeVerifier: req.verifier,
      expectedState: req.state,
      expectedNonce: req.nonce,
    });
    return { tokens, config };
  } finally {
    listener.close();
  }
}

/** Same as loginViaBrowser but presses Cancel; returns the callback URL (error=access_denied expected). */
export async function denyViaBrowser(page: Page, issuer: string, clientId: string, user: DemoUser): Promise<URL> {
  const config = await discover(issuer, clientId);
  const listener = await oneShotListener();
  try {
    const req = await buildLogin(config, listener.redirectUri);
    await completeLogin(page, req.url.href, user, { deny: true });
    return await listener.callback;
  } finally {
    listener.close();
  }
}
