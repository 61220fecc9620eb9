/**
 * AWS Signature Version 4 for S3 requests, with AWS's maintained signer
 * (@smithy/signature-v4 + @aws-crypto/sha256-js: pure JS, runs in Node and Electron's
 * main alike). We sign only bodiless requests (GET/HEAD/list), so the payload hash is the
 * hash of the empty string, sent as x-amz-content-sha256 as S3 requires.
 */
import { Sha256 } from '@aws-crypto/sha256-js';
import { SignatureV4 } from '@smithy/signature-v4';

export const EMPTY_SHA256 = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';

export interface SigningCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}

export interface SignInput {
  method: string;
  url: URL;
  headers?: Record<string, string>;
  region: string;
  service?: string;
  credentials: SigningCredentials;
  /** Signing time; default now. Test vectors pin it. */
  date?: Date;
  /** Hex SHA-256 of the body; default: empty body. */
  payloadHash?: string;
  /** S3 signs the path as sent (no second URI-encoding); other services encode it again. */
  uriEscapePath?: boolean;
}

// One signer per credentials/region/service: the signer caches the derived signing key
// (four HMACs) per day, which is most of the cost of signing a request in pure JS.
const signers = new Map<string, { signer: SignatureV4; secret: string }>();
const MAX_SIGNERS = 8;

function signerFor(input: SignInput, service: string): SignatureV4 {
  const id = `${input.credentials.accessKeyId}|${input.region}|${service}|${input.uriEscapePath ?? service !== 's3'}`;
  const hit = signers.get(id);
  if (hit && hit.secret === input.credentials.secretAccessKey && hit.signer) return hit.signer;
  const signer = new SignatureV4({
    // The session token is added per request below; the signer reads credentials on each sign().
    credentials: { accessKeyId: input.credentials.accessKeyId, secretAccessKey: input.credentials.secretAccessKey },
    region: input.region,
    service,
    sha256: Sha256,
    uriEscapePath: input.uriEscapePath ?? service !== 's3',
    applyChecksum: false,
  });
  if (signers.size >= MAX_SIGNERS) signers.delete(signers.keys().next().value!);
  signers.set(id, { signer, secret: input.credentials.secretAccessKey });
  return signer;
}

/** Returns the headers to send: the given ones plus host, x-amz-date, x-amz-content-sha256, x-amz-security-token, authorization. */
export async function signRequest(input: SignInput): Promise<Record<string, string>> {
  const service = input.service ?? 's3';
  const signer = signerFor(input, service);
  const query: Record<string, string | string[]> = {};
  for (const [k, v] of input.url.searchParams) {
    const prev = query[k];
    query[k] = prev === undefined ? v : Array.isArray(prev) ? [...prev, v] : [prev, v];
  }
  const headers: Record<string, string> = { host: input.url.host, ...lowerKeys(input.headers ?? {}) };
  if (service === 's3') headers['x-amz-content-sha256'] ??= input.payloadHash ?? EMPTY_SHA256;
  if (input.credentials.sessionToken) headers['x-amz-security-token'] = input.credentials.sessionToken;
  const signed = await signer.sign(
    {
      method: input.method,
      protocol: input.url.protocol,
      hostname: input.url.hostname,
      ...(input.url.port ? { port: Number(input.url.port) } : {}),
      // The signer wants the path as it goes on the wire (already percent-encoded).
      path: input.url.pathname,
      query,
      headers,
    },
    { signingDate: input.date ?? new Date() },
  );
  return signed.headers;
}

function lowerKeys(h: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(h).map(([k, v]) => [k.toLowerCase(), v]));
}
