/**
 * Wires the storage side: STS credentials from the signed-in identity, and the S3 client
 * that lists the configured buckets with them. Kept apart from services.ts so the
 * composition of credentials → storage reads in one place.
 */
import type { CredentialsInfo, StorageEntry, StorageListing } from '../api/contract.js';
import type { AuthService } from '../auth/index.js';
import type { Settings } from '../config/index.js';
import { StsWebIdentityProvider } from '../credentials/index.js';
import { S3Client } from '../sources/s3.js';
import { isSlideName } from '../formats/slide-names.js';
import type { FetchLike } from '../common/fetch.js';
import { credentialErrors } from '../credentials/errors.js';

export interface StorageServices {
  credentials: StsWebIdentityProvider;
  s3: S3Client;
  credentialsInfo(): Promise<CredentialsInfo>;
  roots(): Promise<StorageEntry[]>;
  list(uri: string, continuation?: string): Promise<StorageListing>;
  /** Forget cached credentials (sign-out, another user). */
  invalidate(): void;
}

export interface StorageWiring {
  settings: Settings;
  auth: AuthService;
  fetch?: FetchLike;
}

export function configuredRoots(settings: Settings): StorageEntry[] {
  return settings.storage.s3.buckets.map((b) => {
    const prefix = b.prefix ? b.prefix.replace(/^\/+/, '').replace(/\/?$/, '/') : '';
    return { kind: 'bucket', name: b.label ?? (prefix ? `${b.name}/${prefix}` : b.name), uri: `s3://${b.name}/${prefix}` };
  });
}

export function createStorage(w: StorageWiring): StorageServices {
  const credentials = new StsWebIdentityProvider({
    sts: w.settings.storage.sts,
    region: w.settings.storage.s3.region,
    identity: w.auth,
    ...(w.fetch ? { fetch: w.fetch } : {}),
  });
  const s3Settings = w.settings.storage.s3;
  const s3 = new S3Client({
    endpoint: s3Settings.endpoint,
    region: s3Settings.region,
    forcePathStyle: s3Settings.forcePathStyle,
    credentials,
    // What counts as a slide is formats' call, not the S3 layer's.
    isSlide: isSlideName,
    ...(w.fetch ? { fetch: w.fetch } : {}),
  });
  return {
    credentials,
    s3,
    credentialsInfo: async () => {
      await credentials.get();
      const info = credentials.info();
      if (!info) throw credentialErrors.make('STS_FAILED', 'The storage sign-in gave no identity.');
      return info;
    },
    // The locations are listed only once storage has accepted the user: someone without
    // storage rights is told so here, instead of seeing buckets that all fail to open.
    roots: async () => {
      await credentials.get();
      return configuredRoots(w.settings);
    },
    list: (uri, continuation) => s3.list(uri, continuation),
    invalidate: () => credentials.invalidate(),
  };
}
