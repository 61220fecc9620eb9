/**
 * The few Electron APIs the shell and the preload use, typed by hand.
 *
 * Why not the real types: the Electron package is an optional dependency that is absent
 * on the build machines (its binary cannot be downloaded), and where it is installed its
 * `electron.d.ts` declares the module ambiently, which a fallback `declare module
 * 'electron'` would collide with. So the shell loads the module with require() and casts
 * it to these interfaces; they are a strict subset of Electron 41's API, checked against
 * its documentation. Keep them that way: add a member only when the shell uses it.
 */

export interface WebPreferences {
  preload: string;
  contextIsolation: true;
  sandbox: true;
  nodeIntegration: false;
  nodeIntegrationInWorker: false;
  webSecurity: true;
  allowRunningInsecureContent: false;
  webviewTag: false;
  navigateOnDragDrop: false;
  spellcheck: boolean;
  devTools: boolean;
  session: Session;
}

export interface BrowserWindowOptions {
  width: number;
  height: number;
  minWidth?: number;
  minHeight?: number;
  show: boolean;
  title: string;
  backgroundColor: string;
  webPreferences: WebPreferences;
}

export interface ElectronEvent {
  preventDefault(): void;
}

export interface WebFrameMain {
  url: string;
  parent: WebFrameMain | null;
}

export interface WebContents {
  id: number;
  mainFrame: WebFrameMain;
  send(channel: string, ...args: unknown[]): void;
  isDestroyed(): boolean;
  setWindowOpenHandler(handler: (details: { url: string }) => { action: 'deny' }): void;
  on(event: 'will-navigate' | 'will-redirect' | 'will-frame-navigate', listener: (event: ElectronEvent & { url: string }, url: string) => void): void;
  on(event: 'will-attach-webview', listener: (event: ElectronEvent) => void): void;
  on(event: 'destroyed', listener: () => void): void;
}

export interface BrowserWindow {
  webContents: WebContents;
  loadURL(url: string): Promise<void>;
  once(event: 'ready-to-show', listener: () => void): void;
  on(event: 'closed', listener: () => void): void;
  show(): void;
  isMinimized(): boolean;
  restore(): void;
  focus(): void;
}

export interface BrowserWindowConstructor {
  new (options: BrowserWindowOptions): BrowserWindow;
  getAllWindows(): BrowserWindow[];
}

export interface Protocol {
  handle(scheme: string, handler: (request: Request) => Promise<Response>): void;
}

export interface Session {
  protocol: Protocol;
  /** Chromium's network stack: system proxy and PAC, proxy authentication, the OS certificate store. */
  fetch(input: string | URL | Request, init?: RequestInit & { bypassCustomProtocolHandlers?: boolean }): Promise<Response>;
  setPermissionRequestHandler(handler: (webContents: WebContents, permission: string, callback: (granted: boolean) => void) => void): void;
  setPermissionCheckHandler(handler: (webContents: WebContents | null, permission: string) => boolean): void;
  webRequest: {
    onBeforeRequest(listener: (details: { url: string }, callback: (response: { cancel: boolean }) => void) => void): void;
    onHeadersReceived(
      listener: (
        details: { url: string; responseHeaders?: Record<string, string[]> },
        callback: (response: { responseHeaders: Record<string, string[]> }) => void,
      ) => void,
    ): void;
  };
}

export interface App {
  isPackaged: boolean;
  getVersion(): string;
  getAppPath(): string;
  getPath(name: 'userData' | 'logs'): string;
  whenReady(): Promise<void>;
  enableSandbox(): void;
  requestSingleInstanceLock(): boolean;
  quit(): void;
  exit(code?: number): void;
  /** macOS only. */
  dock?: { hide(): void };
  on(event: 'second-instance' | 'activate' | 'window-all-closed' | 'before-quit', listener: () => void): void;
  on(event: 'web-contents-created', listener: (event: ElectronEvent, contents: WebContents) => void): void;
}

export interface IpcMainInvokeEvent {
  sender: WebContents;
  senderFrame: WebFrameMain | null;
}

export interface IpcMain {
  handle(channel: string, listener: (event: IpcMainInvokeEvent, ...args: unknown[]) => Promise<unknown>): void;
}

export interface SafeStorage {
  isEncryptionAvailable(): boolean;
  encryptString(plainText: string): Buffer;
  decryptString(encrypted: Buffer): string;
  /** Linux only: 'basic_text' means no real keyring protects the key. */
  getSelectedStorageBackend?(): string;
}

export interface ElectronMain {
  app: App;
  BrowserWindow: BrowserWindowConstructor;
  ipcMain: IpcMain;
  protocol: {
    registerSchemesAsPrivileged(
      schemes: { scheme: string; privileges: { standard: boolean; secure: boolean; supportFetchAPI: boolean; stream: boolean; corsEnabled: boolean; codeCache: boolean } }[],
    ): void;
  };
  session: { fromPartition(partition: string, options?: { cache: boolean }): Session };
  shell: { openExternal(url: string): Promise<void> };
  safeStorage: SafeStorage;
  dialog: {
    showOpenDialog(
      window: BrowserWindow | undefined,
      options: { title?: string; buttonLabel?: string; properties: ('openFile' | 'openDirectory' | 'multiSelections')[]; filters?: { name: string; extensions: string[] }[] },
    ): Promise<{ canceled: boolean; filePaths: string[] }>;
  };
}

/** Electron 28 removed senderId; only the main process can send to a renderer. */
export type IpcRendererEvent = object;

export interface ElectronPreload {
  contextBridge: { exposeInMainWorld(key: string, api: unknown): void };
  ipcRenderer: {
    invoke(channel: string, ...args: unknown[]): Promise<unknown>;
    on(channel: string, listener: (event: IpcRendererEvent, ...args: unknown[]) => void): void;
    removeListener(channel: string, listener: (event: IpcRendererEvent, ...args: unknown[]) => void): void;
  };
}
