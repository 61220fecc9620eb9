/**
 * The thin Electron shell: windows, the wsi:// protocol, IPC, safeStorage, the system
 * browser. It decides nothing itself: the services come from main/app/services.ts, the
 * request handler from main/api/app-protocol.ts, the call dispatch from
 * main/api/handlers.ts and every security decision from main/app/shell-policy.ts (all
 * tested under plain Node). Hardening follows VS Code and Bitwarden: sandboxed,
 * context-isolated renderer without Node, a dedicated session, a strict CSP, no
 * navigation, no new windows, no network but the app's own scheme.
 */
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { createAppRequestHandler } from '../api/app-protocol.js';
import { createEventBus, createHandlers, dispatch } from '../api/handlers.js';
import { CONTENT_SECURITY_POLICY } from '../api/security.js';
import { createServices, type Services } from '../app/services.js';
import { APP_ENTRY, APP_SCHEME, isAllowedExternalUrl, isAllowedNavigation, isAllowedRequest, isTrustedSender } from '../app/shell-policy.js';
import { runCli } from '../cli/index.js';
import { toAppError } from '../common/errors.js';
import { configureLogging, logger } from '../common/log.js';
import { loadSettings } from '../config/index.js';
import { SLIDE_EXTENSIONS } from '../formats/slide-names.js';
import { cliArguments } from './cli-mode.js';
import type { BrowserWindow, ElectronMain, WebContents } from './electron-shim.js';
import { SafeStorageSecretStore, safeStorageUsable } from './safe-storage-store.js';
import { appErrors } from '../app/errors.js';

// Loaded with require and typed by electron-shim.d.ts: see that file for why.
const electron = createRequire(import.meta.url)('electron') as ElectronMain;
const { app, BrowserWindow: Window, dialog, ipcMain, protocol, session, shell, safeStorage } = electron;

const log = logger('electron');
const PARTITION = 'persist:slide-workstation';
const NETWORK_PARTITION = 'slide-workstation-network';
export const CALL_CHANNEL = 'wsi:call';
export const EVENT_CHANNEL = 'wsi:event';

// Must happen before 'ready': wsi:// behaves like https (secure context, fetch, 'self' in CSP).
protocol.registerSchemesAsPrivileged([
  { scheme: APP_SCHEME, privileges: { standard: true, secure: true, supportFetchAPI: true, stream: true, corsEnabled: false, codeCache: true } },
]);
app.enableSandbox();

function argValue(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  if (i >= 0) return process.argv[i + 1];
  const eq = process.argv.find((a) => a.startsWith(`${name}=`));
  return eq?.slice(name.length + 1);
}

/** Every web contents (windows, devtools, anything) gets the same lock-down. */
function harden(contents: WebContents): void {
  contents.setWindowOpenHandler(() => ({ action: 'deny' }));
  const block = (event: { preventDefault(): void }, url: string): void => {
    if (!isAllowedNavigation(url)) {
      event.preventDefault();
      log.warn('blocked navigation', { url: url.slice(0, 200) });
    }
  };
  contents.on('will-navigate', (e, url) => block(e, url ?? e.url));
  contents.on('will-redirect', (e, url) => block(e, url ?? e.url));
  contents.on('will-frame-navigate', (e, url) => block(e, url ?? e.url));
  contents.on('will-attach-webview', (e) => e.preventDefault());
}

async function main(): Promise<void> {
  if (!app.requestSingleInstanceLock()) {
    app.quit();
    return;
  }
  configureLogging({ file: process.env.WSI_LOG_FILE ?? join(app.getPath('logs'), 'main.log'), console: !app.isPackaged });
  app.on('web-contents-created', (_e, contents) => harden(contents));
  await app.whenReady();

  const configFile = argValue('--config');
  const loaded = loadSettings(configFile ? { configFile } : {});
  const dataDir = loaded.settings.paths.data;
  const secretStore = safeStorageUsable(safeStorage) ? new SafeStorageSecretStore(safeStorage, dataDir) : undefined;
  const auth = loaded.settings.auth;
  // Every request of main (sign-in, STS, S3, DICOMweb, token refresh) goes through Chromium's
  // network stack on its own session, without an HTTP cache: the system proxy and PAC,
  // proxy authentication and the OS certificate store apply, as in the user's browser.
  const netSession = session.fromPartition(NETWORK_PARTITION, { cache: false });
  // Bound once services exist: the provider's discovered endpoints are allowed too.
  let providerOrigins = (): string[] => [];
  const services: Services = await createServices({
    host: 'electron',
    fetch: (input, init) => netSession.fetch(input, { ...init, bypassCustomProtocolHandlers: true }),
    version: app.getVersion(),
    ...(configFile ? { configFile } : {}),
    ...(secretStore ? { secretStore } : {}),
    openBrowser: async (url) => {
      if (!isAllowedExternalUrl(url, auth.issuer, auth.allowInsecureIssuer, providerOrigins())) {
        log.warn('refused to open a URL outside the identity provider', { origin: safeOrigin(url) });
        throw appErrors.make('SHELL_EXTERNAL_REFUSED', 'The app refused to open a link that does not belong to the sign-in service.', {
          hint: 'IT: check auth.issuer in the settings.',
        });
      }
      await shell.openExternal(url);
    },
    pickFile: async () => {
      const result = await dialog.showOpenDialog(Window.getAllWindows()[0], {
        title: 'Open a slide from this computer',
        buttonLabel: 'Open',
        properties: ['openFile'],
        filters: [
          // The dialog matches the last extension only: '.ome.tif' is covered by 'tif'.
          { name: 'Slides', extensions: [...new Set(SLIDE_EXTENSIONS.map((e) => e.slice(e.lastIndexOf('.') + 1)))] },
          { name: 'All files', extensions: ['*'] },
        ],
      });
      return result.canceled ? undefined : result.filePaths[0];
    },
  });
  providerOrigins = () => services.auth.browserOrigins();

  const ses = session.fromPartition(PARTITION);
  // The renderer needs no camera, notifications or geolocation; only copying the sign-in link.
  ses.setPermissionRequestHandler((_wc, permission, callback) => callback(permission === 'clipboard-sanitized-write'));
  ses.setPermissionCheckHandler((_wc, permission) => permission === 'clipboard-sanitized-write');
  ses.webRequest.onBeforeRequest((details, callback) => callback({ cancel: !isAllowedRequest(details.url) }));
  ses.webRequest.onHeadersReceived((details, callback) =>
    callback({ responseHeaders: { ...(details.responseHeaders ?? {}), 'Content-Security-Policy': [CONTENT_SECURITY_POLICY] } }),
  );
  ses.protocol.handle(APP_SCHEME, createAppRequestHandler({ rendererDir: join(app.getAppPath(), 'dist', 'renderer'), tiles: services.tileRoute }));

  const handlers = createHandlers(services.api);
  const events = createEventBus(services.api);
  ipcMain.handle(CALL_CHANNEL, async (event, method, params) => {
    const frame = event.senderFrame;
    if (!frame || !isTrustedSender(frame.url, frame === event.sender.mainFrame && frame.parent === null)) {
      log.warn('refused an IPC call from an untrusted frame', { origin: safeOrigin(frame?.url) });
      return { ok: false, error: { code: 'API_REFUSED', message: 'Refused.', retryable: false } };
    }
    return dispatch(handlers, typeof method === 'string' ? method : '', params);
  });

  const windows = new Set<BrowserWindow>();
  events.onAny((name, payload) => {
    for (const w of windows) if (!w.webContents.isDestroyed()) w.webContents.send(EVENT_CHANNEL, name, payload);
  });

  const createWindow = (): void => {
    const win = new Window({
      width: 1280,
      height: 820,
      minWidth: 800,
      minHeight: 560,
      show: false,
      title: 'Slide Workstation',
      backgroundColor: '#f4f6f9',
      webPreferences: {
        preload: join(app.getAppPath(), 'dist', 'electron', 'preload.cjs'),
        contextIsolation: true,
        sandbox: true,
        nodeIntegration: false,
        nodeIntegrationInWorker: false,
        webSecurity: true,
        allowRunningInsecureContent: false,
        webviewTag: false,
        navigateOnDragDrop: false,
        spellcheck: false,
        devTools: !app.isPackaged,
        session: ses,
      },
    });
    windows.add(win);
    win.on('closed', () => windows.delete(win));
    win.once('ready-to-show', () => win.show());
    void win.loadURL(APP_ENTRY);
  };

  app.on('second-instance', () => {
    const [w] = windows;
    if (w) {
      if (w.isMinimized()) w.restore();
      w.focus();
    }
  });
  app.on('activate', () => {
    if (windows.size === 0) createWindow();
  });
  app.on('window-all-closed', () => {
    if (process.platform !== 'darwin') app.quit();
  });
  app.on('before-quit', () => void services.dispose());
  void services.auth.restore();
  createWindow();
}

function safeOrigin(url: string | undefined): string {
  try {
    return url ? new URL(url).origin : '';
  } catch {
    return '';
  }
}

/**
 * `<app binary> --cli <command>` (what resources/cli/ launches): the CLI in this process,
 * without a window, a dock icon or the single-instance lock, so credential_process works
 * while the app is open. Its exit code is the CLI's.
 */
async function cliMode(args: string[]): Promise<void> {
  app.dock?.hide();
  let code = 1;
  try {
    code = await runCli(args);
  } finally {
    app.exit(code);
  }
}

const cliArgs = cliArguments(process.argv);
if (cliArgs) {
  void cliMode(cliArgs);
} else {
  main().catch((err: unknown) => {
    const e = toAppError(err);
    log.error('the app could not start', { code: e.code, err: e });
    app.quit();
  });
}
