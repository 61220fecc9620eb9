/**
 * The Electron shell's wiring, as far as it can be checked without the Electron runtime
 * (which cannot be downloaded on the build machines): the real bundle
 * (scripts/build-electron.mjs) runs under Node with a recording stand-in for the
 * `electron` module, against the real services and a real identity provider. It checks
 * what the shell sets up: window hardening, the wsi:// handler, the network block, the
 * permission and navigation rules, IPC sender checks, openExternal for the IdP only, and
 * the safeStorage-backed secret store. Electron's own behaviour is not simulated.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { CONTENT_SECURITY_POLICY } from '../../main/api/security.js';
import { SafeStorageSecretStore } from '../../main/electron/safe-storage-store.js';
import { startIdp, type RunningIdp } from '../stack/idp.js';

type Handler = (...args: unknown[]) => unknown;

class FakeWebContents extends EventEmitter {
  readonly id = 1;
  readonly mainFrame = { url: 'wsi://app/index.html', parent: null };
  readonly sent: unknown[][] = [];
  windowOpen: Handler | undefined;
  send(...args: unknown[]): void {
    this.sent.push(args);
  }
  isDestroyed(): boolean {
    return false;
  }
  setWindowOpenHandler(h: Handler): void {
    this.windowOpen = h;
  }
}

class FakeSession {
  /** URLs main fetched through this session (Electron's net stack in the real app). */
  readonly fetched: string[] = [];
  fetch = (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
    this.fetched.push(typeof input === 'string' ? input : input instanceof URL ? input.href : input.url);
    const { bypassCustomProtocolHandlers: _b, ...rest } = (init ?? {}) as RequestInit & { bypassCustomProtocolHandlers?: boolean };
    return fetch(input, rest);
  };
  readonly protocols = new Map<string, (r: Request) => Promise<Response>>();
  readonly protocol = { handle: (scheme: string, h: (r: Request) => Promise<Response>) => void this.protocols.set(scheme, h) };
  permissionRequest: Handler | undefined;
  permissionCheck: Handler | undefined;
  beforeRequest: Handler | undefined;
  headersReceived: Handler | undefined;
  readonly webRequest = {
    onBeforeRequest: (l: Handler) => void (this.beforeRequest = l),
    onHeadersReceived: (l: Handler) => void (this.headersReceived = l),
  };
  setPermissionRequestHandler(h: Handler): void {
    this.permissionRequest = h;
  }
  setPermissionCheckHandler(h: Handler): void {
    this.permissionCheck = h;
  }
}

describe('Electron shell wiring (real bundle, real services, recorded Electron calls)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'wsi-shell-'));
  const appDir = join(dir, 'app');
  const dataDir = join(dir, 'data');
  let idp: RunningIdp;
  const app = Object.assign(new EventEmitter(), {
    isPackaged: false,
    sandboxed: false,
    getVersion: () => '9.9.9',
    getAppPath: () => appDir,
    getPath: () => join(dir, 'logs'),
    whenReady: () => Promise.resolve(),
    enableSandbox() {
      this.sandboxed = true;
    },
    requestSingleInstanceLock: () => true,
    quit: () => undefined,
  });
  const sessions = new Map<string, FakeSession>();
  const ipc = new Map<string, Handler>();
  /** What the shell asked the system's file dialog to show. */
  const dialogs: { properties: string[]; filters?: { extensions: string[] }[] }[] = [];
  const opened: string[] = [];
  let onOpened: ((url: string) => void) | undefined;
  const schemes: unknown[] = [];
  let win: { options: Record<string, unknown>; webContents: FakeWebContents; url?: string } | undefined;
  let windowCreated!: () => void;
  const windowReady = new Promise<void>((r) => (windowCreated = r));

  const created: BrowserWindow[] = [];
  class BrowserWindow extends EventEmitter {
    readonly webContents = new FakeWebContents();
    url: string | undefined;
    constructor(readonly options: Record<string, unknown>) {
      super();
      app.emit('web-contents-created', {}, this.webContents);
      created.push(this);
      win = created[0];
    }
    loadURL(url: string): Promise<void> {
      this.url = url;
      windowCreated();
      return Promise.resolve();
    }
    show(): void {}
    isMinimized(): boolean {
      return false;
    }
    restore(): void {}
    focus(): void {}
    static getAllWindows(): unknown[] {
      return win ? [win] : [];
    }
  }
  // Reversible but not plain: enough to see that the file never holds the clear text.
  const safeStorage = {
    isEncryptionAvailable: () => true,
    getSelectedStorageBackend: () => 'gnome_libsecret',
    encryptString: (s: string) => Buffer.from(Buffer.from(s, 'utf8').map((b) => b ^ 0x5a)),
    decryptString: (b: Buffer) => Buffer.from(b.map((x) => x ^ 0x5a)).toString('utf8'),
  };

  const call = async (method: string, params?: unknown, frame = { url: 'wsi://app/index.html', parent: null as unknown }) => {
    const handler = ipc.get('wsi:call');
    assert.ok(handler, 'the shell registered the call channel');
    const sender = { mainFrame: frame };
    return (await handler({ sender, senderFrame: frame }, method, params)) as { ok: boolean; result?: Record<string, unknown>; error?: { code: string } };
  };

  before(async () => {
    idp = await startIdp();
    mkdirSync(join(appDir, 'dist', 'renderer'), { recursive: true });
    writeFileSync(join(appDir, 'dist', 'renderer', 'index.html'), '<!doctype html><title>app</title>');
    const bundleDir = join(dir, 'bundle');
    const root = join(import.meta.dirname, '..', '..');
    const built = spawnSync(process.execPath, [join(root, 'scripts', 'build-electron.mjs'), '--outdir', bundleDir], { encoding: 'utf8', cwd: root });
    assert.equal(built.status, 0, built.stderr);
    mkdirSync(join(dir, 'node_modules', 'electron'), { recursive: true });
    writeFileSync(join(dir, 'node_modules', 'electron', 'index.js'), 'module.exports = globalThis.__wsiElectronStandIn;\n');
    // The bundle keeps better-sqlite3 (native, the tile cache) external, as the packaged app does.
    symlinkSync(join(root, 'node_modules', 'better-sqlite3'), join(dir, 'node_modules', 'better-sqlite3'), 'dir');
    (globalThis as Record<string, unknown>).__wsiElectronStandIn = {
      app,
      BrowserWindow,
      ipcMain: { handle: (channel: string, h: Handler) => void ipc.set(channel, h) },
      protocol: { registerSchemesAsPrivileged: (s: unknown[]) => void schemes.push(...s) },
      session: {
        fromPartition: (name: string) => {
          const s = sessions.get(name) ?? new FakeSession();
          sessions.set(name, s);
          return s;
        },
      },
      shell: {
        openExternal: async (url: string) => {
          opened.push(url);
          onOpened?.(url);
        },
      },
      safeStorage,
      dialog: {
        showOpenDialog: async (_window: unknown, options: { properties: string[]; filters?: { extensions: string[] }[] }) => {
          dialogs.push(options);
          return { canceled: true, filePaths: [] };
        },
      },
    };
    const config = join(dir, 'config.json');
    writeFileSync(
      config,
      JSON.stringify({ organisation: { name: 'Shell Test Hospital' }, auth: { issuer: idp.issuer, allowInsecureIssuer: true }, paths: { data: dataDir, cache: join(dir, 'cache') } }),
    );
    process.env.XDG_CONFIG_HOME = join(dir, 'xdg');
    process.env.SLIDE_WORKSTATION_POLICY = join(dir, 'no-policy.json');
    process.env.WSI_LOG_FILE = join(dir, 'logs', 'main.log');
    process.argv.push('--config', config);
    await import(pathToFileURL(join(bundleDir, 'main.js')).href);
    await windowReady;
  });

  after(async () => {
    app.emit('before-quit');
    await idp?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  test('the window is sandboxed, context-isolated, without Node, in its own session', () => {
    assert.ok(win);
    const prefs = win.options.webPreferences as Record<string, unknown>;
    assert.equal(prefs.contextIsolation, true);
    assert.equal(prefs.sandbox, true);
    assert.equal(prefs.nodeIntegration, false);
    assert.equal(prefs.webviewTag, false);
    assert.equal(prefs.session, sessions.get('persist:slide-workstation'));
    assert.match(String(prefs.preload), /dist[\\/]electron[\\/]preload\.cjs$/);
    assert.equal(win.url, 'wsi://app/index.html');
    assert.equal(app.sandboxed, true);
    assert.deepEqual(
      schemes.map((s) => (s as { scheme: string }).scheme),
      ['wsi'],
    );
  });

  test('wsi:// serves the bundle with the CSP and refuses unknown routes', async () => {
    const handler = sessions.get('persist:slide-workstation')!.protocols.get('wsi')!;
    const page = await handler(new Request('wsi://app/index.html'));
    assert.equal(page.status, 200);
    assert.equal(page.headers.get('content-security-policy'), CONTENT_SECURITY_POLICY);
    assert.equal((await handler(new Request('wsi://app/secret.key'))).status, 404);
    assert.ok([400, 404].includes((await handler(new Request('wsi://app/%2e%2e/%2e%2e/config.json'))).status));
  });

  test('the session blocks all network but its own scheme, adds the CSP, grants no permissions', () => {
    const s = sessions.get('persist:slide-workstation')!;
    const decide = (url: string) => {
      let cancel: boolean | undefined;
      s.beforeRequest!({ url }, (r: { cancel: boolean }) => (cancel = r.cancel));
      return cancel;
    };
    assert.equal(decide('wsi://app/assets/index.js'), false);
    assert.equal(decide('https://s3.amazonaws.com/bucket/key'), true);
    assert.equal(decide(`${idp.issuer}/auth`), true);
    let headers: Record<string, string[]> = {};
    s.headersReceived!({ url: 'wsi://app/', responseHeaders: {} }, (r: { responseHeaders: Record<string, string[]> }) => (headers = r.responseHeaders));
    assert.deepEqual(headers['Content-Security-Policy'], [CONTENT_SECURITY_POLICY]);
    const grant = (permission: string) => {
      let granted: boolean | undefined;
      s.permissionRequest!({}, permission, (g: boolean) => (granted = g));
      return granted;
    };
    assert.equal(grant('media'), false);
    assert.equal(grant('geolocation'), false);
    assert.equal(grant('clipboard-sanitized-write'), true);
  });

  test('new windows are denied and navigation away from the app is prevented', () => {
    const wc = win!.webContents;
    assert.deepEqual(wc.windowOpen!({ url: 'https://evil.example/' }), { action: 'deny' });
    const navigate = (url: string) => {
      let prevented = false;
      wc.emit('will-navigate', { url, preventDefault: () => (prevented = true) }, url);
      return prevented;
    };
    assert.equal(navigate('https://evil.example/'), true);
    assert.equal(navigate('file:///etc/passwd'), true);
    assert.equal(navigate('wsi://app/index.html'), false);
  });

  test('IPC answers the app frame only', async () => {
    const refused = await call('app.info', undefined, { url: 'https://evil.example/', parent: null });
    assert.equal(refused.ok, false);
    assert.equal(refused.error?.code, 'API_REFUSED');
    const sub = await call('app.info', undefined, { url: 'wsi://app/index.html', parent: {} });
    assert.equal(sub.ok, false, 'a sub-frame is refused');
    const info = await call('app.info');
    assert.equal(info.ok, true);
    assert.equal(info.result?.organisation, 'Shell Test Hospital');
    assert.equal(info.result?.host, 'electron');
    assert.equal(info.result?.version, '9.9.9');
    const state = await call('auth.state');
    assert.equal((state.result?.secretStore as { kind: string }).kind, 'safeStorage');
  });

  test('"Open local slide…" is offered with the system dialog, and only to a signed-in user', async () => {
    const info = await call('app.info');
    assert.equal(info.result?.fileDialog, true);
    const refused = await call('slides.pickLocal');
    assert.equal(refused.ok, false);
    assert.equal(refused.error?.code, 'AUTH_NOT_SIGNED_IN');
    assert.equal(dialogs.length, 0, 'no dialog is shown to someone who is not signed in');
  });

  test('sign-in opens the identity provider in the system browser; cancel is forwarded as an event', async () => {
    const openedUrl = new Promise<string>((resolve) => (onOpened = resolve));
    const signIn = call('auth.signIn');
    await openedUrl;
    assert.equal(opened.length, 1);
    assert.equal(new URL(opened[0]!).origin, idp.issuer);
    await call('auth.cancelSignIn');
    const final = await signIn;
    assert.equal(final.result?.status, 'signed-out');
    assert.equal((final.result?.error as { code: string }).code, 'AUTH_CANCELLED');
    const events = win!.webContents.sent.filter((m) => m[0] === 'wsi:event' && m[1] === 'auth.changed');
    assert.ok(events.length >= 2, 'signing-in and signed-out were sent to the window');
    // Discovery went through the dedicated network session (Electron's net.fetch), not Node's stack.
    const net = sessions.get('slide-workstation-network');
    assert.ok(net, 'the shell made its own network session');
    assert.ok(net.fetched.some((u) => u.startsWith(`${idp.issuer}/.well-known/openid-configuration`)), net.fetched.join(', '));
  });
});

test('the safeStorage secret store never writes the clear text', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'wsi-safe-'));
  try {
    const safe = {
      isEncryptionAvailable: () => true,
      encryptString: (s: string) => Buffer.from(Buffer.from(s, 'utf8').map((b) => b ^ 0x5a)),
      decryptString: (b: Buffer) => Buffer.from(b.map((x) => x ^ 0x5a)).toString('utf8'),
    };
    const store = new SafeStorageSecretStore(safe, dir);
    await store.set('k', 'refresh-token-value-123');
    assert.equal(await store.get('k'), 'refresh-token-value-123');
    const file = readFileSync(join(dir, 'secrets.safestorage.json'), 'utf8');
    assert.ok(!file.includes('refresh-token-value-123'));
    await store.delete('k');
    assert.equal(await store.get('k'), undefined);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
