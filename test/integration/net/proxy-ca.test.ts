/**
 * Behind a hospital's network: MinIO serving TLS with a certificate from a private CA made
 * here, reached only through a real forward proxy (Debian's squid). The injected fetch of
 * the headless host and the CLI (main/net/fetch.ts) lists and reads through the proxy
 * (squid's access log shows the CONNECTs) when `network.caFile` names the CA; without it
 * the error says the certificate is not trusted and names the setting.
 * Skipped where squid or openssl are not installed (test/stack/install-prereqs.sh installs them).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { Agent as HttpsAgent } from 'node:https';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateBucketCommand, PutObjectCommand, S3Client as SdkS3 } from '@aws-sdk/client-s3';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { isAppError } from '../../../main/common/errors.js';
import type { CredentialProvider } from '../../../main/credentials/types.js';
import { createNetworkFetch } from '../../../main/net/fetch.js';
import { S3Client, S3RangeReader } from '../../../main/sources/s3.js';
import { freePort, startMinio, type RunningMinio } from '../../stack/minio.js';

const missing = ['squid', 'openssl'].filter((t) => spawnSync('sh', ['-c', `command -v ${t} || test -x /usr/sbin/${t}`]).status !== 0);
const skip = missing.length ? `needs ${missing.join(', ')}` : false;
const SQUID = '/usr/sbin/squid';

const dir = mkdtempSync(join(tmpdir(), 'proxy-ca-'));
let minio: RunningMinio | undefined;
let squid: ChildProcess | undefined;
let proxyUrl = '';
const accessLog = join(dir, 'squid', 'access.log');
const caFile = join(dir, 'ca.pem');
const BODY = Buffer.from('slide bytes behind a TLS-inspecting proxy '.repeat(100));

function openssl(args: string[]): void {
  const r = spawnSync('openssl', args, { cwd: dir, encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
}

before(async () => {
  if (skip) return;
  // A private CA and a server certificate for 127.0.0.1 signed by it.
  openssl(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '2', '-subj', '/CN=Test Hospital Root CA']);
  openssl(['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=127.0.0.1']);
  writeFileSync(join(dir, 'san.ext'), 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n');
  openssl(['x509', '-req', '-in', 'server.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'server.pem', '-days', '2', '-extfile', 'san.ext']);
  const ca = readFileSync(caFile, 'utf8');
  minio = await startMinio({ issuer: 'http://127.0.0.1:9/unused', clientId: 'unused', tls: { cert: readFileSync(join(dir, 'server.pem'), 'utf8'), key: readFileSync(join(dir, 'server.key'), 'utf8'), ca } });
  const sdk = new SdkS3({
    endpoint: minio.endpoint,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: { accessKeyId: minio.rootUser, secretAccessKey: minio.rootPassword },
    requestHandler: new NodeHttpHandler({ httpsAgent: new HttpsAgent({ ca }) }),
  });
  await sdk.send(new CreateBucketCommand({ Bucket: 'slides' }));
  await sdk.send(new PutObjectCommand({ Bucket: 'slides', Key: 'case-1/slide.svs', Body: BODY }));

  // Started as root, squid drops to its own user ('proxy'), which must write its logs here.
  chmodSync(dir, 0o711);
  const logs = join(dir, 'squid');
  mkdirSync(logs, { mode: 0o777 });
  chmodSync(logs, 0o777);
  const port = await freePort();
  proxyUrl = `http://127.0.0.1:${port}`;
  writeFileSync(
    join(dir, 'squid.conf'),
    [
      `http_port 127.0.0.1:${port}`,
      'acl localnet src 127.0.0.1/32',
      'acl CONNECT method CONNECT',
      'http_access allow localnet',
      'http_access deny all',
      `access_log stdio:${accessLog}`,
      `cache_log ${join(logs, 'cache.log')}`,
      `pid_filename ${join(logs, 'squid.pid')}`,
      'cache deny all',
      'shutdown_lifetime 0 seconds',
      `coredump_dir ${logs}`,
      '',
    ].join('\n'),
  );
  squid = spawn(SQUID, ['-N', '-f', join(dir, 'squid.conf')], { stdio: ['ignore', 'ignore', 'pipe'] });
  // Ready when it accepts connections: the first request through it must succeed.
  for (let i = 0; ; i++) {
    const probe = await fetch(`${proxyUrl}/`).then(
      () => true,
      () => false,
    );
    if (probe) break;
    if (i > 200) throw new Error('squid did not start');
    await new Promise((r) => setTimeout(r, 50));
  }
});

after(async () => {
  if (squid?.exitCode === null) squid.kill('SIGKILL');
  await minio?.stop();
  rmSync(dir, { recursive: true, force: true });
});

function client(fetchImpl: ReturnType<typeof createNetworkFetch>): S3Client {
  const credentials: CredentialProvider = {
    get: async () => ({ accessKeyId: minio!.rootUser, secretAccessKey: minio!.rootPassword, sessionToken: '', expiration: new Date(Date.now() + 3600_000) }),
    info: () => null,
    invalidate: () => undefined,
  } as unknown as CredentialProvider; // root keys stand in for STS here: this test is about the network path
  return new S3Client({ endpoint: minio!.endpoint, region: 'us-east-1', forcePathStyle: true, credentials, ...(fetchImpl ? { fetch: fetchImpl } : {}) });
}

test('without the CA the error says the certificate is not trusted and names the setting', { skip }, async () => {
  const f = createNetworkFetch({ env: { HTTPS_PROXY: proxyUrl } });
  await assert.rejects(client(f).list('s3://slides/'), (e) => {
    const err = isAppError(e, 'NET_CERT_UNTRUSTED') ? e : (e as { cause?: unknown }).cause;
    return isAppError(err, 'NET_CERT_UNTRUSTED') && /not trusted/.test(err.message) && /network\.caFile/.test(err.hint ?? '');
  });
});

test('through the proxy, with the private CA from network.caFile: listing and range reads work', { skip }, async () => {
  const f = createNetworkFetch({ caFile, env: { HTTPS_PROXY: proxyUrl } });
  assert.ok(f);
  const s3 = client(f);
  const listing = await s3.list('s3://slides/');
  assert.deepEqual(listing.entries.map((e) => e.name), ['case-1']);
  const reader = new S3RangeReader(s3, 'slides', 'case-1/slide.svs');
  const { buffers } = await reader.read([{ offset: 10, length: 20 }, { offset: 1000, length: 50 }]);
  assert.deepEqual(Buffer.from(buffers[0]!), BODY.subarray(10, 30));
  assert.deepEqual(Buffer.from(buffers[1]!), BODY.subarray(1000, 1050));
  // squid logs a CONNECT when its tunnel closes: stop it (it closes them) and read the log.
  const exited = new Promise((r) => squid!.once('exit', r));
  squid!.kill('SIGTERM');
  await exited;
  const log = readFileSync(accessLog, 'utf8');
  const port = new URL(minio!.endpoint).port;
  assert.match(log, new RegExp(`CONNECT 127\\.0\\.0\\.1:${port}`), 'the requests went through squid');
});

test('a proxy address that is not a URL, and an unreadable CA file, are refused at start', { skip }, () => {
  assert.throws(() => createNetworkFetch({ env: { HTTPS_PROXY: 'proxy:3128 ' } }), (e) => isAppError(e, 'NET_PROXY_INVALID'));
  assert.throws(() => createNetworkFetch({ caFile: join(dir, 'nope.pem'), env: {} }), (e) => isAppError(e, 'NET_CA_FILE_UNREADABLE'));
  assert.equal(createNetworkFetch({ env: {} }), undefined, 'nothing configured: Node’s own fetch');
});
