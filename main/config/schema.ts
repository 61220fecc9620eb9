/**
 * The settings schema: every key the app reads, its type, default and a sentence for
 * IT. Layers are merged defaults < user settings < `--config FILE` < IT policy, and a
 * key set by policy is locked (the UI shows it read-only; writes are refused).
 * Validation names the dotted key and refuses bad values out loud.
 */
export interface BucketSetting {
  /** S3 bucket name. */
  name: string;
  /** Optional prefix inside the bucket to start browsing at (no leading slash). */
  prefix?: string;
  /** Label shown in the storage browser. */
  label?: string;
}

export interface DicomwebSetting {
  /** Short id, used in slide addresses: dicomweb://<name>/studies/…/series/… */
  name: string;
  /** Base URL of the DICOMweb service (QIDO/WADO roots), e.g. https://…/dicom-web */
  url: string;
  /** Shown in the storage browser instead of the name. */
  label?: string;
  /**
   * RFC 8707 resource indicator (an absolute URI) the app asks the identity provider for an
   * access token for, with the refresh token. Absent: the sign-in's own access token is sent
   * (providers that put the archive in that token's audience: Keycloak, Cognito, Okta).
   */
  resource?: string;
}

export interface Settings {
  organisation: { name: string };
  auth: {
    /** OpenID Connect issuer URL (discovery at /.well-known/openid-configuration). */
    issuer: string;
    clientId: string;
    scopes: string[];
    /** Extra audience for the access token, when the provider needs it (Entra, Okta). */
    audience: string;
    redirect: {
      /** 127.0.0.1 (RFC 8252) or localhost (providers that match redirect URLs exactly). */
      host: '127.0.0.1' | 'localhost';
      /** 0 = an ephemeral port per sign-in; a fixed port for providers that need it registered. */
      port: number;
      path: string;
    };
    /** How long to wait for the browser sign-in before giving up. */
    timeoutSeconds: number;
    /** Clock skew allowed when checking token times. */
    clockSkewSeconds: number;
    /** Only for test stacks on http://127.0.0.1: allow a plain-HTTP issuer. */
    allowInsecureIssuer: boolean;
  };
  storage: {
    s3: {
      /** S3 endpoint URL; empty means AWS (https://s3.<region>.amazonaws.com). */
      endpoint: string;
      region: string;
      forcePathStyle: boolean;
      buckets: BucketSetting[];
    };
    /** DICOMweb archives, browsed beside the buckets (bearer tokens from the sign-in). Always set after loading; optional for callers that build settings by hand. */
    dicomweb?: DicomwebSetting[];
    sts: {
      /** 'aws' requires roleArn; 'minio' accepts it optionally. */
      provider: 'aws' | 'minio';
      /** STS endpoint URL; empty means AWS (https://sts.<region>.amazonaws.com). */
      endpoint: string;
      roleArn: string;
      /** Requested lifetime; 0 lets the service choose (MinIO: the ID token's lifetime). */
      durationSeconds: number;
      /** Which token is exchanged: the ID token (usual for MinIO and AWS) or the access token. */
      webIdentityToken: 'id_token' | 'access_token';
    };
    /**
     * Allow plain-http:// S3, STS and DICOMweb endpoints on hosts other than this computer.
     * Off: those carry credentials and patient data, so they must be https:// unless they
     * are loopback (a test stack). Optional for callers that build settings by hand.
     */
    allowInsecureEndpoints?: boolean;
  };
  secrets: {
    /** Where the refresh token rests: 'auto' = OS keychain when present, else an owner-only file. */
    store: 'auto' | 'keyring' | 'file';
  };
  cache: {
    /** Size budget of the tile cache in MiB; pinned slides do not count against eviction. */
    budgetMiB: number;
  };
  network: {
    maxConnectionsPerHost: number;
    /** PEM file of extra trusted root certificates (a TLS-inspecting proxy's or a private CA's). */
    caFile: string;
  };
  paths: {
    /** Where user data lives (settings, annotations, secrets file). Empty = OS default. */
    data: string;
    /** Where the disposable tile cache lives. Empty = OS default. */
    cache: string;
  };
}

export const DEFAULTS: Settings = {
  organisation: { name: 'your organisation' },
  auth: {
    issuer: '',
    clientId: 'pathology-desktop',
    scopes: ['openid', 'profile', 'email', 'offline_access'],
    audience: '',
    redirect: { host: '127.0.0.1', port: 0, path: '/callback' },
    timeoutSeconds: 300,
    clockSkewSeconds: 60,
    allowInsecureIssuer: false,
  },
  storage: {
    s3: { endpoint: '', region: 'us-east-1', forcePathStyle: false, buckets: [] },
    dicomweb: [],
    sts: { provider: 'aws', endpoint: '', roleArn: '', durationSeconds: 0, webIdentityToken: 'id_token' },
    allowInsecureEndpoints: false,
  },
  secrets: { store: 'auto' },
  cache: { budgetMiB: 10240 },
  network: { maxConnectionsPerHost: 6, caFile: '' },
  paths: { data: '', cache: '' },
};

type Check = (value: unknown, key: string) => string | undefined;
const str: Check = (v) => (typeof v === 'string' ? undefined : 'must be a string');
const bool: Check = (v) => (typeof v === 'boolean' ? undefined : 'must be true or false');
const int =
  (min: number, max: number): Check =>
  (v) =>
    Number.isInteger(v) && (v as number) >= min && (v as number) <= max ? undefined : `must be a whole number from ${min} to ${max}`;
const oneOf =
  (...allowed: string[]): Check =>
  (v) =>
    typeof v === 'string' && allowed.includes(v) ? undefined : `must be one of ${allowed.map((a) => `"${a}"`).join(', ')}`;
const url =
  (allowEmpty: boolean): Check =>
  (v) => {
    if (typeof v !== 'string') return 'must be a URL string';
    if (v === '' && allowEmpty) return undefined;
    try {
      const u = new URL(v);
      return u.protocol === 'https:' || u.protocol === 'http:' ? undefined : 'must be an http(s) URL';
    } catch {
      return 'must be a URL such as https://login.example.org/realms/pathology';
    }
  };
const strList: Check = (v) => (Array.isArray(v) && v.every((x) => typeof x === 'string') ? undefined : 'must be a list of strings');
const BUCKET_KEYS = new Set(['name', 'prefix', 'label']);
/** S3's own naming rules: an entry that can never be a bucket is a typo, said now, not a 404 later. */
const BUCKET_NAME = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;
const buckets: Check = (v) => {
  if (!Array.isArray(v)) return 'must be a list of { name, prefix?, label? }';
  for (const [i, b] of v.entries()) {
    if (typeof b !== 'object' || b === null || Array.isArray(b)) return `entry ${i} must be an object { name, prefix?, label? }`;
    const e = b as Record<string, unknown>;
    // Decision 0001: unknown keys are refused, inside list entries too ("prefx" must not pass silently).
    const unknown = Object.keys(e).filter((k) => !BUCKET_KEYS.has(k));
    if (unknown.length) return `entry ${i} has unknown key(s) ${unknown.map((k) => `"${k}"`).join(', ')} (allowed: name, prefix, label)`;
    if (typeof e.name !== 'string' || !BUCKET_NAME.test(e.name)) return `entry ${i} must have a bucket "name" as S3 spells it (3–63 lower-case letters, digits, "." or "-")`;
    if (e.prefix !== undefined && (typeof e.prefix !== 'string' || e.prefix.startsWith('/'))) return `entry ${i} ("${e.name}"): "prefix" must be a string without a leading "/"`;
    if (e.label !== undefined && (typeof e.label !== 'string' || e.label.trim() === '')) return `entry ${i} ("${e.name}"): "label" must be a non-empty string`;
  }
  return undefined;
};
const DICOMWEB_KEYS = new Set(['name', 'url', 'label', 'resource']);
/** Names appear in slide addresses (dicomweb://<name>/…), so they are host-like. */
const DICOMWEB_NAME = /^[A-Za-z0-9](?:[A-Za-z0-9._-]{0,62})$/;
const dicomweb: Check = (v) => {
  if (!Array.isArray(v)) return 'must be a list of { name, url, label?, resource? }';
  const seen = new Set<string>();
  for (const [i, d] of v.entries()) {
    if (typeof d !== 'object' || d === null || Array.isArray(d)) return `entry ${i} must be an object { name, url, label?, resource? }`;
    const e = d as Record<string, unknown>;
    const unknown = Object.keys(e).filter((k) => !DICOMWEB_KEYS.has(k));
    if (unknown.length) return `entry ${i} has unknown key(s) ${unknown.map((k) => `"${k}"`).join(', ')}`;
    if (typeof e.name !== 'string' || !DICOMWEB_NAME.test(e.name)) return `entry ${i} must have a "name" of letters, digits, ".", "_" or "-" (it appears in slide addresses)`;
    if (seen.has(e.name.toLowerCase())) return `entry ${i}: the name "${e.name}" is used twice`;
    seen.add(e.name.toLowerCase());
    if (url(false)(e.url, '') !== undefined) return `entry ${i} ("${e.name}") must have an http(s) "url"`;
    if (e.label !== undefined && (typeof e.label !== 'string' || e.label.trim() === '')) return `entry ${i} ("${e.name}"): "label" must be a non-empty string`;
    if (e.resource !== undefined) {
      // RFC 8707 §2: an absolute URI without a fragment.
      const r = typeof e.resource === 'string' ? URL.parse(e.resource) : null;
      if (!r || (e.resource as string).includes('#')) return `entry ${i} ("${e.name}"): "resource" must be an absolute URI without a fragment (RFC 8707), e.g. https://archive.example.org/ or urn:example:dicomweb`;
    }
  }
  return undefined;
};

/** Leaf keys and their checks. Keys not listed here are refused (typos must not pass silently). */
export const SCHEMA: Record<string, Check> = {
  'organisation.name': str,
  'auth.issuer': url(true),
  'auth.clientId': str,
  'auth.scopes': strList,
  'auth.audience': str,
  'auth.redirect.host': oneOf('127.0.0.1', 'localhost'),
  'auth.redirect.port': int(0, 65535),
  'auth.redirect.path': (v) => (typeof v === 'string' && v.startsWith('/') ? undefined : 'must be a path starting with /'),
  'auth.timeoutSeconds': int(10, 3600),
  'auth.clockSkewSeconds': int(0, 600),
  'auth.allowInsecureIssuer': bool,
  'storage.s3.endpoint': url(true),
  'storage.s3.region': str,
  'storage.s3.forcePathStyle': bool,
  'storage.s3.buckets': buckets,
  'storage.dicomweb': dicomweb,
  'storage.sts.provider': oneOf('aws', 'minio'),
  'storage.sts.endpoint': url(true),
  'storage.allowInsecureEndpoints': bool,
  'storage.sts.roleArn': str,
  'storage.sts.durationSeconds': (v) => (v === 0 ? undefined : int(900, 43200)(v, '')),
  'storage.sts.webIdentityToken': oneOf('id_token', 'access_token'),
  'secrets.store': oneOf('auto', 'keyring', 'file'),
  'cache.budgetMiB': int(64, 16 * 1024 * 1024),
  'network.maxConnectionsPerHost': int(1, 64),
  'network.caFile': str,
  'paths.data': str,
  'paths.cache': str,
};

/** 127.0.0.0/8, ::1 and localhost: a service on this computer (a test stack). */
export function isLoopbackHost(hostname: string): boolean {
  const h = hostname.replace(/^\[|\]$/g, '').toLowerCase();
  return h === 'localhost' || h === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h);
}

/**
 * The endpoints that carry credentials (storage.s3.endpoint, storage.sts.endpoint, each
 * storage.dicomweb url) must be https:// unless loopback or storage.allowInsecureEndpoints:
 * a plain-HTTP STS endpoint would send the ID token, and S3 the session token, in the
 * clear. Checked on the merged settings, since the flag may come from another layer.
 */
export function insecureEndpointProblems(settings: Settings): string[] {
  if (settings.storage.allowInsecureEndpoints) return [];
  const endpoints: [string, string][] = [
    ['storage.s3.endpoint', settings.storage.s3.endpoint],
    ['storage.sts.endpoint', settings.storage.sts.endpoint],
    ...(settings.storage.dicomweb ?? []).map((d, i): [string, string] => [`storage.dicomweb[${i}].url ("${d.name}")`, d.url]),
  ];
  const problems: string[] = [];
  for (const [key, value] of endpoints) {
    if (!value) continue;
    let u: URL;
    try {
      u = new URL(value);
    } catch {
      continue; // reported by the key's own check
    }
    if (u.protocol === 'http:' && !isLoopbackHost(u.hostname)) {
      problems.push(`"${key}" is ${u.origin}: it must be https:// (plain HTTP is allowed only on this computer, or with storage.allowInsecureEndpoints)`);
    }
  }
  return problems;
}
