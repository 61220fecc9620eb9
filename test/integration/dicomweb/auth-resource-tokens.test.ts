/**
 * The sign-in gives the app bearer tokens for the DICOMweb archive: the real IdP issues JWT
 * access tokens for the archive's resource indicator (RFC 8707) from the refresh token,
 * the real token gate applies HealthImaging's rules, real Orthanc answers behind it. The
 * app side is what the composition root wires: AuthService.tokenSource(resource) feeding
 * the DicomwebClient of main/app/dicomweb.ts. The user signs in in Chromium.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createDicomweb } from '../../../main/app/dicomweb.js';
import { isAppError } from '../../../main/common/errors.js';
import { configureLogging } from '../../../main/common/log.js';
import { DEFAULTS, type Settings } from '../../../main/config/schema.js';
import { DicomwebClient, type TokenSource } from '../../../main/sources/dicomweb/client.js';
import { DEMO_USERS, DICOMWEB_AUDIENCE, DICOMWEB_RESOURCE, startIdp, type RunningIdp } from '../../stack/idp.js';
import { orthancUnavailable, startOrthanc, type RunningOrthanc } from '../../stack/orthanc.js';
import { startTokenGate, type RunningTokenGate } from '../../stack/token-gate.js';
import { alice, closeBrowser, filesContaining, loginAs, makeService, storedRefreshToken, type Harness } from '../auth/helpers.js';

const unavailable = orthancUnavailable();
if (unavailable) console.log(`# skipping DICOMweb resource-token tests: ${unavailable.reason}`);
const skip = unavailable?.kind === 'netns' ? unavailable.reason : false;

/** Short-lived tokens for the same archive: expiry can be reached in a test. */
const SHORT_RESOURCE = 'urn:demo-hospital:dicomweb-short';
const SHORT_TTL = 3;
/** Tokens valid for 13 h: longer than HealthImaging's 12-hour age limit. */
const LONG_RESOURCE = 'urn:demo-hospital:dicomweb-long';
/** Registered at the IdP, but its tokens name another audience than the archive accepts. */
const OTHER_RESOURCE = 'urn:demo-hospital:other-api';
const carol = DEMO_USERS.find((u) => u.username === 'carol')!;

function claims(token: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString('utf8')) as Record<string, unknown>;
}
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe('DICOMweb bearer tokens from the sign-in (RFC 8707 resource tokens through the HealthImaging-style gate)', { skip }, () => {
  let idp: RunningIdp;
  let orthanc: RunningOrthanc;
  let gate: RunningTokenGate;
  const logDir = mkdtempSync(join(tmpdir(), 'dw-token-log-'));
  const logFile = join(logDir, 'app.log');
  const harnesses: Harness[] = [];
  const issued: string[] = [];

  const settingsFor = (resource: string | undefined): Pick<Settings, 'storage'> => ({
    storage: { ...DEFAULTS.storage, dicomweb: [{ name: 'pacs', label: 'Pathology PACS', url: `${gate.url}/dicom-web`, ...(resource ? { resource } : {}) }] },
  });
  const since = (): (() => number[]) => {
    const start = gate.decisions.length;
    return () => gate.decisions.slice(start).map((d) => d.status);
  };
  /** A signed-in AuthService that asked the IdP for `resources` at sign-in. */
  async function signedIn(user = alice, extra: Parameters<typeof makeService>[2] = {}): Promise<Harness> {
    const h = makeService(idp.issuer, loginAs(user), { resources: [DICOMWEB_RESOURCE, SHORT_RESOURCE, LONG_RESOURCE, OTHER_RESOURCE], ...extra });
    harnesses.push(h);
    const state = await h.service.signIn();
    assert.equal(state.status, 'signed-in', JSON.stringify(state.error));
    return h;
  }
  /** Records every token the source hands out (for the no-leak checks). */
  const recording = (source: TokenSource): TokenSource => ({
    getAccessToken: async (o) => {
      const t = await source.getAccessToken(o);
      issued.push(t);
      return t;
    },
  });

  before(async () => {
    configureLogging({ file: logFile, console: false, level: 'debug' });
    idp = await startIdp({
      resourceServers: {
        [DICOMWEB_RESOURCE]: { audience: DICOMWEB_AUDIENCE },
        [SHORT_RESOURCE]: { audience: DICOMWEB_AUDIENCE, ttl: SHORT_TTL },
        [LONG_RESOURCE]: { audience: DICOMWEB_AUDIENCE, ttl: 13 * 3600 },
        [OTHER_RESOURCE]: { audience: 'other-api' },
      },
    });
    orthanc = await startOrthanc({ dicom: [`${import.meta.dirname}/../../../../shared/testdata/dicom-wsi/cmu1-small-region-wsi2dcm-pyramid`], dicomize: [] });
    gate = await startTokenGate({
      upstream: orthanc.baseUrl,
      issuer: idp.issuer,
      audience: DICOMWEB_AUDIENCE,
      allow: (c) => Array.isArray(c['groups']) && (c['groups'] as unknown[]).some((g) => g === 'pathology' || g === 'research'),
    });
  });
  after(async () => {
    for (const h of harnesses) await h.dispose();
    await closeBrowser();
    await gate?.stop();
    await orthanc?.stop();
    await idp?.stop();
    await rm(logDir, { recursive: true, force: true });
  });

  test('alice: a JWT for the archive (aud, groups) from the refresh token; studies and series through the gate', async () => {
    const h = await signedIn();
    const source = h.service.tokenSource(DICOMWEB_RESOURCE);
    const token = await source.getAccessToken();
    issued.push(token);
    const c = claims(token);
    assert.equal(c['iss'], idp.issuer);
    assert.equal(c['aud'], DICOMWEB_AUDIENCE);
    assert.equal(c['sub'], 'alice');
    assert.deepEqual(c['groups'], ['pathology']);
    assert.ok(typeof c['iat'] === 'number' && typeof c['exp'] === 'number');
    // The sign-in's own access token is still the provider's opaque one (for userinfo), not this one.
    const sessionToken = await h.service.getAccessToken();
    assert.notEqual(sessionToken, token);
    assert.equal(sessionToken.split('.').length, 1, 'the sign-in access token stays opaque');
    // Cached while valid: asking again gives the same token, without another refresh.
    assert.equal(await source.getAccessToken({ minValiditySeconds: 60 }), token);

    const dw = createDicomweb({ settings: settingsFor(DICOMWEB_RESOURCE), auth: h.service });
    const statuses = since();
    const page = await dw.searchStudies('pacs', {}, 0, 50);
    assert.equal(page.studies.length, 1);
    assert.equal(page.more, false);
    const series = await dw.listSeries('pacs', page.studies[0]!.studyInstanceUid);
    assert.ok(series.some((s) => s.slide && s.modality === 'SM'));
    assert.match(series[0]!.uri, /^dicomweb:\/\/pacs\/studies\/[0-9.]+\/series\/[0-9.]+$/);
    assert.deepEqual(statuses(), [200, 200]);
    assert.ok(!JSON.stringify(h.service.state()).includes(token), 'the state the renderer sees holds no token');
  });

  test('every refresh-token use is serialised: rotation by resource requests never spends a token twice', async () => {
    const h = await signedIn();
    const before = await storedRefreshToken(h);
    // Session renewals and resource requests at once: the provider rotates the refresh token
    // on each use and revokes the grant if a spent one comes back.
    const results = await Promise.all([
      h.service.getResourceToken(DICOMWEB_RESOURCE, { forceRefresh: true }),
      h.service.getAccessToken({ forceRefresh: true }),
      h.service.getResourceToken(SHORT_RESOURCE, { forceRefresh: true }),
      h.service.getIdToken({ forceRefresh: true }),
      h.service.getResourceToken(DICOMWEB_RESOURCE, { forceRefresh: true }),
    ]);
    issued.push(...results);
    assert.equal(h.service.state().status, 'signed-in');
    const after = await storedRefreshToken(h);
    assert.ok(after && after !== before, 'the rotated refresh token rests in the secret store');
    // The rested token is the live one: a new app start restores the session with it.
    const h2 = makeService(idp.issuer, async () => assert.fail('no browser on restore'), { dataDir: h.dataDir, resources: [DICOMWEB_RESOURCE] });
    harnesses.push(h2);
    assert.equal((await h2.service.restore()).status, 'signed-in');
    issued.push(await h2.service.getResourceToken(DICOMWEB_RESOURCE));
  });

  test('an expired token is renewed and the request retried once', async () => {
    // The app's clock is ten minutes behind: it takes the short-lived token for valid after
    // the archive has seen it expire, so the archive's 401 is what makes it renew.
    let offset = 0;
    // The wide clock tolerance lets ID tokens in refresh answers pass the moved clock.
    const h = await signedIn(alice, { now: () => Date.now() - offset, auth: { clockSkewSeconds: 13 * 3600 } });
    const source = h.service.tokenSource(SHORT_RESOURCE);
    const first = await source.getAccessToken();
    issued.push(first);
    offset = 600_000;
    await sleep((SHORT_TTL + 1) * 1000);
    const client = new DicomwebClient({ root: `${gate.url}/dicom-web`, token: recording(source) });
    const statuses = since();
    assert.equal((await client.searchStudies()).length, 1);
    assert.deepEqual(statuses(), [401, 200]);
    assert.match(gate.decisions.at(-2)!.reason ?? '', /expired/);
    assert.notEqual(issued.at(-1), first, 'a new token was fetched for the retry');
  });

  test('a token issued more than 12 hours ago: the gate refuses it and the app gets a fresh one', async () => {
    const h = await signedIn();
    const source = h.service.tokenSource(DICOMWEB_RESOURCE);
    const now = Math.floor(Date.now() / 1000);
    // What the app would still hold from yesterday: the IdP's own key, the archive's audience, but iat 12 h ago.
    const stale = await idp.signJwt({ iss: idp.issuer, aud: DICOMWEB_AUDIENCE, sub: 'alice', groups: ['pathology'], iat: now - 12 * 3600 - 60, exp: now + 3600 });
    let held: string | undefined = stale;
    const holding: TokenSource = {
      getAccessToken: async (o) => {
        if (held && !o?.forceRefresh) return held;
        held = undefined;
        const t = await source.getAccessToken(o);
        issued.push(t);
        return t;
      },
    };
    // A client that does not read iat sends it: the gate refuses, the forced renewal brings a fresh one.
    const blind = new DicomwebClient({ root: `${gate.url}/dicom-web`, token: holding, maxTokenAgeSeconds: 1e9 });
    let statuses = since();
    assert.equal((await blind.searchStudies()).length, 1);
    assert.deepEqual(statuses(), [401, 200]);
    assert.match(gate.decisions.at(-2)!.reason ?? '', /more than 12 hours ago/);
    // The app's own client reads iat and renews before the archive ever sees the stale token.
    held = stale;
    statuses = since();
    assert.equal((await new DicomwebClient({ root: `${gate.url}/dicom-web`, token: holding }).searchStudies()).length, 1);
    assert.deepEqual(statuses(), [200]);
  });

  test('AuthService renews a resource token before it is 12 hours old, and warns when the provider makes that impossible', async () => {
    let offset = 0;
    // The app's clock is moved twelve hours on; the wide tolerance lets ID tokens in refresh answers pass it.
    const h = await signedIn(alice, { now: () => Date.now() + offset, auth: { clockSkewSeconds: 13 * 3600 } });
    const t1 = await h.service.getResourceToken(LONG_RESOURCE);
    issued.push(t1);
    // A lifetime over 12 h is named, with what the app does about it.
    assert.ok(h.service.state().warnings.some((w) => /valid for 13 h/.test(w) && w.includes(LONG_RESOURCE)), JSON.stringify(h.service.state().warnings));
    // Twelve hours later by the app's clock: the token has an hour left, but it is 12 h old.
    offset = 12 * 3600 * 1000;
    const t2 = await h.service.getResourceToken(LONG_RESOURCE, { minValiditySeconds: 0 });
    issued.push(t2);
    assert.notEqual(t2, t1, 'renewed because of its age, not its expiry');
    // The provider's iat is "now" on its own clock, which this app sees as 12 h old: nothing
    // the app can fix, so it says so, and its client refuses to send such a token.
    const warnings = h.service.state().warnings;
    assert.ok(warnings.some((w) => /more than 12 hours ago/.test(w) && w.includes(LONG_RESOURCE)), JSON.stringify(warnings));
    const client = new DicomwebClient({ root: `${gate.url}/dicom-web`, token: recording(h.service.tokenSource(LONG_RESOURCE)), now: () => Date.now() + offset });
    const statuses = since();
    await assert.rejects(client.searchStudies(), (e) => isAppError(e, 'DICOMWEB_TOKEN_TOO_OLD'));
    assert.deepEqual(statuses(), [], 'nothing was sent to the archive');
    await h.service.signOut();
  });

  test('a token for another audience: renewed once, then a clear error naming the audience', async () => {
    const h = await signedIn();
    const dw = createDicomweb({ settings: settingsFor(OTHER_RESOURCE), auth: h.service });
    const statuses = since();
    await assert.rejects(dw.searchStudies('pacs', {}, 0, 10), (e) => {
      assert.ok(isAppError(e, 'DICOMWEB_UNAUTHORIZED'));
      assert.match(e.message, /Pathology PACS/);
      assert.match(e.message, /another audience/);
      assert.match(e.hint ?? '', /audience/);
      return true;
    });
    assert.deepEqual(statuses(), [401, 401]);
  });

  test('a resource the IdP does not know (or the sign-in did not cover): AUTH_RESOURCE_REFUSED in words', async () => {
    const h = await signedIn();
    const dw = createDicomweb({ settings: settingsFor('urn:demo-hospital:not-registered'), auth: h.service });
    const statuses = since();
    await assert.rejects(dw.searchStudies('pacs', {}, 0, 10), (e) => isAppError(e, 'AUTH_RESOURCE_REFUSED') && /image archive/.test(e.message) && /sign in again/i.test(e.hint ?? ''));
    assert.deepEqual(statuses(), []);
    assert.equal(h.service.state().status, 'signed-in', 'a refused resource does not end the session');
  });

  test('no token and signed out: 401 and "not signed in" said in words', async () => {
    const statuses = since();
    const open = new DicomwebClient({ root: `${gate.url}/dicom-web` });
    await assert.rejects(open.searchStudies(), (e) => isAppError(e, 'DICOMWEB_UNAUTHORIZED') && /asks for a sign-in/.test(e.message));
    assert.deepEqual(statuses(), [401]);

    const h = await signedIn();
    const dw = createDicomweb({ settings: settingsFor(DICOMWEB_RESOURCE), auth: h.service });
    assert.equal((await dw.searchStudies('pacs', {}, 0, 10)).studies.length, 1);
    await h.service.signOut();
    const none = since();
    await assert.rejects(dw.searchStudies('pacs', {}, 0, 10), (e) => isAppError(e, 'AUTH_NOT_SIGNED_IN') && /not signed in/.test(e.message));
    assert.deepEqual(none(), [], 'signed out: nothing is sent');
  });

  test('carol (no group): the archive refuses her in words (403), not retried', async () => {
    const h = await signedIn(carol);
    const dw = createDicomweb({ settings: settingsFor(DICOMWEB_RESOURCE), auth: h.service });
    const statuses = since();
    await assert.rejects(dw.searchStudies('pacs', {}, 0, 10), (e) => {
      assert.ok(isAppError(e, 'DICOMWEB_ACCESS_DENIED'));
      assert.equal(e.message, 'The image archive “Pathology PACS” refused access to its studies for your account.');
      assert.ok(e.hint);
      return true;
    });
    assert.deepEqual(statuses(), [403]);
  });

  test('an archive that is down: "cannot be reached" with its name, retryable', async () => {
    const h = await signedIn();
    // A port nobody listens on: connection refused at every attempt (with the client's backoff).
    const settings: Pick<Settings, 'storage'> = {
      storage: { ...DEFAULTS.storage, dicomweb: [{ name: 'pacs', label: 'Pathology PACS', url: 'http://127.0.0.1:9/dicom-web', resource: DICOMWEB_RESOURCE }] },
    };
    const dw = createDicomweb({ settings, auth: h.service });
    await assert.rejects(dw.searchStudies('pacs', {}, 0, 10), (e) => {
      assert.ok(isAppError(e, 'DICOMWEB_UNREACHABLE'));
      assert.equal(e.message, 'The image archive “Pathology PACS” cannot be reached right now.');
      assert.equal(e.retryable, true);
      assert.ok(e.hint);
      return true;
    });
    await assert.rejects(dw.listSeries('elsewhere', '1.2.3'), (e) => isAppError(e, 'DICOMWEB_UNKNOWN_SOURCE') && /not in this workstation's settings/.test(e.message));
  });

  test('no token handed out reached the log file', () => {
    assert.ok(issued.length >= 8, `${issued.length} tokens checked`);
    assert.deepEqual(filesContaining(logDir, issued), []);
  });
});
