/**
 * Bearer tokens against HealthImaging's rules: the real IdP (its keys sign the tokens,
 * the gate fetches its JWKS), the real token gate, real Orthanc behind it. The token
 * source mints tokens with the IdP's key so each test controls exp / iat / aud exactly.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Socket } from 'node:net';
import { generateKeyPair, SignJWT } from 'jose';
import { DicomwebClient, type TokenSource } from '../../../main/sources/dicomweb/client.js';
import { openDicomwebSeries } from '../../../main/formats/dicomweb/reader.js';
import { isAppError } from '../../../main/common/errors.js';
import { startIdp, type RunningIdp } from '../../stack/idp.js';
import { orthancUnavailable, startOrthanc, type RunningOrthanc } from '../../stack/orthanc.js';
import { startTokenGate, type RunningTokenGate } from '../../stack/token-gate.js';

const AUDIENCE = 'dicomweb-datastore';
const unavailable = orthancUnavailable();
if (unavailable) console.log(`# skipping DICOMweb token tests: ${unavailable.reason}`);
const skip = unavailable?.kind === 'netns' ? unavailable.reason : false;

type Claims = Record<string, unknown>;

/** A token source that mints a token per call; `plan` decides the claims of call n (0-based) and whether it was forced. */
class MintingSource implements TokenSource {
  calls: { forceRefresh: boolean; minValiditySeconds: number | undefined }[] = [];
  constructor(private readonly idp: RunningIdp, private readonly plan: (call: number, forced: boolean) => Claims) {}
  async getAccessToken(opts?: { minValiditySeconds?: number; forceRefresh?: boolean }): Promise<string> {
    const forced = opts?.forceRefresh === true;
    const n = this.calls.length;
    this.calls.push({ forceRefresh: forced, minValiditySeconds: opts?.minValiditySeconds });
    return this.idp.signJwt(this.plan(n, forced));
  }
}

describe('DICOMweb behind the HealthImaging-style token gate', { skip }, () => {
  let idp: RunningIdp;
  let orthanc: RunningOrthanc;
  let gate: RunningTokenGate;
  const now = (): number => Math.floor(Date.now() / 1000);
  const good = (over: Claims = {}): Claims => ({ iss: idp.issuer, aud: AUDIENCE, sub: 'alice', groups: ['pathology'], iat: now(), exp: now() + 600, ...over });
  const client = (token?: TokenSource): DicomwebClient =>
    new DicomwebClient({ root: `${gate.url}/dicom-web`, ...(token ? { token } : {}), retry: { maxAttempts: 2, baseDelayMs: 10, maxDelayMs: 50 } });
  const since = (): (() => number[]) => {
    const start = gate.decisions.length;
    return () => gate.decisions.slice(start).map((d) => d.status);
  };

  before(async () => {
    idp = await startIdp();
    orthanc = await startOrthanc({ dicom: [`${import.meta.dirname}/../../../../shared/testdata/dicom-wsi/cmu1-small-region-wsi2dcm-pyramid`], dicomize: [] });
    gate = await startTokenGate({
      upstream: orthanc.baseUrl,
      issuer: idp.issuer,
      audience: AUDIENCE,
      allow: (claims) => Array.isArray(claims['groups']) && (claims['groups'] as unknown[]).includes('pathology'),
    });
  });
  after(async () => {
    await gate?.stop();
    await orthanc?.stop();
    await idp?.stop();
  });

  test('a valid token reads studies, metadata and multipart frames through the gate unchanged', async () => {
    const source = new MintingSource(idp, () => good());
    const c = client(source);
    const studies = await c.searchStudies();
    assert.equal(studies.length, 1);
    const [s] = await c.searchSeries(studies[0]!.studyInstanceUid);
    const reader = await openDicomwebSeries(c, s!.studyInstanceUid, s!.seriesInstanceUid);
    assert.equal(reader.descriptor.levels.length, 12);
    const locs = await Promise.all([0, 1, 2].map((col) => reader.locateTile(0, col, 0, 0)));
    const viaGate = await reader.readTiles(locs.map((l) => l!));
    const direct = await new DicomwebClient({ root: orthanc.dicomwebRoot }).frames(s!.studyInstanceUid, s!.seriesInstanceUid, locs[0]!.meta!['sopInstanceUid'] as string, [1, 2, 3]);
    assert.equal(viaGate.requests, 1);
    viaGate.buffers.forEach((b, i) => assert.ok(Buffer.from(b).equals(Buffer.from(direct.frames[i]!.bytes))));
    assert.ok(source.calls.every((c2) => !c2.forceRefresh), 'no renewal needed');
    // Every request asks for a token that outlives it by a margin, so renewal happens before expiry.
    assert.ok(source.calls.every((c2) => c2.minValiditySeconds === 60));
  });

  test('no token: 401 shown in words as DICOMWEB_UNAUTHORIZED', async () => {
    const statuses = since();
    await assert.rejects(client().searchStudies(), (e) => {
      assert.ok(isAppError(e, 'DICOMWEB_UNAUTHORIZED'));
      assert.match(e.message, /asks for a sign-in \(No access token was sent\.\)/);
      assert.ok(e.hint);
      return true;
    });
    assert.deepEqual(statuses(), [401]);
    const raw = await fetch(`${gate.url}/dicom-web/studies`);
    assert.equal(raw.status, 401);
    assert.match(raw.headers.get('www-authenticate') ?? '', /^Bearer realm="dicomweb", error_description="No access token was sent\."/);
  });

  test('an expired token is renewed once and the request retried once', async () => {
    // The source hands out a token the gate finds expired until it is forced to renew.
    const source = new MintingSource(idp, (_n, forced) => (forced ? good() : good({ iat: now() - 700, exp: now() - 100 })));
    const statuses = since();
    const studies = await client(source).searchStudies();
    assert.equal(studies.length, 1);
    assert.deepEqual(statuses(), [401, 200]);
    assert.deepEqual(source.calls.map((c) => c.forceRefresh), [false, true]);
    assert.match(gate.decisions.at(-2)!.reason ?? '', /expired/);
  });

  test('a token issued more than 12 hours ago is refused by the gate; the client renews before sending it', async () => {
    const stale = await idp.signJwt(good({ iat: now() - 12 * 3600 - 60, exp: now() + 600 }));
    const res = await fetch(`${gate.url}/dicom-web/studies`, { headers: { authorization: `Bearer ${stale}` } });
    assert.equal(res.status, 401);
    assert.match(res.headers.get('www-authenticate') ?? '', /error="invalid_token", error_description="The access token was issued more than 12 hours ago\."/);

    // The client reads iat and forces a renewal before the archive sees the stale token.
    const renewing = new MintingSource(idp, (_n, forced) => (forced ? good() : good({ iat: now() - 12 * 3600 - 60 })));
    const statuses = since();
    assert.equal((await client(renewing).searchStudies()).length, 1);
    assert.deepEqual(statuses(), [200]);
    assert.deepEqual(renewing.calls.map((c) => c.forceRefresh), [false, true]);

    // A provider that keeps the old iat on renewal: said in words, nothing sent.
    const stuck = new MintingSource(idp, () => good({ iat: now() - 12 * 3600 - 60 }));
    const none = since();
    await assert.rejects(client(stuck).searchStudies(), (e) => isAppError(e, 'DICOMWEB_TOKEN_TOO_OLD') && /12 hours/.test(e.message));
    assert.deepEqual(none(), []);

    // A client that does not look at iat (opaque-token assumption) meets the gate's refusal.
    const blind = new DicomwebClient({ root: `${gate.url}/dicom-web`, token: stuck, maxTokenAgeSeconds: 1e9 });
    await assert.rejects(blind.searchStudies(), (e) => isAppError(e, 'DICOMWEB_UNAUTHORIZED') && /more than 12 hours ago/.test(e.message));
  });

  test('a token for another audience: one renewal, then a clear error', async () => {
    const source = new MintingSource(idp, () => good({ aud: 'some-other-api' }));
    const statuses = since();
    await assert.rejects(client(source).searchStudies(), (e) => {
      assert.ok(isAppError(e, 'DICOMWEB_UNAUTHORIZED'));
      assert.match(e.message, /another audience/);
      assert.match(e.hint ?? '', /audience/);
      return true;
    });
    assert.deepEqual(statuses(), [401, 401]);
    assert.deepEqual(source.calls.map((c) => c.forceRefresh), [false, true]);
  });

  test('a token signed by another key or for another issuer is refused', async () => {
    const { privateKey } = await generateKeyPair('RS256');
    const forged = await new SignJWT(good()).setProtectedHeader({ alg: 'RS256', kid: 'forged' }).sign(privateKey);
    const r1 = await fetch(`${gate.url}/dicom-web/studies`, { headers: { authorization: `Bearer ${forged}` } });
    assert.equal(r1.status, 401);
    assert.match(r1.headers.get('www-authenticate') ?? '', /signature does not verify/);
    const other = await idp.signJwt(good({ iss: 'https://elsewhere.example' }));
    const r2 = await fetch(`${gate.url}/dicom-web/studies`, { headers: { authorization: `Bearer ${other}` } });
    assert.equal(r2.status, 401);
    assert.match(r2.headers.get('www-authenticate') ?? '', /another issuer/);
  });

  test('a valid token without access: 403 → DICOMWEB_ACCESS_DENIED in words, not retried', async () => {
    const source = new MintingSource(idp, () => good({ sub: 'carol', groups: [] }));
    const statuses = since();
    await assert.rejects(client(source).searchStudies(), (e) => {
      assert.ok(isAppError(e, 'DICOMWEB_ACCESS_DENIED'));
      assert.match(e.message, /may not read this/);
      return true;
    });
    assert.deepEqual(statuses(), [403]);
  });

  test('an archive answering 5xx is retried with backoff, then DICOMWEB_SERVER_ERROR', async () => {
    // The same gate in front of a port nobody listens on: it answers 502 for every valid request.
    const deadEnd = await startTokenGate({ upstream: 'http://127.0.0.1:9', issuer: idp.issuer, audience: AUDIENCE });
    try {
      const c = new DicomwebClient({ root: `${deadEnd.url}/dicom-web`, token: new MintingSource(idp, () => good()), retry: { maxAttempts: 3, baseDelayMs: 10, maxDelayMs: 50 } });
      await assert.rejects(c.searchStudies(), (e) => isAppError(e, 'DICOMWEB_SERVER_ERROR') && e.retryable && /HTTP 502\) after 3 attempts/.test(e.message));
      assert.deepEqual(deadEnd.decisions.map((d) => d.status), [502, 502, 502]);
    } finally {
      await deadEnd.stop();
    }
  });

  test('200 parallel frame requests through the gate and the bridge all succeed', async () => {
    const c = client(new MintingSource(idp, () => good()));
    const [study] = await c.searchStudies();
    const [s] = await c.searchSeries(study!.studyInstanceUid);
    const reader = await openDicomwebSeries(c, s!.studyInstanceUid, s!.seriesInstanceUid);
    const l0 = reader.descriptor.levels[0]!;
    const locs = await Promise.all(Array.from({ length: 200 }, (_, i) => reader.locateTile(0, i % l0.columns, Math.floor(i / l0.columns) % l0.rows, 0)));
    const singles = await Promise.all(locs.map((l) => reader.readTiles([l!])));
    const batch = await reader.readTiles(locs.map((l) => l!));
    assert.equal(batch.requests, 1, 'duplicates asked once, one instance, one request');
    singles.forEach((r, i) => assert.ok(Buffer.from(r.buffers[0]!).equals(Buffer.from(batch.buffers[i]!))));
  });

  test('an identity provider whose keys do not come in time: refused within the budget, not hung', async () => {
    // A TCP server that accepts and never answers stands for an unreachable JWKS endpoint.
    const sockets = new Set<Socket>();
    const silent = createServer((sock) => sockets.add(sock));
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    const port = (silent.address() as { port: number }).port;
    const slowGate = await startTokenGate({ upstream: orthanc.baseUrl, issuer: idp.issuer, audience: AUDIENCE, jwksUri: `http://127.0.0.1:${port}/jwks` });
    try {
      const res = await fetch(`${slowGate.url}/dicom-web/studies`, { headers: { authorization: `Bearer ${await idp.signJwt(good())}` } });
      assert.ok([401, 503].includes(res.status), `status ${res.status}`);
      assert.match(((await res.json()) as { message: string }).message, /in time|within 1 second/);
    } finally {
      await slowGate.stop();
      for (const sock of sockets) sock.destroy();
      await new Promise<void>((r) => silent.close(() => r()));
    }
  });
});
