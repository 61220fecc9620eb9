/**
 * The engine's S3 reader for the bench, pointed at the shaped link. MinIO's root key
 * stands in for STS credentials here: signing costs the same, and the bench measures
 * reading, not sign-in (which the integration tests cover on the real STS).
 */
import { S3Client, S3RangeReader, parseS3Uri } from '../main/sources/s3.js';
import type { CredentialProvider, TemporaryCredentials } from '../main/credentials/index.js';
import type { RangeReader } from '../main/sources/types.js';

export function staticCredentials(accessKeyId: string, secretAccessKey: string): CredentialProvider {
  const creds: TemporaryCredentials = { accessKeyId, secretAccessKey, sessionToken: '', expiration: new Date(Date.now() + 24 * 3600e3) };
  return {
    get: async () => creds,
    info: () => ({ identity: 'bench', sessionName: 'bench', expiresAt: creds.expiration.getTime(), provider: 'minio' }),
    invalidate: () => undefined,
  };
}

export async function createBenchReader(o: { endpoint: string; uri: string; credentials: { accessKeyId: string; secretAccessKey: string } }): Promise<RangeReader> {
  const client = new S3Client({ endpoint: o.endpoint, region: 'us-east-1', forcePathStyle: true, credentials: staticCredentials(o.credentials.accessKeyId, o.credentials.secretAccessKey) });
  const { bucket, key } = parseS3Uri(o.uri);
  return new S3RangeReader(client, bucket, key);
}
