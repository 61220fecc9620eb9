/**
 * The AssumeRoleWithWebIdentity call itself: building the form, reading the XML answer,
 * and turning STS's error codes into ours. Pure functions plus one fetch, so the wire
 * format is unit-tested and the provider only decides *when* to call.
 *
 * AWS: RoleArn is required; session tags come from the token's claims
 * (`https://aws.amazon.com/tags`), nothing is sent for them. MinIO: RoleArn is optional
 * (the policy comes from the token's claim); an unsigned POST to the server root.
 *
 * Codes thrown here:
 *   STS_ACCESS_DENIED       the token is valid but grants no storage role / policy
 *   STS_INVALID_TOKEN       STS refused the token (signature, audience, issuer)
 *   STS_EXPIRED_TOKEN       the token had expired when STS checked it
 *   STS_UNREACHABLE         network failure, timeout, 5xx
 *   STS_BAD_RESPONSE        an answer that is not STS's XML
 *   STS_FAILED              any other STS error (message kept in details)
 *   CONFIG_ROLE_ARN_REQUIRED  AWS without storage.sts.roleArn
 */
import { XMLParser } from 'fast-xml-parser';
import { type AppError, isAbortError, isAppError } from '../common/errors.js';
import { registerSecret } from '../common/log.js';
import type { FetchLike } from '../common/fetch.js';
import type { TemporaryCredentials } from './types.js';
import { commonErrors } from '../common/errors.js';
import { credentialErrors } from './errors.js';

export interface StsRequest {
  provider: 'aws' | 'minio';
  /** STS endpoint; empty = AWS regional endpoint for `region`. */
  endpoint: string;
  region: string;
  roleArn: string;
  roleSessionName: string;
  webIdentityToken: string;
  /** 0 = let STS choose (MinIO: the token's remaining lifetime; AWS: one hour). */
  durationSeconds: number;
  /** Inline session policy (JSON) that narrows the role further: per-job credentials. */
  policy?: string;
}

export interface StsResult {
  credentials: TemporaryCredentials;
  /** Who storage sees, e.g. the assumed-role ARN (AWS) or the subject (MinIO). */
  identity: string;
}

export const ACCESS_DENIED_MESSAGE =
  'Your account has no access to slide storage. Ask your administrator to add you to a pathology or research group.';

/** RoleSessionName: [\w+=,.@-]{2,64}. Audit logs show it, so keep as much of the name as is legal. */
export function sanitizeSessionName(raw: string | undefined, fallback = 'slide-workstation'): string {
  let s = (raw ?? '')
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '') // "Zoë" → "Zoe" rather than "Zo-"
    .replace(/\s+/g, '.')
    .replace(/[^\w+=,.@-]/g, '-')
    .slice(0, 64);
  if (s.length < 2) s = fallback.replace(/[^\w+=,.@-]/g, '-').slice(0, 64);
  return s.length >= 2 ? s : 'sw';
}

export function stsEndpoint(r: Pick<StsRequest, 'endpoint' | 'region'>): string {
  return r.endpoint || `https://sts.${r.region || 'us-east-1'}.amazonaws.com/`;
}

export function buildStsForm(r: StsRequest): URLSearchParams {
  if (r.provider === 'aws' && !r.roleArn) {
    throw credentialErrors.make('CONFIG_ROLE_ARN_REQUIRED', 'Storage sign-in is not set up: AWS needs the role to assume.', {
      hint: 'IT: set storage.sts.roleArn to the IAM role trusted for this identity provider (arn:aws:iam::<account>:role/<name>).',
    });
  }
  const form = new URLSearchParams({ Action: 'AssumeRoleWithWebIdentity', Version: '2011-06-15' });
  if (r.roleArn) form.set('RoleArn', r.roleArn);
  form.set('RoleSessionName', r.roleSessionName);
  form.set('WebIdentityToken', r.webIdentityToken);
  if (r.durationSeconds > 0) form.set('DurationSeconds', String(r.durationSeconds));
  if (r.policy) form.set('Policy', r.policy);
  return form;
}

const parser = new XMLParser({ ignoreAttributes: true, parseTagValue: false, trimValues: true, removeNSPrefix: true });

type Xml = Record<string, unknown>;
const obj = (v: unknown): Xml | undefined => (typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Xml) : undefined);
const text = (v: unknown): string | undefined => (typeof v === 'string' ? v : typeof v === 'number' ? String(v) : undefined);

/** Parse a 200 answer. Registers the secret parts for log redaction before anything else. */
export function parseStsSuccess(xml: string): StsResult {
  let doc: Xml;
  try {
    doc = parser.parse(xml) as Xml;
  } catch (err) {
    throw badResponse('not XML', err);
  }
  const result = obj(obj(doc.AssumeRoleWithWebIdentityResponse)?.AssumeRoleWithWebIdentityResult);
  const c = obj(result?.Credentials);
  const accessKeyId = text(c?.AccessKeyId);
  const secretAccessKey = text(c?.SecretAccessKey);
  const sessionToken = text(c?.SessionToken);
  const expiration = text(c?.Expiration);
  registerSecret(secretAccessKey);
  registerSecret(sessionToken);
  if (!accessKeyId || !secretAccessKey || !sessionToken || !expiration || Number.isNaN(Date.parse(expiration))) {
    throw badResponse('credentials missing');
  }
  const assumed = obj(result?.AssumedRoleUser);
  // MinIO leaves the ARN empty; the provider then names the user itself.
  const identity = text(assumed?.Arn) || text(result?.SubjectFromWebIdentityToken) || '';
  return { credentials: { accessKeyId, secretAccessKey, sessionToken, expiration: new Date(expiration) }, identity };
}

export interface StsErrorBody {
  code: string | undefined;
  message: string | undefined;
}

export function parseStsError(xml: string): StsErrorBody {
  try {
    const doc = parser.parse(xml) as Xml;
    const e = obj(obj(doc.ErrorResponse)?.Error) ?? obj(doc.Error);
    return { code: text(e?.Code), message: text(e?.Message) };
  } catch {
    return { code: undefined, message: undefined };
  }
}

/** Map an STS error answer onto our codes. The STS message goes to details (for IT), not to the headline. */
export function stsError(status: number, body: StsErrorBody): AppError {
  const code = body.code ?? '';
  const details = { status, stsCode: body.code, stsMessage: body.message?.slice(0, 500) };
  if (status >= 500 || code === 'IDPCommunicationError' || code === 'ServiceUnavailable' || code === 'InternalError') {
    return credentialErrors.make('STS_UNREACHABLE', 'The storage sign-in service is not answering right now.', {
      hint: 'Try again in a minute. If it keeps failing, tell IT (the storage token service returned an error).',
      details,
      retryable: true,
    });
  }
  if (/Expired/i.test(code) || /expired/i.test(body.message ?? '')) {
    return credentialErrors.make('STS_EXPIRED_TOKEN', 'Your sign-in had expired when storage checked it.', {
      hint: "Check that this computer's date and time are correct; the workstation renews the sign-in and tries again.",
      details,
      retryable: true,
    });
  }
  // MinIO answers every refusal with InvalidParameterValue; only the message tells "no
  // policy for this user" (a valid token, no storage rights) from a bad token.
  const noPolicy = /policies .*(are|is) (not )?defined|claim missing|policy claim|no (valid )?polic/i.test(body.message ?? '');
  if (code === 'AccessDenied' || code === 'IDPRejectedClaim' || noPolicy || (status === 403 && code !== 'InvalidIdentityToken')) {
    return credentialErrors.make('STS_ACCESS_DENIED', ACCESS_DENIED_MESSAGE, {
      hint: 'IT: the storage token service accepted the sign-in but no storage role or policy applies to this user (group claim, role trust policy).',
      details,
    });
  }
  if (code === 'InvalidIdentityToken' || code === 'InvalidParameterValue' || code === 'InvalidToken') {
    return credentialErrors.make('STS_INVALID_TOKEN', 'Storage did not accept your sign-in.', {
      hint: 'Sign out and sign in again. If it keeps failing, IT should check that storage trusts this identity provider (issuer, audience / client id, signing keys).',
      details,
    });
  }
  if (code === 'MalformedPolicyDocument' || code === 'PackedPolicyTooLarge') {
    return credentialErrors.make('STS_POLICY_REJECTED', 'Storage refused the restricted access requested for this job.', { details });
  }
  return credentialErrors.make('STS_FAILED', `The storage sign-in failed (${code || `HTTP ${status}`}).`, {
    hint: 'Try again; if it keeps failing, tell IT and quote this message.',
    details,
  });
}

function badResponse(why: string, cause?: unknown): AppError {
  return credentialErrors.make('STS_BAD_RESPONSE', 'The storage sign-in service gave an answer the workstation cannot read.', {
    hint: 'IT: check storage.sts.endpoint points at an STS (AssumeRoleWithWebIdentity) endpoint.',
    details: { why },
    cause,
  });
}

export async function assumeRoleWithWebIdentity(r: StsRequest, fetchImpl: FetchLike, signal?: AbortSignal): Promise<StsResult> {
  const form = buildStsForm(r);
  const url = stsEndpoint(r);
  let res: Response;
  let body: string;
  try {
    const timeout = AbortSignal.timeout(30_000);
    res = await fetchImpl(url, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded; charset=utf-8', accept: 'application/xml' },
      body: form.toString(),
      signal: signal ? AbortSignal.any([signal, timeout]) : timeout,
    });
    body = await res.text();
  } catch (err) {
    if (signal?.aborted) throw commonErrors.make('ABORTED', 'The operation was cancelled.', { cause: err });
    // Already classified by the network layer (a refused redirect, an untrusted certificate,
    // the proxy's refusal): its words say what IT must fix, better than "unreachable".
    if (isAppError(err)) throw err;
    throw credentialErrors.make('STS_UNREACHABLE', 'The storage sign-in service cannot be reached.', {
      hint: 'Check the network connection (VPN, Wi-Fi). If it keeps failing, IT should check storage.sts.endpoint.',
      details: { endpoint: url, timeout: isAbortError(err) },
      cause: err,
      retryable: true,
    });
  }
  if (!res.ok) throw stsError(res.status, parseStsError(body));
  return parseStsSuccess(body);
}
