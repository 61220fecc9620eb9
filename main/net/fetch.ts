/**
 * The one fetch every request of main goes through in the headless host and the CLI
 * (the Electron app passes its session's net.fetch instead: system proxy, PAC, OS
 * certificate store). Here: HTTPS_PROXY / HTTP_PROXY / NO_PROXY through undici's
 * EnvHttpProxyAgent, and extra trusted roots from `network.caFile` beside Node's own
 * (NODE_EXTRA_CA_CERTS keeps working: Node adds it to its default roots). Nothing per call.
 */
import { readFileSync } from 'node:fs';
import { rootCertificates } from 'node:tls';
import { EnvHttpProxyAgent, fetch as undiciFetch, type Dispatcher } from 'undici';
import { AppError } from '../common/errors.js';
import type { FetchLike } from '../common/fetch.js';
import { NET_ERRORS } from './errors.js';

export interface NetworkOptions {
  /** PEM file of extra root certificates (a TLS-inspecting proxy's, a private CA's). */
  caFile?: string;
  /** Defaults to process.env. */
  env?: NodeJS.ProcessEnv;
}

/** What the settings say about the network (the proxy comes from the environment). */
export function networkOptions(settings: { network: { caFile?: string } }): NetworkOptions {
  return settings.network.caFile ? { caFile: settings.network.caFile } : {};
}

/** The host's own fetch when it brings one (Electron's net.fetch), else the one the environment and settings call for. */
export function resolveFetch(given: FetchLike | undefined, settings: { network: { caFile?: string } }): FetchLike | undefined {
  return given ?? createNetworkFetch(networkOptions(settings));
}

function proxyFrom(env: NodeJS.ProcessEnv, name: string): string | undefined {
  const v = env[name] ?? env[name.toLowerCase()];
  if (!v) return undefined;
  const u = URL.parse(v);
  if (!u || (u.protocol !== 'http:' && u.protocol !== 'https:')) throw NET_ERRORS.make('NET_PROXY_INVALID', { details: { variable: name } });
  return v;
}

/** undici reports TLS trust failures by these codes (from OpenSSL through Node). */
const UNTRUSTED = new Set(['UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'SELF_SIGNED_CERT_IN_CHAIN', 'DEPTH_ZERO_SELF_SIGNED_CERT', 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY', 'CERT_UNTRUSTED', 'ERR_TLS_CERT_ALTNAME_INVALID']);

function causeCode(err: unknown): string | undefined {
  for (let e = err as { code?: unknown; cause?: unknown } | undefined, i = 0; e && i < 5; e = e.cause as typeof e, i++) {
    if (typeof e.code === 'string' && UNTRUSTED.has(e.code)) return e.code;
  }
  return undefined;
}

/**
 * The injected fetch, or undefined when nothing is configured (then Node's global fetch is
 * used as before). Throws a coded error at start-up for a bad proxy or CA file.
 */
export function createNetworkFetch(options: NetworkOptions = {}): FetchLike | undefined {
  const env = options.env ?? process.env;
  const https = proxyFrom(env, 'HTTPS_PROXY');
  const http = proxyFrom(env, 'HTTP_PROXY');
  let ca: string[] | undefined;
  if (options.caFile) {
    try {
      ca = [...rootCertificates, readFileSync(options.caFile, 'utf8')];
    } catch (err) {
      throw NET_ERRORS.make('NET_CA_FILE_UNREADABLE', { cause: err, details: { caFile: options.caFile } });
    }
  }
  if (!https && !http && !ca) return undefined;
  const noProxy = env.NO_PROXY ?? env.no_proxy;
  const dispatcher: Dispatcher = new EnvHttpProxyAgent({
    ...(https ? { httpsProxy: https } : {}),
    ...(http ? { httpProxy: http } : {}),
    ...(noProxy !== undefined ? { noProxy } : {}),
    ...(ca ? { connect: { ca }, requestTls: { ca } } : {}),
  });
  const f = async (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
    try {
      // undici's own fetch: Node's global one may be another undici version than the agent.
      // Its Response is the WHATWG one the rest of main reads.
      return (await undiciFetch(input as Parameters<typeof undiciFetch>[0], { ...(init as Parameters<typeof undiciFetch>[1]), dispatcher })) as unknown as Response;
    } catch (err) {
      const code = causeCode(err);
      if (code) throw NET_ERRORS.make('NET_CERT_UNTRUSTED', { cause: err, details: { tls: code, host: hostOf(input) } });
      if (err instanceof AppError) throw err;
      const status = (err as { cause?: { statusCode?: unknown } }).cause?.statusCode;
      if (status === 407) throw NET_ERRORS.make('NET_PROXY_AUTH', { cause: err });
      throw err;
    }
  };
  return f;
}

function hostOf(input: string | URL | Request): string {
  try {
    return new URL(typeof input === 'string' ? input : input instanceof URL ? input.href : input.url).host;
  } catch {
    return '';
  }
}
