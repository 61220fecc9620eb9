/**
 * The headless host: the main services and the renderer bundle behind the loopback HTTP
 * transport (main/api/http-host.ts), for real Chromium in end-to-end tests and for
 * machines without the Electron runtime. Run by `npm run start:headless`
 * (scripts/start.mjs), or imported by tests with an injected browser opener.
 *
 * Prints one JSON line on stdout when ready: {"url": launch URL, "origin", "config", "demo"}.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { createAppRequestHandler } from '../api/app-protocol.js';
import { createEventBus, createHandlers } from '../api/handlers.js';
import { startHttpHost, type HttpHost } from '../api/http-host.js';
import { toAppError } from '../common/errors.js';
import { configureLogging, logger } from '../common/log.js';
import { isConfigured, loadSettings } from '../config/index.js';
import { openInSystemBrowser, openLaunchLink, type LaunchHandoff } from './open-browser.js';
import { createServices, type Services } from './services.js';

const log = logger('headless');

export const DEFAULT_RENDERER_DIR = fileURLToPath(new URL('../../dist/renderer', import.meta.url));

export interface HeadlessOptions {
  configFile?: string;
  port?: number;
  isolated?: boolean;
  dataDir?: string;
  cacheDir?: string;
  demo?: boolean;
  rendererDir?: string;
  /** The "system browser" for sign-in; default: the OS opener, and the URL on stderr. */
  openBrowser?: (url: string) => Promise<void>;
  /** The "open file" dialog for "Open local slide…"; without it the app says it needs the desktop app. */
  pickFile?: () => Promise<string | undefined>;
}

export interface HeadlessApp {
  host: HttpHost;
  services: Services;
  launchUrl: string;
  close(): Promise<void>;
}

async function defaultOpener(url: string): Promise<void> {
  const opened = await openInSystemBrowser(url);
  process.stderr.write(`${opened ? 'Opened in your browser' : 'Open this link in your browser'}: ${url}\n`);
}

export async function startHeadless(o: HeadlessOptions = {}): Promise<HeadlessApp> {
  const services = await createServices({
    host: 'headless',
    openBrowser: o.openBrowser ?? defaultOpener,
    ...(o.configFile ? { configFile: o.configFile } : {}),
    ...(o.isolated ? { isolated: true } : {}),
    ...(o.dataDir ? { dataDir: o.dataDir } : {}),
    ...(o.cacheDir ? { cacheDir: o.cacheDir } : {}),
    ...(o.demo ? { demo: true } : {}),
    ...(o.pickFile ? { pickFile: o.pickFile } : {}),
  });
  const handlers = createHandlers(services.api);
  const events = createEventBus(services.api);
  const host = await startHttpHost({
    handlers,
    events,
    app: createAppRequestHandler({ rendererDir: o.rendererDir ?? DEFAULT_RENDERER_DIR, tiles: services.tileRoute }),
    ...(o.port !== undefined ? { port: o.port } : {}),
  });
  // A sign-in kept from an earlier run comes back without a browser round trip.
  void services.auth.restore().catch((err: unknown) => log.warn('restoring the previous sign-in failed', { code: toAppError(err).code }));
  return {
    host,
    services,
    launchUrl: host.launchUrl,
    close: async () => {
      await host.close();
      await services.dispose();
    },
  };
}

interface DemoStack {
  configFile: string;
  users: { username: string; password: string }[];
  stop(): Promise<void>;
}

interface Args {
  config?: string;
  port?: number;
  /** Another renderer build than dist/renderer (tests build their own). */
  renderer?: string;
  open: boolean;
}

function parseArgs(argv: string[]): Args {
  const args: Args = { open: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--config') args.config = argv[++i];
    else if (a?.startsWith('--config=')) args.config = a.slice('--config='.length);
    else if (a === '--port') args.port = Number(argv[++i]);
    else if (a === '--renderer') args.renderer = argv[++i];
    else if (a === '--open') args.open = true;
    else if (a === '--headless') continue;
    else throw new Error(`Unknown argument ${a}. Usage: headless [--config FILE] [--port N] [--renderer DIR] [--open]`);
  }
  return args;
}

async function main(): Promise<void> {
  if (process.env.WSI_LOG_FILE) configureLogging({ file: process.env.WSI_LOG_FILE });
  const args = parseArgs(process.argv.slice(2));
  let configFile = args.config;
  let stop: (() => Promise<void>) | undefined;
  let demo = false;
  if (configFile && !existsSync(configFile)) throw new Error(`The settings file ${configFile} does not exist.`);
  if (!configFile && !isConfigured(loadSettings().settings)) {
    process.stderr.write('No sign-in service is configured: starting the built-in demo environment (identity provider, MinIO, and a DICOMweb archive where this machine can run Orthanc)…\n');
    // The demo environment is development code; a packaged app is always configured by IT.
    const stackModule = '../../test/stack/stack.js';
    // Typed by hand: the module is resolved at run time so production bundles never carry it.
    const { startStack } = (await import(stackModule)) as { startStack(o: object): Promise<DemoStack> };
    const stack = await startStack({ dicomweb: 'if-available' });
    configFile = stack.configFile;
    stop = () => stack.stop();
    demo = true;
    const users = stack.users.map((u) => `${u.username} / ${u.password}`).join(', ');
    process.stderr.write(`Demo users: ${users}\n`);
  }
  const app = await startHeadless({
    ...(configFile ? { configFile } : {}),
    ...(args.port ? { port: args.port } : {}),
    ...(args.renderer ? { rendererDir: args.renderer } : {}),
    demo,
  });
  process.stdout.write(JSON.stringify({ url: app.launchUrl, origin: app.host.origin, config: configFile ?? null, demo }) + '\n');
  process.stderr.write(`Slide Workstation is running at ${app.launchUrl}\n(open that link; it works once, in one browser). Ctrl-C stops it.\n`);
  let handoff: LaunchHandoff | undefined;
  if (args.open) {
    // Its own one-time link, through a private file: never on the opener's command line.
    let used = false;
    const url = app.host.newLaunchUrl(() => {
      used = true;
      handoff?.remove();
    });
    handoff = await openLaunchLink(url);
    // The browser may have used it before the opener's spawn was reported.
    if (used || !handoff.opened) handoff.remove();
  }
  let stopping = false;
  const shutdown = (): void => {
    if (stopping) return;
    stopping = true;
    handoff?.remove();
    void (async () => {
      await app.close().catch(() => undefined);
      await stop?.().catch(() => undefined);
      process.exit(0);
    })();
  };
  process.on('SIGINT', shutdown);
  process.on('SIGTERM', shutdown);
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((err: unknown) => {
    const e = toAppError(err);
    process.stderr.write(`Could not start: ${e.message}${e.hint ? `\n${e.hint}` : ''}\n`);
    process.exit(1);
  });
}
