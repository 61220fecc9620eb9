/**
 * MinIO for the test stack: the cached binary (built once from the Go module proxy by
 * build-minio.sh), started on 127.0.0.1 with random ports and random root credentials in a
 * temporary data folder, with its OpenID STS pointed at the test IdP. The `groups` claim
 * names the canned policy (MINIO_IDENTITY_OPENID_CLAIM_NAME), so a user's group is their
 * storage right. Policies are created over MinIO's admin REST API, signed with SigV4.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { Agent as UndiciAgent, fetch as undiciFetch } from 'undici';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { homedir, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { SignatureV4 } from '@smithy/signature-v4';
import { Sha256 } from '@aws-crypto/sha256-js';
import { AppError } from '../../main/common/errors.js';

const here = dirname(fileURLToPath(import.meta.url));
const SETPRIV = process.platform === 'linux' ? ['/usr/bin/setpriv', '/bin/setpriv'].find((p) => existsSync(p)) : undefined;

export interface RunningMinio {
  /** http://127.0.0.1:PORT; S3 and STS share it. */
  endpoint: string;
  rootUser: string;
  rootPassword: string;
  dataDir: string;
  /** The MinIO server process id (tests check it is gone after stop()). */
  pid: number;
  /** Last lines MinIO wrote, for error messages. */
  output(): string;
  stop(): Promise<void>;
}

export interface MinioOptions {
  issuer: string;
  clientId: string;
  /** Default: a fresh temporary folder, removed by stop(). A given folder is kept. */
  dataDir?: string;
  /** Default 'groups'. */
  claimName?: string;
  /** Serve TLS with this PEM certificate and key (the endpoint becomes https://); `ca` verifies it. */
  tls?: { cert: string; key: string; ca: string };
}

function cacheRoot(): string {
  return join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'slide-workstation');
}

/** Path of the MinIO binary: the cached build, else built now with Go (minutes, once). */
export async function minioBinary(): Promise<string> {
  const fromEnv = process.env.MINIO_BINARY;
  if (fromEnv && existsSync(fromEnv)) return fromEnv;
  const bin = join(cacheRoot(), 'minio-bin', 'minio');
  if (existsSync(bin)) return bin;
  const go = spawnSync('go', ['version'], { encoding: 'utf8' });
  if (go.error || go.status !== 0) {
    throw new AppError('STACK_MINIO_MISSING', `MinIO is not built yet (expected at ${bin}) and Go is not installed to build it.`, {
      hint: 'Install Go (https://go.dev/dl or `apt-get install golang`) and run `bash test/stack/build-minio.sh` once, or set MINIO_BINARY to a MinIO server binary.',
    });
  }
  const build = spawnSync('bash', [join(here, 'build-minio.sh')], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  if (build.status !== 0 || !existsSync(bin)) {
    throw new AppError('STACK_MINIO_BUILD', `Building MinIO with Go failed (exit ${build.status}).`, {
      hint: 'Check the Go output above; the build needs the Go module proxy (proxy.golang.org) to be reachable.',
    });
  }
  return bin;
}

/** A port the OS just handed out; MinIO cannot be told to listen on port 0. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const addr = s.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      s.close(() => resolve(port));
    });
  });
}

export async function startMinio(opts: MinioOptions): Promise<RunningMinio> {
  const bin = await minioBinary();
  const ownsDir = !opts.dataDir;
  const base = opts.dataDir ?? mkdtempSync(join(tmpdir(), 'stack-minio-'));
  const dataDir = join(base, 'data');
  const certsDir = join(base, 'certs');
  mkdirSync(dataDir, { recursive: true });
  mkdirSync(certsDir, { recursive: true });
  if (opts.tls) {
    writeFileSync(join(certsDir, 'public.crt'), opts.tls.cert);
    writeFileSync(join(certsDir, 'private.key'), opts.tls.key, { mode: 0o600 });
  }
  const rootUser = `root${randomBytes(6).toString('hex')}`;
  const rootPassword = randomBytes(24).toString('base64url');

  // A port taken between freePort() and MinIO's bind makes MinIO exit; try a few times.
  let lastError: unknown;
  for (let attempt = 0; attempt < 4; attempt++) {
    const port = await freePort();
    try {
      return await launch(bin, port, { ...opts, dataDir, certsDir, rootUser, rootPassword, base, ownsDir });
    } catch (err) {
      lastError = err;
      if (!(err instanceof AppError && err.code === 'STACK_MINIO_PORT')) break;
    }
  }
  if (ownsDir) rmSync(base, { recursive: true, force: true });
  throw lastError;
}

interface LaunchArgs extends MinioOptions {
  dataDir: string;
  certsDir: string;
  rootUser: string;
  rootPassword: string;
  base: string;
  ownsDir: boolean;
}

async function launch(bin: string, port: number, a: LaunchArgs): Promise<RunningMinio> {
  const endpoint = `${a.tls ? 'https' : 'http'}://127.0.0.1:${port}`;
  // A private CA is trusted for the readiness probes only; the code under test brings its own.
  const probe: typeof fetch = a.tls
    ? ((input, init) => undiciFetch(input as string, { ...(init as object), dispatcher: new UndiciAgent({ connect: { ca: a.tls!.ca } }) }) as unknown as Promise<Response>)
    : fetch;
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: a.base,
    MINIO_ROOT_USER: a.rootUser,
    MINIO_ROOT_PASSWORD: a.rootPassword,
    MINIO_BROWSER: 'off',
    MINIO_UPDATE: 'off',
    MINIO_CALLHOME_ENABLE: 'off',
    MINIO_IDENTITY_OPENID_CONFIG_URL: `${a.issuer}/.well-known/openid-configuration`,
    MINIO_IDENTITY_OPENID_CLIENT_ID: a.clientId,
    MINIO_IDENTITY_OPENID_CLAIM_NAME: a.claimName ?? 'groups',
    MINIO_IDENTITY_OPENID_SCOPES: 'openid,profile,email,groups',
  };
  const args = ['server', '--quiet', '--address', `127.0.0.1:${port}`, '--certs-dir', a.certsDir, a.dataDir];
  // setpriv (util-linux) execs MinIO with a parent-death signal, so a test process killed
  // with SIGKILL does not leave MinIO running; the pid stays MinIO's.
  const child: ChildProcess = SETPRIV
    ? spawn(SETPRIV, ['--pdeathsig', 'TERM', '--', bin, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] })
    : spawn(bin, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  const keep = (b: Buffer): void => {
    out = (out + b.toString('utf8')).slice(-8000);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  let exited: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  const exitPromise = new Promise<void>((resolve) =>
    child.once('exit', (code, signal) => {
      exited = { code, signal };
      resolve();
    }),
  );
  const spawnError = new Promise<Error>((resolve) => child.once('error', resolve));

  const stop = async (): Promise<void> => {
    if (!exited) {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exitPromise;
      clearTimeout(timer);
    }
    if (a.ownsDir) rmSync(a.base, { recursive: true, force: true });
  };

  // Ready = the health endpoint answers 200 (IAM and the OpenID provider are loaded by then).
  const deadline = Date.now() + 60_000;
  for (;;) {
    const failed = await Promise.race([spawnError, new Promise<undefined>((r) => setTimeout(() => r(undefined), 0))]);
    if (failed) {
      await stop();
      throw new AppError('STACK_MINIO_START', `MinIO could not be started from ${bin}: ${failed.message}.`, {
        cause: failed,
        hint: 'Rebuild it with `bash test/stack/build-minio.sh`.',
      });
    }
    if (exited) {
      if (a.ownsDir) rmSync(a.base, { recursive: true, force: true });
      const portTrouble = /already in use|bind:/i.test(out);
      throw new AppError(
        portTrouble ? 'STACK_MINIO_PORT' : 'STACK_MINIO_START',
        `MinIO exited during start-up (code ${exited.code ?? exited.signal}): ${out.trim().split('\n').slice(-5).join(' | ')}`,
        { hint: portTrouble ? `Port ${port} on 127.0.0.1 was taken; try again.` : 'Read MinIO\'s message above.', details: { port } },
      );
    }
    try {
      const r = await probe(`${endpoint}/minio/health/ready`, { signal: AbortSignal.timeout(2000) });
      if (r.ok) break;
    } catch {
      /* not listening yet */
    }
    if (Date.now() > deadline) {
      await stop();
      throw new AppError('STACK_MINIO_TIMEOUT', 'MinIO did not become ready within 60 s.', { details: { output: out.slice(-2000) } });
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  // STS needs IAM initialised, which can lag the health check by a moment.
  if (!a.tls) await waitForIam(endpoint, a.rootUser, a.rootPassword);

  return { endpoint, rootUser: a.rootUser, rootPassword: a.rootPassword, dataDir: a.dataDir, pid: child.pid ?? -1, output: () => out, stop };
}

async function waitForIam(endpoint: string, accessKeyId: string, secretAccessKey: string): Promise<void> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const r = await adminRequest(endpoint, { accessKeyId, secretAccessKey }, 'GET', '/minio/admin/v3/list-canned-policies');
    if (r.status === 200) return;
    if (Date.now() > deadline) throw new AppError('STACK_MINIO_IAM', `MinIO's IAM did not initialise (HTTP ${r.status}: ${r.body.slice(0, 300)}).`);
    await new Promise((res) => setTimeout(res, 100));
  }
}

/** One SigV4-signed call to MinIO's admin API (service "s3", region us-east-1). */
export async function adminRequest(
  endpoint: string,
  credentials: { accessKeyId: string; secretAccessKey: string },
  method: 'GET' | 'PUT' | 'POST' | 'DELETE',
  path: string,
  query: Record<string, string> = {},
  body?: string,
): Promise<{ status: number; body: string }> {
  const u = new URL(endpoint);
  const signer = new SignatureV4({ service: 's3', region: 'us-east-1', credentials, sha256: Sha256 });
  const signed = await signer.sign({
    method,
    protocol: u.protocol,
    hostname: u.hostname,
    port: Number(u.port),
    path,
    query,
    headers: { host: u.host, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
    ...(body !== undefined ? { body } : {}),
  });
  const qs = new URLSearchParams(query).toString();
  const res = await fetch(`${endpoint}${path}${qs ? `?${qs}` : ''}`, {
    method,
    headers: signed.headers,
    ...(body !== undefined ? { body } : {}),
  });
  return { status: res.status, body: await res.text() };
}

/** A read-only S3 policy over whole buckets. */
export function readOnlyPolicy(buckets: string[]): object {
  return {
    Version: '2012-10-17',
    Statement: [
      { Effect: 'Allow', Action: ['s3:ListBucket', 's3:GetBucketLocation'], Resource: buckets.map((b) => `arn:aws:s3:::${b}`) },
      { Effect: 'Allow', Action: ['s3:GetObject'], Resource: buckets.map((b) => `arn:aws:s3:::${b}/*`) },
    ],
  };
}

export async function addCannedPolicy(m: RunningMinio, name: string, policy: object): Promise<void> {
  const r = await adminRequest(
    m.endpoint,
    { accessKeyId: m.rootUser, secretAccessKey: m.rootPassword },
    'PUT',
    '/minio/admin/v3/add-canned-policy',
    { name },
    JSON.stringify(policy),
  );
  if (r.status !== 200) throw new AppError('STACK_MINIO_POLICY', `MinIO refused to create policy "${name}" (HTTP ${r.status}): ${r.body.slice(0, 300)}`);
}
