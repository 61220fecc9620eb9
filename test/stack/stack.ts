/**
 * The whole test/demo environment: the IdP, MinIO with its OpenID STS, canned policies per
 * group, seeded buckets, and a settings file for the app (`--config FILE`).
 *
 * Buckets and who reads them:
 *   pathology-slides  group pathology (alice)
 *   research-slides   group research  (bob)
 *   teaching          both groups
 * carol has no group, so MinIO refuses her STS request (no policy). See
 * docs/decisions/0301-test-stack.md for MinIO's credential lifetimes.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CreateBucketCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { flatten, validateLayer } from '../../main/config/load.js';
import { AppError } from '../../main/common/errors.js';
import { sameGroup } from '../../main/auth/service.js';
import { startIdp, DEMO_USERS, DICOMWEB_AUDIENCE, DICOMWEB_RESOURCE, type DemoUser, type IdpOptions, type RunningIdp } from './idp.js';
import { addCannedPolicy, readOnlyPolicy, startMinio, type RunningMinio } from './minio.js';
import { ensureDemoSlide } from './demo-slides.js';
import { orthancUnavailable, startOrthanc, type RunningOrthanc } from './orthanc.js';
import { startTokenGate, type RunningTokenGate } from './token-gate.js';
import { createKeycloakRealm, defaultIdpKind, keycloakServer, type IdpKind, type KeycloakRealm } from './keycloak.js';

const projectRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
/** The shared real-slide collection, read in place; never copied into the project. */
export const SHARED_TESTDATA = resolve(projectRoot, '..', 'shared', 'testdata');

export interface StackOptions {
  ttl?: IdpOptions['ttl'];
  /** Default: true when ../shared/testdata exists. */
  seedSharedTestdata?: boolean;
  /** Where config.json, MinIO's data and the app's data/cache folders go. Default: a temp dir removed by stop(). */
  dir?: string;
  /** Keep `dir` on stop() even when the stack created it. */
  keep?: boolean;
  extraRedirectUris?: string[];
  /**
   * Also start Orthanc (DICOMweb, loaded with ../shared/testdata/dicom-wsi and a dicomized
   * TIFF) behind the HealthImaging-style token gate (audience `dicomweb`, groups
   * pathology/research). Needs `ip netns` (root). Default false. 'if-available': start it
   * when this machine can (the built-in demo), else go on without and say why on stderr.
   */
  dicomweb?: boolean | 'if-available';
  /**
   * Which identity provider: the in-process oidc-provider, or a realm on the real Keycloak
   * server (test/stack/keycloak.ts). Default: WSI_TEST_IDP, else oidc-provider.
   */
  idp?: IdpKind;
}

export interface StackDicomweb {
  /** DICOMweb root through the token gate: bearer JWTs for `audience` from the stack's IdP. */
  root: string;
  audience: string;
  /** The source's name in the app's settings (slide addresses dicomweb://<name>/…). */
  name: string;
  label: string;
  /** The RFC 8707 resource indicator the app asks the IdP for (its tokens carry `audience`). */
  resource: string;
  orthanc: RunningOrthanc;
  gate: RunningTokenGate;
}

export interface StackBucket {
  name: string;
  /** Usernames of the demo users whose group policy reads this bucket. */
  readableBy: string[];
  /** Groups (= MinIO policy names) that read it. */
  groups: string[];
  /** Object keys seeded into it. */
  keys: string[];
}

export interface RunningStack {
  issuer: string;
  clientId: string;
  s3Endpoint: string;
  stsEndpoint: string;
  region: string;
  buckets: StackBucket[];
  users: DemoUser[];
  configFile: string;
  dir: string;
  idp: RunningIdp;
  /** Which provider `idp` is; with 'keycloak', `keycloak` is its realm. */
  idpKind: IdpKind;
  keycloak?: KeycloakRealm;
  minio: RunningMinio;
  /** Present when started with `dicomweb: true`. */
  dicomweb?: StackDicomweb;
  /** Milliseconds from startStack() to ready. */
  startupMs: number;
  stop(): Promise<void>;
}

const BUCKET_GROUPS: { name: string; groups: string[]; label: string }[] = [
  { name: 'pathology-slides', groups: ['pathology'], label: 'Pathology archive' },
  { name: 'research-slides', groups: ['research'], label: 'Research' },
  { name: 'teaching', groups: ['pathology', 'research'], label: 'Teaching collection' },
];

const DEMO_SLIDES = {
  'pathology-slides': { name: 'demo-tissue-a', width: 4096, height: 3072, seed: 1 },
  'research-slides': { name: 'demo-tissue-b', width: 3072, height: 4096, seed: 2 },
  teaching: { name: 'demo-tissue-c', width: 2560, height: 2048, seed: 3 },
} as const;

/** Shared test files per bucket: [path under testdata, key in the bucket]. Missing ones are skipped. */
const SHARED_FILES: Record<string, [string, string][]> = {
  'pathology-slides': [
    ['aperio-svs/CMU-1-Small-Region.svs', 'aperio/CMU-1-Small-Region.svs'],
    ['aperio-svs/aperio-16x16-crop.svs', 'aperio/aperio-16x16-crop.svs'],
    ['derived/generic-tiff/CMU-1-Small-Region.pyramid-jpeg.tif', 'generic-tiff/CMU-1-Small-Region.pyramid-jpeg.tif'],
    ['derived/generic-tiff/CMU-1-Small-Region.pyramid-jpeg.bigtiff.tif', 'generic-tiff/CMU-1-Small-Region.pyramid-jpeg.bigtiff.tif'],
    ['dicom-wsi/cmu1-small-region-wsi2dcm-pyramid/', 'dicom/cmu1-small-region/'],
  ],
  'research-slides': [
    ['hamamatsu-ndpi/test3-DAPI-2-387.ndpi', 'ndpi/test3-DAPI-2-387.ndpi'],
    ['hamamatsu-ndpi/test3-TRITC-2-560.ndpi', 'ndpi/test3-TRITC-2-560.ndpi'],
    ['derived/ome-tiff/CMU-1-Small-Region.rgb-pyramid-subifds.ome.tif', 'ome-tiff/CMU-1-Small-Region.rgb-pyramid-subifds.ome.tif'],
    ['derived/ome-tiff/NDPI-DAPI-TRITC.2ch-uint16-pyramid-subifds.ome.tif', 'ome-tiff/NDPI-DAPI-TRITC.2ch-uint16-pyramid-subifds.ome.tif'],
    ['dicom-wsi/wg26-bpaec-3dhistech-partial/', 'dicom/wg26-bpaec/'],
    ['zeiss-czi/1_tileregion.czi', 'czi/1_tileregion.czi'],
    ['zeiss-czi/S3_1Pos_2Mosaic_T1_Z1_CH1.czi', 'czi/S3_1Pos_2Mosaic_T1_Z1_CH1.czi'],
  ],
  // Teaching: one of each remaining kind the engine reads, each DICOM object in a folder of its own (not one series).
  teaching: [
    ['dicom-wsi/wsi2dcm-single-level/jpeg-baseline.dcm', 'dicom/single-level/jpeg-baseline.dcm'],
    ['dicom-wsi/wsi2dcm-single-level/jpeg2000-lossless.dcm', 'dicom/jpeg2000/jpeg2000-lossless.dcm'],
    ['dicom-wsi/wsi2dcm-single-level/raw-explicit-le.dcm', 'dicom/native/raw-explicit-le.dcm'],
    ['dicom-wsi/pathml-small_dicom-tcga.dcm', 'dicom/tcga/pathml-small_dicom-tcga.dcm'],
    ['hamamatsu-ndpi/test3-DAPI-2-387.ndpi', 'ndpi/test3-DAPI-2-387.ndpi'],
    ['derived/ome-tiff/CMU-1-Small-Region.rgb-pyramid-subifds.ome.tif', 'ome-tiff/CMU-1-Small-Region.rgb-pyramid-subifds.ome.tif'],
  ],
};

export async function startStack(options: StackOptions = {}): Promise<RunningStack> {
  const t0 = Date.now();
  const ownsDir = !options.dir;
  const dir = options.dir ?? mkdtempSync(join(tmpdir(), 'slide-stack-'));
  mkdirSync(dir, { recursive: true });
  const cleanups: (() => Promise<void>)[] = [];
  const stopAll = async (): Promise<void> => {
    for (const c of cleanups.reverse()) await c().catch(() => undefined);
    cleanups.length = 0;
    if (ownsDir && !options.keep) rmSync(dir, { recursive: true, force: true });
  };

  try {
    // Demo slides first: on a cold cache this is the slow, most likely failing part.
    const slidePaths = Object.fromEntries(Object.entries(DEMO_SLIDES).map(([b, spec]) => [b, ensureDemoSlide(spec)]));

    const idpKind = options.idp ?? defaultIdpKind();
    let keycloak: KeycloakRealm | undefined;
    let idp: RunningIdp;
    if (idpKind === 'keycloak') {
      const realm = await createKeycloakRealm(await keycloakServer(), {
        ...(options.ttl ? { ttl: options.ttl } : {}),
        ...(options.extraRedirectUris ? { extraRedirectUris: options.extraRedirectUris } : {}),
      });
      keycloak = realm;
      idp = keycloakAsIdp(realm);
    } else {
      idp = await startIdp({
        ...(options.ttl ? { ttl: options.ttl } : {}),
        ...(options.extraRedirectUris ? { extraRedirectUris: options.extraRedirectUris } : {}),
      });
    }
    cleanups.push(() => idp.stop());
    const minioDir = join(dir, 'minio');
    mkdirSync(minioDir, { recursive: true });
    const minio = await startMinio({ issuer: idp.issuer, clientId: idp.clientId, dataDir: minioDir });
    cleanups.push(() => minio.stop());

    const groups = [...new Set(BUCKET_GROUPS.flatMap((b) => b.groups))];
    for (const g of groups) {
      await addCannedPolicy(minio, g, readOnlyPolicy(BUCKET_GROUPS.filter((b) => b.groups.includes(g)).map((b) => b.name)));
    }

    const s3 = new S3Client({
      endpoint: minio.endpoint,
      region: 'us-east-1',
      forcePathStyle: true,
      credentials: { accessKeyId: minio.rootUser, secretAccessKey: minio.rootPassword },
    });
    const seedShared = options.seedSharedTestdata ?? existsSync(SHARED_TESTDATA);
    const buckets: StackBucket[] = [];
    try {
      for (const b of BUCKET_GROUPS) {
        await s3.send(new CreateBucketCommand({ Bucket: b.name }));
        const keys: string[] = [];
        const put = async (key: string, body: Buffer | string, contentType: string): Promise<void> => {
          await s3.send(new PutObjectCommand({ Bucket: b.name, Key: key, Body: body, ContentType: contentType }));
          keys.push(key);
        };
        const slide = slidePaths[b.name]!;
        await put(`demo/${basename(slide).replace(/-[0-9a-f]{12}\.tif$/, '.tif')}`, readFileSync(slide), 'image/tiff');
        await put('README.txt', readme(b.name, b.label), 'text/plain; charset=utf-8');
        await put('cases/index.csv', casesCsv(b.name), 'text/csv');
        await put('cases/2026/notes.txt', 'Free-text notes: not a slide, shown dimmed by the storage browser.\n', 'text/plain');
        if (seedShared) {
          for (const [src, key] of SHARED_FILES[b.name] ?? []) {
            for (const [file, k] of expand(join(SHARED_TESTDATA, src), key)) {
              await put(k, readFileSync(file), contentTypeFor(file));
            }
          }
        }
        const readableBy = DEMO_USERS.filter((u) => u.groups.some((g) => b.groups.includes(g))).map((u) => u.username);
        buckets.push({ name: b.name, groups: b.groups, readableBy, keys });
      }
    } finally {
      s3.destroy();
    }

    let dicomweb: StackDicomweb | undefined;
    let withDicomweb = options.dicomweb === true;
    if (options.dicomweb === 'if-available') {
      const why = orthancUnavailable();
      if (why) process.stderr.write(`The demo's DICOMweb archive is not started: ${why.reason}\n`);
      withDicomweb = !why;
    }
    if (withDicomweb) {
      const orthanc = await startOrthanc();
      cleanups.push(() => orthanc.stop());
      const audience = DICOMWEB_AUDIENCE;
      const gate = await startTokenGate({
        upstream: orthanc.baseUrl,
        issuer: idp.issuer,
        ...(keycloak ? { jwksUri: keycloak.jwksUri } : {}),
        audience,
        allow: (claims) => Array.isArray(claims['groups']) && (claims['groups'] as unknown[]).some((g) => typeof g === 'string' && (sameGroup(g, 'pathology') || sameGroup(g, 'research'))),
      });
      cleanups.push(() => gate.stop());
      dicomweb = { root: `${gate.url}/dicom-web`, audience, name: 'pacs', label: 'Pathology PACS', resource: DICOMWEB_RESOURCE, orthanc, gate };
    }

    const configFile = join(dir, 'config.json');
    const config = {
      organisation: { name: 'Demo Hospital' },
      auth: { issuer: idp.issuer, clientId: idp.clientId, allowInsecureIssuer: true },
      storage: {
        s3: {
          endpoint: minio.endpoint,
          region: 'us-east-1',
          forcePathStyle: true,
          buckets: BUCKET_GROUPS.map((b) => ({ name: b.name, label: b.label })),
        },
        ...(dicomweb ? { dicomweb: [{ name: dicomweb.name, label: dicomweb.label, url: dicomweb.root, resource: dicomweb.resource }] } : {}),
        sts: { provider: 'minio', endpoint: minio.endpoint },
      },
      paths: { data: join(dir, 'app-data'), cache: join(dir, 'app-cache') },
    };
    validateLayer(flatten(config), configFile);
    writeFileSync(configFile, `${JSON.stringify(config, null, 2)}\n`);

    return {
      issuer: idp.issuer,
      clientId: idp.clientId,
      s3Endpoint: minio.endpoint,
      stsEndpoint: minio.endpoint,
      region: 'us-east-1',
      buckets,
      users: idp.users,
      configFile,
      dir,
      idp,
      idpKind,
      ...(keycloak ? { keycloak } : {}),
      minio,
      ...(dicomweb ? { dicomweb } : {}),
      startupMs: Date.now() - t0,
      stop: stopAll,
    };
  } catch (err) {
    await stopAll();
    throw err;
  }
}

/** A Keycloak realm behind the stack's IdP interface; Keycloak's keys never leave it, so nothing can be signed here. */
function keycloakAsIdp(r: KeycloakRealm): RunningIdp {
  return {
    issuer: r.issuer,
    clientId: r.clientId,
    users: r.users,
    jwks: { keys: [] },
    signJwt: () => Promise.reject(new AppError('STACK_IDP_CANNOT_SIGN', 'Tokens with chosen claims can be signed only by the in-process provider.', { hint: 'Run this test with idp: \'oidc-provider\'.' })),
    stop: () => r.stop(),
  };
}

/** A file maps to one key; a folder (trailing slash) maps each file in it under the key prefix. */
function expand(src: string, key: string): [string, string][] {
  if (!existsSync(src)) return [];
  if (!statSync(src).isDirectory()) return [[src, key]];
  return readdirSync(src, { recursive: true, encoding: 'utf8' })
    .map((name) => join(src, name))
    .filter((p) => statSync(p).isFile())
    .sort()
    .map((p) => [p, key + relative(src, p).split('\\').join('/')] as [string, string]);
}

function contentTypeFor(file: string): string {
  if (/\.dcm$/i.test(file)) return 'application/dicom';
  if (/\.(tiff?|svs|ndpi)$/i.test(file)) return 'image/tiff';
  if (/\.txt$/i.test(file)) return 'text/plain';
  return 'application/octet-stream';
}

function readme(bucket: string, label: string): string {
  return `${label} (${bucket})\n\nDemo data of the slide workstation's test stack. demo/ holds a generated,\ntissue-like pyramidal TIFF; other folders hold small real scanner files when\nthe shared test data was present at start.\n`;
}

function casesCsv(bucket: string): string {
  return `case_id,bucket,slide,stain\nDEMO-0001,${bucket},demo/,H&E (synthetic)\n`;
}
