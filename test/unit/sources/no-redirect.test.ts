/**
 * Requests carrying credentials never follow redirects: a real HTTP server answers S3,
 * STS and DICOMweb requests with 302/307 to a second server, which counts what reaches it.
 * Each client refuses with NET_REDIRECT_REFUSED and the second server sees nothing (no
 * signature, no web-identity token, no bearer token).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { isAppError } from '../../../main/common/errors.js';
import { REDIRECT_ERRORS } from '../../../main/common/no-redirect.js';
import { StsWebIdentityProvider } from '../../../main/credentials/provider.js';
import { DicomwebClient } from '../../../main/sources/dicomweb/client.js';
import { S3Client } from '../../../main/sources/s3.js';

async function listen(handler: (req: IncomingMessage, res: import('node:http').ServerResponse) => void): Promise<{ server: Server; url: string }> {
  const server = createServer(handler);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

describe('credential-carrying requests do not follow redirects', () => {
  let target: { server: Server; url: string };
  let redirector: { server: Server; url: string };
  const reached: IncomingMessage[] = [];
  let status = 302;
  before(async () => {
    target = await listen((req, res) => {
      reached.push(req);
      res.end('<ok/>');
    });
    redirector = await listen((req, res) => {
      res.writeHead(status, { location: `${target.url}${req.url ?? '/'}` });
      res.end();
    });
  });
  after(async () => {
    await new Promise((r) => target.server.close(r));
    await new Promise((r) => redirector.server.close(r));
  });

  const refused = (e: unknown): boolean => {
    assert.ok(isAppError(e, 'NET_REDIRECT_REFUSED'), String(e));
    assert.equal(e.kind, REDIRECT_ERRORS.entries.NET_REDIRECT_REFUSED.kind);
    assert.ok(!JSON.stringify(e.details).includes('X-Amz'), 'no signature in the details');
    return true;
  };

  for (const code of [302, 307]) {
    test(`S3 (SigV4) refuses a ${code}`, async () => {
      status = code;
      const credentials = { get: async () => ({ accessKeyId: 'AKIA', secretAccessKey: 's', sessionToken: 'session-token', expiration: new Date(Date.now() + 3600_000) }), invalidate: () => undefined, info: () => undefined };
      const s3 = new S3Client({ endpoint: redirector.url, region: 'us-east-1', forcePathStyle: true, credentials: credentials as never, retry: { maxAttempts: 1, baseDelayMs: 1, maxDelayMs: 1 } });
      await assert.rejects(s3.headObject('slides', 'a.svs'), refused);
      assert.equal(reached.length, 0);
    });

    test(`STS (web identity) refuses a ${code}`, async () => {
      status = code;
      const sts = new StsWebIdentityProvider({
        sts: { provider: 'minio', endpoint: redirector.url, roleArn: '', durationSeconds: 0, token: 'id' } as never,
        region: 'us-east-1',
        identity: { getIdToken: async () => 'the-id-token', getAccessToken: async () => 'the-access-token', user: () => ({ sub: 'alice' }) },
      });
      await assert.rejects(sts.get(), refused);
      assert.equal(reached.length, 0);
    });

    test(`DICOMweb (bearer) refuses a ${code}`, async () => {
      status = code;
      const client = new DicomwebClient({ root: `${redirector.url}/dicom-web`, token: { getAccessToken: async () => 'the-access-token' }, retry: { maxAttempts: 1, baseDelayMs: 1, maxDelayMs: 1 } });
      await assert.rejects(client.searchStudies(), refused);
      assert.equal(reached.length, 0);
    });
  }
});
