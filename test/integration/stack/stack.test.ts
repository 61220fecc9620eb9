/**
 * The whole stack on real servers: users sign in in Chromium, exchange their ID token at
 * MinIO's STS with a plain POST, and read exactly the buckets their group's policy allows.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { GetObjectCommand, ListObjectsV2Command, S3Client, S3ServiceException } from '@aws-sdk/client-s3';
import type { Browser } from 'playwright-core';
import { flatten, validateLayer } from '../../../main/config/load.js';
import { startStack, type RunningStack } from '../../stack/stack.js';
import { launchChromium } from '../../stack/browser-login.js';
import { loginViaBrowser } from '../../stack/test-client.js';
import { assumeRoleWithWebIdentity, type StsResult } from '../../stack/sts.js';
import type { DemoUser } from '../../stack/idp.js';

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('test stack: IdP + MinIO STS + seeded buckets', () => {
  let stack: RunningStack;
  let browser: Browser;
  const idTokens = new Map<string, string>();

  before(async () => {
    stack = await startStack({ ttl: { idToken: 120 } });
    browser = await launchChromium();
  });
  after(async () => {
    await browser?.close();
    const pid = stack?.minio.pid;
    const dir = stack?.dir;
    await stack?.stop();
    // Clean stop: no MinIO process and no temp folder left behind.
    if (pid) assert.equal(isRunning(pid), false, 'MinIO is gone after stop()');
    if (dir) assert.equal(existsSync(dir), false, 'the stack folder is removed');
  });

  const user = (name: string): DemoUser => stack.users.find((u) => u.username === name)!;

  async function idTokenOf(name: string): Promise<string> {
    const cached = idTokens.get(name);
    if (cached) return cached;
    const ctx = await browser.newContext();
    try {
      const { tokens } = await loginViaBrowser(await ctx.newPage(), stack.issuer, stack.clientId, user(name));
      idTokens.set(name, tokens.id_token!);
      return tokens.id_token!;
    } finally {
      await ctx.close();
    }
  }

  function s3With(creds: NonNullable<StsResult['credentials']>): S3Client {
    return new S3Client({
      endpoint: stack.s3Endpoint,
      region: stack.region,
      forcePathStyle: true,
      credentials: { accessKeyId: creds.accessKeyId, secretAccessKey: creds.secretAccessKey, sessionToken: creds.sessionToken },
    });
  }

  async function canList(s3: S3Client, bucket: string): Promise<boolean | string> {
    try {
      const r = await s3.send(new ListObjectsV2Command({ Bucket: bucket }));
      return (r.KeyCount ?? 0) > 0;
    } catch (err) {
      if (err instanceof S3ServiceException) return err.name;
      throw err;
    }
  }

  it('writes a valid settings file for the app', () => {
    const config = JSON.parse(readFileSync(stack.configFile, 'utf8')) as Record<string, unknown>;
    validateLayer(flatten(config), stack.configFile);
    assert.equal((config.organisation as { name: string }).name, 'Demo Hospital');
    assert.deepEqual(config.auth, { issuer: stack.issuer, clientId: 'pathology-desktop', allowInsecureIssuer: true });
    const storage = config.storage as { s3: { endpoint: string; buckets: { name: string }[] }; sts: { provider: string; endpoint: string } };
    assert.equal(storage.s3.endpoint, stack.s3Endpoint);
    assert.deepEqual(storage.s3.buckets.map((b) => b.name), ['pathology-slides', 'research-slides', 'teaching']);
    assert.deepEqual(storage.sts, { provider: 'minio', endpoint: stack.stsEndpoint });
    const paths = config.paths as { data: string; cache: string };
    assert.ok(paths.data.startsWith(stack.dir) && paths.cache.startsWith(stack.dir));
  });

  it('seeds a demo slide, non-slide files and folders into every bucket', () => {
    for (const b of stack.buckets) {
      assert.ok(b.keys.some((k) => /^demo\/demo-tissue-[abc]\.tif$/.test(k)), `${b.name} has a demo slide`);
      assert.ok(b.keys.includes('README.txt') && b.keys.includes('cases/index.csv'), `${b.name} has non-slide files`);
    }
    assert.deepEqual(stack.buckets.find((b) => b.name === 'pathology-slides')!.readableBy, ['alice']);
    assert.deepEqual(stack.buckets.find((b) => b.name === 'research-slides')!.readableBy, ['bob']);
    assert.deepEqual(stack.buckets.find((b) => b.name === 'teaching')!.readableBy, ['alice', 'bob']);
  });

  it('alice gets STS credentials and reads pathology-slides and teaching, not research-slides', async () => {
    const sts = await assumeRoleWithWebIdentity(stack.stsEndpoint, await idTokenOf('alice'));
    assert.equal(sts.status, 200, `${sts.code}: ${sts.message}`);
    const s3 = s3With(sts.credentials!);
    try {
      assert.equal(await canList(s3, 'pathology-slides'), true);
      assert.equal(await canList(s3, 'teaching'), true);
      assert.equal(await canList(s3, 'research-slides'), 'AccessDenied');
      // A ranged read of the demo slide: the TIFF header.
      const obj = await s3.send(new GetObjectCommand({ Bucket: 'pathology-slides', Key: 'demo/demo-tissue-a.tif', Range: 'bytes=0-3' }));
      const head = Buffer.from(await obj.Body!.transformToByteArray());
      assert.equal(obj.$metadata.httpStatusCode, 206);
      assert.deepEqual([...head], [0x49, 0x49, 0x2a, 0x00]);
      await assert.rejects(s3.send(new GetObjectCommand({ Bucket: 'research-slides', Key: 'demo/demo-tissue-b.tif' })), { name: 'AccessDenied' });
    } finally {
      s3.destroy();
    }
  });

  it('bob reads research-slides and teaching, not pathology-slides', async () => {
    const sts = await assumeRoleWithWebIdentity(stack.stsEndpoint, await idTokenOf('bob'));
    assert.equal(sts.status, 200, `${sts.code}: ${sts.message}`);
    const s3 = s3With(sts.credentials!);
    try {
      assert.equal(await canList(s3, 'research-slides'), true);
      assert.equal(await canList(s3, 'teaching'), true);
      assert.equal(await canList(s3, 'pathology-slides'), 'AccessDenied');
    } finally {
      s3.destroy();
    }
  });

  it("refuses carol's STS request: no policy matches her (empty) groups", async () => {
    const sts = await assumeRoleWithWebIdentity(stack.stsEndpoint, await idTokenOf('carol'));
    assert.equal(sts.status, 400);
    assert.equal(sts.code, 'InvalidParameterValue');
    assert.match(sts.message ?? '', /None of the given policies .* are defined/);
    assert.equal(sts.credentials, undefined);
  });

  it('credentials without DurationSeconds expire with the ID token; DurationSeconds below 900 is refused', async () => {
    const token = await idTokenOf('alice');
    const exp = JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()).exp as number;
    const sts = await assumeRoleWithWebIdentity(stack.stsEndpoint, token);
    assert.equal(Math.round(sts.credentials!.expiration.getTime() / 1000), exp);
    const short = await assumeRoleWithWebIdentity(stack.stsEndpoint, token, 60);
    assert.equal(short.code, 'InvalidParameterValue');
    const minimum = await assumeRoleWithWebIdentity(stack.stsEndpoint, token, 900);
    assert.equal(minimum.status, 200);
    assert.ok(minimum.credentials!.expiration.getTime() / 1000 > exp, 'DurationSeconds may outlive the ID token');
  });

  it('expired STS credentials are refused by S3 with InvalidAccessKeyId', async () => {
    const now = Math.floor(Date.now() / 1000);
    const token = await stack.idp.signJwt({ iss: stack.issuer, aud: stack.clientId, sub: 'alice', groups: ['pathology'], iat: now, exp: now + 3 });
    const sts = await assumeRoleWithWebIdentity(stack.stsEndpoint, token);
    assert.equal(sts.status, 200, `${sts.code}: ${sts.message}`);
    const s3 = s3With(sts.credentials!);
    try {
      assert.equal(await canList(s3, 'pathology-slides'), true);
      // Wait past the expiry (second resolution) before using them again.
      const wait = sts.credentials!.expiration.getTime() + 2000 - Date.now();
      await new Promise((r) => setTimeout(r, Math.max(wait, 0)));
      assert.equal(await canList(s3, 'pathology-slides'), 'InvalidAccessKeyId');
    } finally {
      s3.destroy();
    }
  });

  it('refuses tokens not from this IdP setup: wrong audience, expired', async () => {
    const now = Math.floor(Date.now() / 1000);
    const base = { iss: stack.issuer, sub: 'alice', groups: ['pathology'], iat: now };
    const wrongAud = await assumeRoleWithWebIdentity(stack.stsEndpoint, await stack.idp.signJwt({ ...base, aud: 'other-app', exp: now + 300 }));
    assert.equal(wrongAud.code, 'InvalidParameterValue');
    assert.match(wrongAud.message ?? '', /azp|aud/);
    const expired = await assumeRoleWithWebIdentity(stack.stsEndpoint, await stack.idp.signJwt({ ...base, aud: stack.clientId, iat: now - 600, exp: now - 300 }));
    assert.equal(expired.code, 'InvalidParameterValue');
    assert.match(expired.message ?? '', /expired/i);
  });
});
