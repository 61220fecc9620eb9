/**
 * The identity provider of the test stack and the demo environment: oidc-provider 9
 * in-process on 127.0.0.1, with its own small login page (no devInteractions), automatic
 * consent for the first-party desktop client, and fresh RS256 keys on every start.
 *
 * What a client can rely on (see docs/decisions/0301-test-stack.md):
 * - public native client `pathology-desktop`: any loopback port on http://127.0.0.1/callback
 *   (RFC 8252 §7.3), PKCE S256 required, no client secret; `extraRedirectUris` (e.g.
 *   http://localhost:53682/callback) match exactly, port included, like Okta or Entra ID;
 * - a refresh token is rotated on every use, and presenting a used one revokes the whole
 *   grant (reuse detection): a client must never retry a refresh with the old token;
 * - `offline_access` yields a refresh token, rotated on every use. oidc-provider follows
 *   OIDC Core §11 and drops offline_access unless prompt=consent; like Keycloak, Okta and
 *   Entra, this IdP adds prompt=consent itself when the request names no prompt;
 * - the ID token carries sub, name, email, email_verified and groups (MinIO's STS reads
 *   the policy claim from the token it is given);
 * - revocation and RP-initiated logout (end_session) are on; the logout page signs out at
 *   once (it needs no click) so a system browser opened by the app completes by itself;
 * - resource indicators (RFC 8707): an authorization request may name the resources of
 *   `resourceServers` (default: DICOMWEB_RESOURCE); a refresh with `resource=` then yields
 *   a JWT access token for it (aud = the server's audience, plus the user's `groups`, as a
 *   HealthImaging-style archive authorises on them). Without `resource` the access token is
 *   the opaque one for userinfo, as before. Unknown resources: `invalid_target`.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomBytes } from 'node:crypto';
import { SignJWT, exportJWK, generateKeyPair, type JWK } from 'jose';
import Provider, { errors as oidcErrors, type Configuration, type KoaContextWithOIDC } from 'oidc-provider';
import { AppError } from '../../main/common/errors.js';

export interface DemoUser {
  username: string;
  password: string;
  name: string;
  email: string;
  groups: string[];
}

/** Demo accounts. The passwords are printed by `npm run stack`; they guard nothing real. */
export const DEMO_USERS: DemoUser[] = [
  { username: 'alice', password: 'alice-demo-pw', name: 'Alice Pathologist', email: 'alice@demo-hospital.test', groups: ['pathology'] },
  { username: 'bob', password: 'bob-demo-pw', name: 'Bob Researcher', email: 'bob@demo-hospital.test', groups: ['research'] },
  { username: 'carol', password: 'carol-demo-pw', name: 'Carol Visitor', email: 'carol@demo-hospital.test', groups: [] },
];

export interface IdpOptions {
  port?: number;
  /** Default 'pathology-desktop'. */
  clientId?: string;
  users?: DemoUser[];
  /** Lifetimes in seconds; short values make renewal testable. */
  ttl?: { accessToken?: number; idToken?: number; refreshToken?: number };
  /** Extra exact-match redirect URIs, e.g. 'http://localhost:53682/callback'. */
  extraRedirectUris?: string[];
  /** RFC 8707 resources this IdP issues JWT access tokens for. Default: DICOMWEB_RESOURCE → audience `dicomweb`. */
  resourceServers?: Record<string, ResourceServerSpec>;
}

export interface ResourceServerSpec {
  /** The `aud` of its access tokens. */
  audience: string;
  /** Access token lifetime in seconds (default: ttl.accessToken). */
  ttl?: number;
}

/** The resource indicator of the test stack's DICOMweb archive (an absolute URI, RFC 8707 §2). */
export const DICOMWEB_RESOURCE = 'urn:demo-hospital:dicomweb';
/** The audience the stack's token gate accepts. */
export const DICOMWEB_AUDIENCE = 'dicomweb';

export interface RunningIdp {
  issuer: string;
  clientId: string;
  users: DemoUser[];
  /** The public key set (no private members). */
  jwks: { keys: JWK[] };
  /** Sign arbitrary claims with the IdP's key, exactly as given (for stale iat / wrong aud tests). */
  signJwt(claims: Record<string, unknown>): Promise<string>;
  stop(): Promise<void>;
}

const DEFAULT_TTL = { accessToken: 600, idToken: 600, refreshToken: 14 * 24 * 3600 };
const PRIVATE_JWK_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k'] as const;

export async function startIdp(options: IdpOptions = {}): Promise<RunningIdp> {
  const clientId = options.clientId ?? 'pathology-desktop';
  const users = options.users ?? DEMO_USERS;
  const ttl = { ...DEFAULT_TTL, ...options.ttl };
  const byName = new Map(users.map((u) => [u.username, u]));
  const resourceServers = options.resourceServers ?? { [DICOMWEB_RESOURCE]: { audience: DICOMWEB_AUDIENCE } };

  // Fresh keys per start: nothing signed by an earlier stack can verify against this one.
  const { privateKey } = await generateKeyPair('RS256', { extractable: true, modulusLength: 2048 });
  const kid = randomBytes(8).toString('hex');
  const privateJwk: JWK = { ...(await exportJWK(privateKey)), kid, alg: 'RS256', use: 'sig' };
  const publicJwk: JWK = { ...privateJwk };
  for (const m of PRIVATE_JWK_MEMBERS) delete publicJwk[m];

  // Listen first so the issuer can carry the real port.
  const server: Server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) =>
      reject(
        new AppError('STACK_IDP_PORT', `The test identity provider could not listen on 127.0.0.1:${options.port ?? 0} (${err.code ?? err.message}).`, {
          cause: err,
          hint: options.port ? 'Choose another port or stop the program using it.' : 'Check that 127.0.0.1 is available.',
        }),
      ),
    );
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  const issuer = `http://127.0.0.1:${port}`;

  const configuration: Configuration = {
    clients: [
      {
        client_id: clientId,
        client_name: 'Slide Workstation',
        application_type: 'native',
        token_endpoint_auth_method: 'none',
        redirect_uris: ['http://127.0.0.1/callback', ...(options.extraRedirectUris ?? [])],
        post_logout_redirect_uris: ['http://127.0.0.1/logged-out', 'http://127.0.0.1/callback', ...(options.extraRedirectUris ?? [])],
        grant_types: ['authorization_code', 'refresh_token'],
        response_types: ['code'],
      },
    ],
    jwks: { keys: [privateJwk] },
    cookies: { keys: [randomBytes(32).toString('hex')] },
    // With `groups` in `profile` as well, clients asking the usual scopes still get it.
    scopes: ['openid', 'offline_access', 'profile', 'email', 'groups'],
    claims: {
      openid: ['sub'],
      profile: ['name', 'groups'],
      email: ['email', 'email_verified'],
      groups: ['groups'],
    },
    // The ID token must carry the claims itself (MinIO reads `groups` from it), not only userinfo.
    conformIdTokenClaims: false,
    pkce: { required: () => true },
    features: {
      devInteractions: { enabled: false },
      // Same rule as the default for public clients (only the client's own tokens), stated
      // so oidc-provider does not print a notice on every revocation.
      revocation: { enabled: true, allowedPolicy: async (_ctx, client, token) => token.clientId === client.clientId },
      userinfo: { enabled: true },
      resourceIndicators: {
        enabled: true,
        // No resource named at the token endpoint: the usual opaque token (userinfo), so the
        // sign-in itself is unchanged by the resources the grant also covers.
        defaultResource: async () => undefined,
        useGrantedResource: async () => false,
        getResourceServerInfo: async (_ctx, indicator) => {
          const rs = Object.prototype.hasOwnProperty.call(resourceServers, indicator) ? resourceServers[indicator] : undefined;
          if (!rs) throw new oidcErrors.InvalidTarget(`unknown resource indicator ${indicator}`);
          return { scope: '', audience: rs.audience, accessTokenTTL: rs.ttl ?? ttl.accessToken, accessTokenFormat: 'jwt', jwt: { sign: { alg: 'RS256' } } };
        },
      },
      rpInitiatedLogout: {
        enabled: true,
        logoutSource: async (ctx: KoaContextWithOIDC, form: string) => {
          ctx.body = page(
            'Sign out',
            `${form}<input type="hidden" form="op.logoutForm" name="logout" value="yes">
            <p>Signing you out of ${esc(ctx.host)}…</p>
            <button type="submit" form="op.logoutForm">Sign out</button>
            <script>document.getElementById('op.logoutForm').submit()</script>`,
          );
        },
        postLogoutSuccessSource: async (ctx: KoaContextWithOIDC) => {
          ctx.body = page('Signed out', '<p data-signed-out>You are signed out. You can close this window.</p>');
        },
      },
    },
    ttl: {
      // A resource server's own lifetime wins (oidc-provider's default rule, kept with a number here).
      AccessToken: (_ctx, token) => token.resourceServer?.accessTokenTTL ?? ttl.accessToken,
      IdToken: ttl.idToken,
      RefreshToken: ttl.refreshToken,
      Interaction: 600,
      Session: 24 * 3600,
      Grant: ttl.refreshToken,
    },
    rotateRefreshToken: true,
    // A HealthImaging-style archive authorises on groups: they go into its JWT access tokens.
    extraTokenClaims: async (_ctx, token) => {
      if (token.kind !== 'AccessToken' || !('resourceServer' in token) || !token.resourceServer) return undefined;
      const user = byName.get(token.accountId);
      return { groups: user ? user.groups : [] };
    },
    findAccount: async (_ctx, sub) => {
      const user = byName.get(sub);
      if (!user) return undefined;
      return {
        accountId: sub,
        claims: async () => ({ sub, name: user.name, email: user.email, email_verified: true, groups: user.groups }),
      };
    },
    interactions: { url: async (_ctx, interaction) => `/interaction/${interaction.uid}` },
    renderError: async (ctx, out) => {
      ctx.type = 'html';
      ctx.body = page(
        'Sign-in error',
        `<div data-oidc-error="${esc(String(out.error ?? 'error'))}"><h1>Sign-in error</h1>${Object.entries(out)
          .map(([k, v]) => `<p><strong>${esc(k)}</strong>: ${esc(String(v))}</p>`)
          .join('')}</div>`,
      );
    },
  };

  const provider = new Provider(issuer, configuration);
  // Clients that ask for offline_access without naming a prompt get a refresh token, as
  // with the common enterprise IdPs; consent is automatic for this client anyway.
  // http://localhost redirects stand for providers such as Okta and Entra ID that match
  // redirect URIs exactly; oidc-provider would ignore their port as it does for 127.0.0.1.
  const exactRedirects = new Set(options.extraRedirectUris ?? []);
  provider.use(async (ctx, next) => {
    if (ctx.path === '/auth' && ctx.method === 'GET') {
      const q = new URLSearchParams(ctx.querystring);
      const redirect = URL.parse(q.get('redirect_uri') ?? '');
      if (redirect && redirect.hostname !== '127.0.0.1' && !exactRedirects.has(redirect.href)) {
        ctx.status = 400;
        ctx.type = 'html';
        ctx.body = page(
          'Sign-in error',
          `<div data-oidc-error="invalid_redirect_uri"><h1>Sign-in error</h1><p><strong>error</strong>: invalid_redirect_uri</p><p><strong>error_description</strong>: redirect_uri did not match any of the client's registered redirect_uris</p></div>`,
        );
        return;
      }
      if ((q.get('scope') ?? '').split(' ').includes('offline_access') && !q.has('prompt')) {
        q.set('prompt', 'consent');
        ctx.querystring = q.toString();
      }
    }
    await next();
  });
  const providerCallback = provider.callback();

  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', issuer);
    const m = /^\/interaction\/([^/]+)(\/(login|abort))?$/.exec(url.pathname);
    if (!m) {
      providerCallback(req, res);
      return;
    }
    handleInteraction(provider, byName, req, res, m[1]!, m[3]).catch((err: unknown) => {
      if (!res.headersSent) {
        res.statusCode = 400;
        res.setHeader('content-type', 'text/html; charset=utf-8');
        res.end(page('Sign-in error', `<div data-oidc-error="interaction"><h1>Sign-in error</h1><p>${esc(String((err as Error)?.message ?? err))}</p></div>`));
      } else res.end();
    });
  });

  const sockets = new Set<import('node:net').Socket>();
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });

  return {
    issuer,
    clientId,
    users,
    jwks: { keys: [publicJwk] },
    signJwt: (claims) => new SignJWT(claims).setProtectedHeader({ alg: 'RS256', kid, typ: 'JWT' }).sign(privateKey),
    stop: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        // Keep-alive connections from browsers and clients would hold close() open.
        for (const s of sockets) s.destroy();
      }),
  };
}

async function readForm(req: IncomingMessage): Promise<URLSearchParams> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > 64 * 1024) throw new Error('form too large');
    chunks.push(chunk);
  }
  return new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
}

async function handleInteraction(
  provider: Provider,
  byName: Map<string, DemoUser>,
  req: IncomingMessage,
  res: ServerResponse,
  uid: string,
  action: string | undefined,
): Promise<void> {
  const details = await provider.interactionDetails(req, res);
  if (details.uid !== uid) throw new Error('This sign-in page belongs to another sign-in attempt. Start the sign-in again from the app.');
  const { prompt, params, session } = details;

  if (action === 'abort' && req.method === 'POST') {
    await provider.interactionFinished(
      req,
      res,
      { error: 'access_denied', error_description: 'The user cancelled the sign-in.' },
      { mergeWithLastSubmission: false },
    );
    return;
  }

  if (action === 'login' && req.method === 'POST') {
    const form = await readForm(req);
    const username = (form.get('username') ?? '').trim();
    const user = byName.get(username);
    if (!user || form.get('password') !== user.password) {
      sendHtml(res, 401, loginPage(uid, String(params.client_id), username, 'Wrong user name or password.'));
      return;
    }
    await provider.interactionFinished(req, res, { login: { accountId: user.username } }, { mergeWithLastSubmission: false });
    return;
  }

  if (prompt.name === 'login') {
    sendHtml(res, 200, loginPage(uid, String(params.client_id), '', ''));
    return;
  }

  if (prompt.name === 'consent') {
    // First-party client: grant what was asked without showing a consent page.
    const grant = details.grantId
      ? await provider.Grant.find(details.grantId)
      : new provider.Grant({ accountId: session?.accountId, clientId: String(params.client_id) });
    if (!grant) throw new Error('The sign-in grant has expired. Start the sign-in again from the app.');
    const d = prompt.details as { missingOIDCScope?: string[]; missingOIDCClaims?: string[]; missingResourceScopes?: Record<string, string[]> };
    if (d.missingOIDCScope) grant.addOIDCScope(d.missingOIDCScope.join(' '));
    if (d.missingOIDCClaims) grant.addOIDCClaims(d.missingOIDCClaims);
    for (const [indicator, scopes] of Object.entries(d.missingResourceScopes ?? {})) grant.addResourceScope(indicator, scopes.join(' '));
    const grantId = await grant.save();
    await provider.interactionFinished(req, res, { consent: { grantId } }, { mergeWithLastSubmission: true });
    return;
  }

  throw new Error(`Unsupported sign-in step "${prompt.name}".`);
}

function sendHtml(res: ServerResponse, status: number, html: string): void {
  res.statusCode = status;
  res.setHeader('content-type', 'text/html; charset=utf-8');
  res.setHeader('cache-control', 'no-store');
  res.end(html);
}

function loginPage(uid: string, clientId: string, username: string, error: string): string {
  return page(
    'Sign in – Demo Hospital',
    `<h1>Demo Hospital</h1>
    <p>Sign in to continue to <strong>${esc(clientId)}</strong>.</p>
    ${error ? `<p class="error" role="alert" data-login-error>${esc(error)}</p>` : ''}
    <form method="post" action="/interaction/${esc(uid)}/login" autocomplete="off">
      <label>User name <input name="username" value="${esc(username)}" required autofocus></label>
      <label>Password <input name="password" type="password" required></label>
      <button type="submit" name="action" value="login">Sign in</button>
      <button type="submit" name="action" value="cancel" formaction="/interaction/${esc(uid)}/abort" formnovalidate>Cancel</button>
    </form>`,
  );
}

function page(title: string, body: string): string {
  // No external fonts or scripts: the pages must work without the internet.
  return `<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>${esc(title)}</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>body{font-family:system-ui,sans-serif;max-width:22rem;margin:3rem auto;padding:0 1rem}
label{display:block;margin:.6rem 0}input{display:block;width:100%;padding:.3rem;box-sizing:border-box}
button{margin:.8rem .4rem 0 0;padding:.4rem 1rem}.error{color:#a00;font-weight:600}</style>
</head><body>${body}</body></html>`;
}

function esc(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}
