/**
 * Keycloak for the interop suite and `npm start -- --idp keycloak`: the real server
 * (org.keycloak:keycloak-quarkus-dist from Maven Central, fetched once and cached under the
 * user's cache folder like MinIO), on Java 21+, listening on 127.0.0.1 only.
 *
 * The server is built once (`kc.sh build`, ~25 s, in-memory H2 so no state survives a run)
 * and then started with `--optimized` (~20 s). One server serves many test stacks: each
 * stack imports a realm of its own (`createKeycloakRealm`) through the admin REST API and
 * deletes it on stop, so a test pass starts Keycloak once (scripts/test.mjs passes the
 * running server to every test file through WSI_KEYCLOAK_URL / WSI_KEYCLOAK_ADMIN).
 *
 * The realm is generated from the same demo users and groups as the in-process provider
 * (idp.ts), set up the way docs/keycloak.md tells IT to:
 * - public client, PKCE S256 required, redirect `http://127.0.0.1/*` (any loopback port);
 * - group mapper (`groups`, full group path off) and audience mappers (the client, and the
 *   DICOMweb archive's audience in access tokens, as the archive's gate checks);
 * - the `offline_access` role for every demo user except `dave`, who reproduces the
 *   "user created by a realm import without offline_access" failure;
 * - short token lifetimes and refresh-token rotation on (revokeRefreshToken, maxReuse 0);
 * - an AWS session-tags mapper: `https://aws.amazon.com/tags` with principal_tags.groups
 *   and transitive_tag_keys, in the shape AssumeRoleWithWebIdentity reads.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { AppError } from '../../main/common/errors.js';
import { DEMO_USERS, DICOMWEB_AUDIENCE, type DemoUser } from './idp.js';

export const KEYCLOAK_VERSION = '26.7.3';
const DIST_URL = `https://repo.maven.apache.org/maven2/org/keycloak/keycloak-quarkus-dist/${KEYCLOAK_VERSION}/keycloak-quarkus-dist-${KEYCLOAK_VERSION}.tar.gz`;
/** Where the JDKs of the build machines are; JAVA_HOME wins. */
const JAVA_CANDIDATES = ['/usr/lib/jvm/temurin-25-jdk-amd64', '/usr/lib/jvm/temurin-21-jdk-amd64', '/usr/lib/jvm/java-21-openjdk-amd64'];

/** A demo user without Keycloak's offline_access role (see the module comment). */
export const NO_OFFLINE_USER: DemoUser = { username: 'dave', password: 'dave-demo-pw', name: 'Dave Imported', email: 'dave@demo-hospital.test', groups: ['pathology'] };

export interface KeycloakServer {
  /** e.g. http://127.0.0.1:41234 */
  url: string;
  admin: { username: string; password: string };
  /** Milliseconds from spawn to ready (0 when an already running server was reused). */
  startupMs: number;
  /** Stops the server if this process started it; a reused one is left running. */
  stop(): Promise<void>;
}

function cacheRoot(): string {
  return join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'slide-workstation');
}

/** A Java 21+ home, or why there is none. */
export function findJava(): { home: string } | { reason: string } {
  const candidates = [process.env.JAVA_HOME, ...JAVA_CANDIDATES].filter((p): p is string => !!p);
  for (const home of candidates) {
    const java = join(home, 'bin', 'java');
    if (!existsSync(java)) continue;
    const r = spawnSync(java, ['-version'], { encoding: 'utf8' });
    const m = /version "(\d+)/.exec(`${r.stderr}${r.stdout}`);
    if (m && Number(m[1]) >= 21) return { home };
  }
  return { reason: `Keycloak ${KEYCLOAK_VERSION} needs Java 21 or newer; none found (JAVA_HOME or ${JAVA_CANDIDATES.join(', ')}).` };
}

/** Why Keycloak cannot run here, or undefined when it can. */
export function keycloakUnavailable(): string | undefined {
  if (process.env.WSI_KEYCLOAK_URL) return undefined;
  const j = findJava();
  return 'reason' in j ? j.reason : undefined;
}

async function sha1(file: string): Promise<string> {
  const h = createHash('sha1');
  for await (const chunk of createReadStream(file)) h.update(chunk as Buffer);
  return h.digest('hex');
}

/** The unpacked and built distribution: downloaded and built once (about 30 s each), then reused. */
export async function ensureKeycloakDist(javaHome: string): Promise<string> {
  const home = join(cacheRoot(), `keycloak-${KEYCLOAK_VERSION}`);
  const built = join(home, '.slide-workstation-built');
  if (existsSync(built)) return home;
  mkdirSync(cacheRoot(), { recursive: true });
  if (!existsSync(join(home, 'bin', 'kc.sh'))) {
    const tgz = join(cacheRoot(), `keycloak-${KEYCLOAK_VERSION}.tar.gz.part`);
    process.stderr.write(`Downloading Keycloak ${KEYCLOAK_VERSION} from Maven Central (once)…\n`);
    const res = await fetch(DIST_URL);
    const sumRes = await fetch(`${DIST_URL}.sha1`);
    if (!res.ok || !sumRes.ok) {
      throw new AppError('STACK_KEYCLOAK_DOWNLOAD', `Keycloak ${KEYCLOAK_VERSION} could not be downloaded from Maven Central (HTTP ${res.status}).`, {
        hint: `Check access to repo.maven.apache.org, or unpack ${DIST_URL} into ${home} yourself.`,
      });
    }
    writeFileSync(tgz, Buffer.from(await res.arrayBuffer()));
    const want = (await sumRes.text()).trim().split(/\s+/)[0];
    const got = await sha1(tgz);
    if (got !== want) {
      rmSync(tgz, { force: true });
      throw new AppError('STACK_KEYCLOAK_DOWNLOAD', `The Keycloak download does not match Maven Central's checksum (${got} ≠ ${want}).`, { hint: 'Try again; a proxy may have altered the file.' });
    }
    const tmp = `${home}.unpack`;
    rmSync(tmp, { recursive: true, force: true });
    mkdirSync(tmp, { recursive: true });
    const x = spawnSync('tar', ['xzf', tgz, '-C', tmp], { stdio: 'inherit' });
    if (x.status !== 0) throw new AppError('STACK_KEYCLOAK_DOWNLOAD', 'The Keycloak archive could not be unpacked.', { hint: 'Check the free space in the cache folder.' });
    rmSync(home, { recursive: true, force: true });
    renameSync(join(tmp, `keycloak-${KEYCLOAK_VERSION}`), home);
    rmSync(tmp, { recursive: true, force: true });
    rmSync(tgz, { force: true });
  }
  // In-memory database: every start is a clean server; the realms come from the test stack.
  const b = spawnSync(join(home, 'bin', 'kc.sh'), ['build', '--db=dev-mem', '--health-enabled=false', '--metrics-enabled=false'], {
    env: { ...process.env, JAVA_HOME: javaHome },
    encoding: 'utf8',
  });
  if (b.status !== 0) {
    throw new AppError('STACK_KEYCLOAK_BUILD', 'Keycloak could not be built for the test stack.', { hint: `kc.sh build said: ${(b.stderr || b.stdout).slice(-800)}` });
  }
  writeFileSync(built, `${new Date().toISOString()}\n`);
  return home;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

let shared: Promise<KeycloakServer> | undefined;

/**
 * The Keycloak server of this test process: the one named by WSI_KEYCLOAK_URL (started once
 * by scripts/test.mjs for the whole pass), else one started now and kept for the process.
 */
export function keycloakServer(): Promise<KeycloakServer> {
  shared ??= (async () => {
    const url = process.env.WSI_KEYCLOAK_URL;
    const admin = process.env.WSI_KEYCLOAK_ADMIN;
    if (url && admin) {
      const i = admin.indexOf(':');
      return { url, admin: { username: admin.slice(0, i), password: admin.slice(i + 1) }, startupMs: 0, stop: async () => undefined };
    }
    const server = await startKeycloak();
    process.once('exit', () => server.kill());
    return server;
  })();
  shared.catch(() => (shared = undefined));
  return shared;
}

/** Start a Keycloak server on 127.0.0.1 (a random port), with a random temporary admin. */
export async function startKeycloak(): Promise<KeycloakServer & { kill(): void }> {
  const java = findJava();
  if ('reason' in java) throw new AppError('STACK_KEYCLOAK_NO_JAVA', java.reason, { hint: 'Install Temurin 21 or newer, or set JAVA_HOME.' });
  const home = await ensureKeycloakDist(java.home);
  const port = await freePort();
  const admin = { username: 'stack-admin', password: randomBytes(18).toString('base64url') };
  const t0 = Date.now();
  const child: ChildProcess = spawn(
    join(home, 'bin', 'kc.sh'),
    ['start', '--optimized', '--http-enabled=true', '--http-host=127.0.0.1', `--http-port=${port}`, '--hostname-strict=false', '--log-level=warn,org.keycloak.events:debug'],
    {
      env: { ...process.env, JAVA_HOME: java.home, KC_BOOTSTRAP_ADMIN_USERNAME: admin.username, KC_BOOTSTRAP_ADMIN_PASSWORD: admin.password },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: process.platform !== 'win32',
    },
  );
  let log = '';
  const keep = (b: Buffer): void => {
    log = (log + b.toString('utf8')).slice(-20_000);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const url = `http://127.0.0.1:${port}`;
  const exited = new Promise<never>((_, reject) =>
    child.once('exit', (code) => reject(new AppError('STACK_KEYCLOAK_START', `Keycloak stopped while starting (exit ${code}).`, { hint: `Its log ends with: ${log.slice(-1500)}` }))),
  );
  exited.catch(() => undefined);
  const ready = (async () => {
    // Poll discovery of the master realm: the HTTP listener answers only when Keycloak is ready.
    for (;;) {
      const ok = await fetch(`${url}/realms/master/.well-known/openid-configuration`).then((r) => r.ok, () => false);
      if (ok) return;
      await new Promise((r) => setTimeout(r, 250));
    }
  })();
  await Promise.race([ready, exited]);
  const startupMs = Date.now() - t0;
  const kill = (): void => {
    if (child.exitCode !== null || child.pid === undefined) return;
    try {
      // Its own process group: kc.sh starts java as a child.
      process.kill(process.platform === 'win32' ? child.pid : -child.pid, 'SIGTERM');
    } catch {
      // already gone
    }
  };
  return {
    url,
    admin,
    startupMs,
    kill,
    stop: async () => {
      if (child.exitCode !== null) return;
      const gone = new Promise<void>((r) => child.once('exit', () => r()));
      kill();
      await gone;
    },
  };
}

async function adminToken(kc: KeycloakServer): Promise<string> {
  const res = await fetch(`${kc.url}/realms/master/protocol/openid-connect/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: 'password', client_id: 'admin-cli', username: kc.admin.username, password: kc.admin.password }),
  });
  if (!res.ok) throw new AppError('STACK_KEYCLOAK_ADMIN', `Keycloak refused the stack's admin sign-in (HTTP ${res.status}).`, { hint: 'Restart the test pass; the admin of a reused server may have changed.' });
  return ((await res.json()) as { access_token: string }).access_token;
}

export interface RealmOptions {
  /** Default: a random name. */
  realm?: string;
  clientId?: string;
  users?: DemoUser[];
  /** Lifetimes in seconds. Keycloak has one lifespan for access and ID tokens: the smaller wins. */
  ttl?: { accessToken?: number; idToken?: number; refreshToken?: number };
  extraRedirectUris?: string[];
  /** Audience added to access tokens (the DICOMweb archive's). */
  resourceAudience?: string;
}

export interface KeycloakRealm {
  issuer: string;
  clientId: string;
  users: DemoUser[];
  realm: string;
  /** The realm's public keys, as the token gate reads them. */
  jwksUri: string;
  /** The realm's admin REST base (for tests that change it). */
  adminUrl: string;
  adminToken(): Promise<string>;
  stop(): Promise<void>;
}

/** The claim AWS STS reads session tags from (AssumeRoleWithWebIdentity). */
export const AWS_TAGS_CLAIM = 'https://aws.amazon.com/tags';

/** The realm representation: the demo users, groups and client, as docs/keycloak.md describes. */
export function realmRepresentation(o: Required<Pick<RealmOptions, 'realm' | 'clientId' | 'users'>> & RealmOptions): Record<string, unknown> {
  const lifespan = Math.min(o.ttl?.accessToken ?? 300, o.ttl?.idToken ?? 300);
  const refresh = o.ttl?.refreshToken ?? 14 * 24 * 3600;
  const groups = [...new Set(o.users.flatMap((u) => u.groups))];
  const tokenClaims = { 'id.token.claim': 'true', 'access.token.claim': 'true', 'userinfo.token.claim': 'true', 'introspection.token.claim': 'true' };
  return {
    realm: o.realm,
    enabled: true,
    sslRequired: 'none',
    accessTokenLifespan: lifespan,
    // Sessions outlive the test; the refresh token is bounded by the offline session.
    ssoSessionIdleTimeout: refresh,
    ssoSessionMaxLifespan: refresh,
    offlineSessionIdleTimeout: refresh,
    // Refresh-token rotation ("Revoke Refresh Token"): a used token is refused at once.
    revokeRefreshToken: true,
    refreshTokenMaxReuse: 0,
    eventsEnabled: true,
    groups: groups.map((name) => ({ name, path: `/${name}` })),
    users: o.users.map((u) => {
      const [first, ...rest] = u.name.split(' ');
      return {
        username: u.username,
        enabled: true,
        email: u.email,
        emailVerified: true,
        firstName: first,
        lastName: rest.join(' ') || first,
        credentials: [{ type: 'password', value: u.password, temporary: false }],
        groups: u.groups.map((g) => `/${g}`),
        // A realm import gives users no default roles: offline_access is granted by name.
        realmRoles: u.username === NO_OFFLINE_USER.username ? [] : ['offline_access'],
      };
    }),
    clients: [
      {
        clientId: o.clientId,
        name: 'Slide Workstation',
        enabled: true,
        publicClient: true,
        standardFlowEnabled: true,
        implicitFlowEnabled: false,
        directAccessGrantsEnabled: false,
        redirectUris: ['http://127.0.0.1/*', ...(o.extraRedirectUris ?? [])],
        webOrigins: [],
        attributes: {
          'pkce.code.challenge.method': 'S256',
          'post.logout.redirect.uris': ['http://127.0.0.1/*', ...(o.extraRedirectUris ?? [])].join('##'),
        },
        defaultClientScopes: ['basic', 'profile', 'email', 'roles', 'web-origins', 'acr'],
        optionalClientScopes: ['offline_access'],
        protocolMappers: [
          {
            name: 'groups',
            protocol: 'openid-connect',
            protocolMapper: 'oidc-group-membership-mapper',
            config: { ...tokenClaims, 'claim.name': 'groups', 'full.path': 'false' },
          },
          {
            name: 'audience',
            protocol: 'openid-connect',
            protocolMapper: 'oidc-audience-mapper',
            config: { 'included.client.audience': o.clientId, 'id.token.claim': 'false', 'access.token.claim': 'true', 'introspection.token.claim': 'true' },
          },
          ...(o.resourceAudience
            ? [
                {
                  name: 'archive audience',
                  protocol: 'openid-connect',
                  protocolMapper: 'oidc-audience-mapper',
                  config: { 'included.custom.audience': o.resourceAudience, 'id.token.claim': 'false', 'access.token.claim': 'true', 'introspection.token.claim': 'true' },
                },
              ]
            : []),
          // AWS session tags. Dots inside a claim name are escaped; unescaped ones nest.
          {
            name: 'aws principal tags',
            protocol: 'openid-connect',
            protocolMapper: 'oidc-group-membership-mapper',
            config: { 'id.token.claim': 'true', 'access.token.claim': 'false', 'userinfo.token.claim': 'false', 'claim.name': 'https://aws\\.amazon\\.com/tags.principal_tags.groups', 'full.path': 'false' },
          },
          {
            name: 'aws transitive tag keys',
            protocol: 'openid-connect',
            protocolMapper: 'oidc-hardcoded-claim-mapper',
            config: { 'id.token.claim': 'true', 'access.token.claim': 'false', 'userinfo.token.claim': 'false', 'claim.name': 'https://aws\\.amazon\\.com/tags.transitive_tag_keys', 'claim.value': '["groups"]', 'jsonType.label': 'JSON' },
          },
        ],
      },
    ],
  };
}

/** Import a fresh realm into `kc`; stop() deletes it. */
export async function createKeycloakRealm(kc: KeycloakServer, options: RealmOptions = {}): Promise<KeycloakRealm> {
  const realm = options.realm ?? `demo-${randomBytes(4).toString('hex')}`;
  const clientId = options.clientId ?? 'pathology-desktop';
  const users = options.users ?? [...DEMO_USERS, NO_OFFLINE_USER];
  const rep = realmRepresentation({ ...options, realm, clientId, users, resourceAudience: options.resourceAudience ?? DICOMWEB_AUDIENCE });
  const token = await adminToken(kc);
  const res = await fetch(`${kc.url}/admin/realms`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify(rep) });
  if (res.status !== 201) {
    throw new AppError('STACK_KEYCLOAK_REALM', `Keycloak refused the demo realm (HTTP ${res.status}).`, { hint: (await res.text()).slice(0, 500) });
  }
  const issuer = `${kc.url}/realms/${realm}`;
  const adminUrl = `${kc.url}/admin/realms/${realm}`;
  return {
    issuer,
    clientId,
    users,
    realm,
    jwksUri: `${issuer}/protocol/openid-connect/certs`,
    adminUrl,
    adminToken: () => adminToken(kc),
    stop: async () => {
      const t = await adminToken(kc).catch(() => undefined);
      if (t) await fetch(adminUrl, { method: 'DELETE', headers: { authorization: `Bearer ${t}` } }).catch(() => undefined);
    },
  };
}

/** Keycloak's recorded events of a realm (e.g. REFRESH_TOKEN_ERROR with "invalid_token"), newest first. */
export async function realmEvents(r: KeycloakRealm, type?: string): Promise<{ type: string; error?: string; details?: Record<string, string> }[]> {
  const t = await r.adminToken();
  const res = await fetch(`${r.adminUrl}/events?max=200${type ? `&type=${type}` : ''}`, { headers: { authorization: `Bearer ${t}` } });
  return (await res.json()) as { type: string; error?: string; details?: Record<string, string> }[];
}

/** The kind of identity provider a test stack runs on: `WSI_TEST_IDP=keycloak` switches every stack. */
export type IdpKind = 'oidc-provider' | 'keycloak';
export function defaultIdpKind(): IdpKind {
  return process.env.WSI_TEST_IDP === 'keycloak' ? 'keycloak' : 'oidc-provider';
}

// Kept for the cache-folder check in docs: a read of the marker proves the build step ran.
export function keycloakBuiltAt(): string | undefined {
  const f = join(cacheRoot(), `keycloak-${KEYCLOAK_VERSION}`, '.slide-workstation-built');
  return existsSync(f) ? readFileSync(f, 'utf8').trim() : undefined;
}
