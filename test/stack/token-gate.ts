/**
 * A bearer-token gate in front of a DICOMweb server, applying AWS HealthImaging's OIDC
 * rules so tests meet the failures a HealthImaging datastore gives:
 *   - the JWT's signature verifies against the IdP's JWKS (fetched, cached, re-fetched on
 *     an unknown `kid`, as jose's createRemoteJWKSet does);
 *   - `iss` and `aud` match; `exp` is in the future; `iat` is present and at most 12 hours old;
 *   - the decision is made within 1 s (HealthImaging's authorizer limit), else 503;
 *   - 401 with `WWW-Authenticate: Bearer error=…, error_description=…` for a missing,
 *     invalid or expired token; 403 for a valid token that the `allow` rule refuses.
 * Accepted requests are proxied with the Authorization header removed and the response
 * (multipart/related included) streamed through byte for byte.
 */
import { createServer, request as httpRequest, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { createRemoteJWKSet, errors as joseErrors, jwtVerify, type JWTPayload } from 'jose';

export interface TokenGateOptions {
  /** Where accepted requests go, e.g. Orthanc's http://127.0.0.1:PORT (the request path is appended). */
  upstream: string;
  issuer: string;
  audience: string;
  /** Default: `${issuer}/jwks` (oidc-provider's jwks_uri). */
  jwksUri?: string;
  /** Access rule after the token is valid; default: any valid token. false → 403. */
  allow?: (claims: JWTPayload) => boolean;
  /** Default 12 h, as HealthImaging. */
  maxTokenAgeSeconds?: number;
}

export interface GateDecision {
  method: string;
  path: string;
  status: number;
  /** Why the gate refused (absent when proxied). */
  reason?: string;
}

export interface RunningTokenGate {
  /** The gate's root; DICOMweb is at the same path as upstream, e.g. `${url}/dicom-web`. */
  url: string;
  /** Every request the gate answered or passed on, in order (for tests counting retries). */
  decisions: GateDecision[];
  stop(): Promise<void>;
}

const DECISION_BUDGET_MS = 1000;
const JWKS_TIMEOUT_MS = 800;

export async function startTokenGate(options: TokenGateOptions): Promise<RunningTokenGate> {
  const upstream = new URL(options.upstream);
  // The key fetch gets most of the budget, so a slow IdP is reported as such (401) before the backstop (503).
  const jwks = createRemoteJWKSet(new URL(options.jwksUri ?? `${options.issuer.replace(/\/$/, '')}/jwks`), { timeoutDuration: JWKS_TIMEOUT_MS });
  const maxAge = options.maxTokenAgeSeconds ?? 12 * 3600;
  const decisions: GateDecision[] = [];

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const path = req.url ?? '/';
    const record = (status: number, reason?: string): void => {
      decisions.push({ method: req.method ?? 'GET', path, status, ...(reason ? { reason } : {}) });
    };
    const verdict = await Promise.race([
      decide(req.headers.authorization, jwks, options, maxAge),
      new Promise<Refusal>((r) => setTimeout(() => r({ status: 503, error: 'temporarily_unavailable', description: 'The authorizer did not answer within 1 second.' }), DECISION_BUDGET_MS).unref()),
    ]);
    if (verdict !== 'ok') {
      record(verdict.status, verdict.description);
      const challenge = verdict.status === 401 || verdict.status === 403
        ? `Bearer realm="dicomweb"${verdict.error ? `, error="${verdict.error}"` : ''}, error_description="${verdict.description.replace(/"/g, "'")}"`
        : undefined;
      res.writeHead(verdict.status, {
        'content-type': 'application/json',
        ...(challenge ? { 'www-authenticate': challenge } : {}),
      });
      res.end(JSON.stringify({ message: verdict.description }));
      return;
    }
    record(0);
    const entry = decisions[decisions.length - 1]!;
    const headers = { ...req.headers };
    delete headers.authorization;
    headers.host = upstream.host;
    const up = httpRequest(
      { hostname: upstream.hostname, port: upstream.port, method: req.method, path: upstream.pathname.replace(/\/$/, '') + path, headers },
      (upRes) => {
        entry.status = upRes.statusCode ?? 502;
        res.writeHead(upRes.statusCode ?? 502, upRes.headers);
        upRes.pipe(res);
      },
    );
    up.on('error', (err) => {
      entry.status = 502;
      if (!res.headersSent) res.writeHead(502, { 'content-type': 'text/plain' });
      res.end(`upstream error: ${err.message}`);
    });
    req.pipe(up);
  };

  const server: Server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
      res.end(String(err));
    });
  });
  const sockets = new Set<Socket>();
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    decisions,
    stop: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const s of sockets) s.destroy();
      }),
  };
}

interface Refusal {
  status: number;
  error?: string;
  description: string;
}

async function decide(
  authorization: string | undefined,
  jwks: ReturnType<typeof createRemoteJWKSet>,
  options: TokenGateOptions,
  maxAge: number,
): Promise<'ok' | Refusal> {
  const m = /^Bearer\s+([A-Za-z0-9\-_.~+/]+=*)\s*$/i.exec(authorization ?? '');
  if (!m) {
    return authorization
      ? { status: 401, error: 'invalid_request', description: 'The Authorization header is not a bearer token.' }
      : { status: 401, description: 'No access token was sent.' };
  }
  let claims: JWTPayload;
  try {
    ({ payload: claims } = await jwtVerify(m[1]!, jwks, {
      issuer: options.issuer,
      audience: options.audience,
      requiredClaims: ['exp', 'iat'],
      maxTokenAge: maxAge,
    }));
  } catch (err) {
    return { status: 401, error: 'invalid_token', description: describe(err) };
  }
  if (options.allow && !options.allow(claims)) {
    return { status: 403, error: 'insufficient_scope', description: 'The token is valid but does not grant access to this datastore.' };
  }
  return 'ok';
}

function describe(err: unknown): string {
  if (err instanceof joseErrors.JWTExpired) return err.claim === 'iat' ? 'The access token was issued more than 12 hours ago.' : 'The access token has expired.';
  if (err instanceof joseErrors.JWTClaimValidationFailed) {
    if (err.claim === 'aud') return 'The access token is for another audience.';
    if (err.claim === 'iss') return 'The access token is from another issuer.';
    if (err.claim === 'iat') return 'The access token was issued more than 12 hours ago or has no usable iat.';
    return `The access token's ${err.claim} claim is not acceptable.`;
  }
  if (err instanceof joseErrors.JWSSignatureVerificationFailed || err instanceof joseErrors.JWKSNoMatchingKey) return 'The access token signature does not verify.';
  if (err instanceof joseErrors.JWKSTimeout) return 'The identity provider keys could not be fetched in time.';
  return 'The access token is malformed.';
}
