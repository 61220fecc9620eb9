/**
 * Sign a demo user in for real: AuthService against the stack's IdP, the "system
 * browser" a Chromium page that fills in the IdP's login form, then the app's own STS
 * provider and S3 client over the stack's settings.
 */
import type { Browser } from 'playwright-core';
import { AuthService, MemorySecretStore } from '../../../main/auth/index.js';
import { loadSettings, type Settings } from '../../../main/config/index.js';
import { StsWebIdentityProvider, type StsProviderOptions } from '../../../main/credentials/index.js';
import { S3Client } from '../../../main/sources/s3.js';
import { isSlideName } from '../../../main/formats/slide-names.js';
import type { FetchLike } from '../../../main/sources/types.js';
import { completeLogin } from '../../stack/browser-login.js';
import type { RunningStack } from '../../stack/stack.js';

export interface SignedIn {
  auth: AuthService;
  settings: Settings;
  credentials: StsWebIdentityProvider;
  s3: S3Client;
  /** Browser sign-ins performed (renewal must not add any). */
  browserLogins: number;
  dispose(): Promise<void>;
}

export function stackSettings(stack: RunningStack): Settings {
  const s = loadSettings({ configFile: stack.configFile, isolated: true }).settings;
  s.auth.clockSkewSeconds = 5;
  return s;
}

export async function signInAs(
  stack: RunningStack,
  browser: Browser,
  username: string,
  o: { fetch?: FetchLike; provider?: Partial<StsProviderOptions>; s3Endpoint?: string } = {},
): Promise<SignedIn> {
  const user = stack.users.find((u) => u.username === username)!;
  const settings = stackSettings(stack);
  const context = await browser.newContext();
  const page = await context.newPage();
  let browserLogins = 0;
  const auth = new AuthService({
    auth: settings.auth,
    organisation: settings.organisation.name,
    secretStore: new MemorySecretStore(),
    openBrowser: async (url) => {
      if (!new URL(url).searchParams.has('code_challenge')) return; // end-session page: not needed here
      browserLogins++;
      await completeLogin(page, url, user);
    },
  });
  const st = await auth.signIn();
  if (st.status !== 'signed-in') throw new Error(`sign-in as ${username} failed: ${JSON.stringify(st.error)}`);
  const credentials = new StsWebIdentityProvider({
    sts: settings.storage.sts,
    region: settings.storage.s3.region,
    identity: auth,
    ...(o.fetch ? { fetch: o.fetch } : {}),
    ...o.provider,
  });
  const s3 = new S3Client({
    endpoint: o.s3Endpoint ?? settings.storage.s3.endpoint,
    region: settings.storage.s3.region,
    forcePathStyle: true,
    credentials,
    isSlide: isSlideName,
    ...(o.fetch ? { fetch: o.fetch } : {}),
  });
  const result: SignedIn = {
    auth,
    settings,
    credentials,
    s3,
    get browserLogins() {
      return browserLogins;
    },
    dispose: async () => {
      credentials.dispose();
      auth.dispose();
      await context.close();
    },
  };
  return result;
}
