/**
 * The preload: exposes exactly `window.wsi` ({call, on}) to the sandboxed renderer with
 * contextBridge. ipcRenderer itself never crosses the bridge; only two fixed channels are
 * used, and events are filtered by name before they reach the page.
 *
 * Bundled to CommonJS (sandboxed preloads cannot be ES modules). Electron is loaded with
 * require and typed by main/electron/electron-shim.d.ts (see that file for why).
 */
import type { ApiEventName, ApiEvents, SerializedApiError, WsiApi } from '../main/api/contract.js';
import type { ElectronPreload, IpcRendererEvent } from '../main/electron/electron-shim.js';

// eslint-disable-next-line @typescript-eslint/no-require-imports -- the sandboxed preload's own require; see the header.
const { contextBridge, ipcRenderer } = require('electron') as ElectronPreload;

const CALL_CHANNEL = 'wsi:call';
const EVENT_CHANNEL = 'wsi:event';
const EVENTS: readonly ApiEventName[] = ['auth.changed', 'connectivity.changed', 'pins.changed'];

type Reply = { ok: true; result: unknown } | { ok: false; error: SerializedApiError };

const api: WsiApi = {
  async call(method: string, ...params: unknown[]) {
    const reply = (await ipcRenderer.invoke(CALL_CHANNEL, String(method), params[0])) as Reply;
    // Error objects lose their fields across the bridge; a plain object keeps code/hint.
    if (!reply.ok) throw { ...reply.error };
    return reply.result;
  },
  on<E extends ApiEventName>(event: E, listener: (payload: ApiEvents[E]) => void): () => void {
    if (!EVENTS.includes(event)) throw new Error(`Unknown event ${String(event)}`);
    const handler = (_e: IpcRendererEvent, name: unknown, payload: unknown): void => {
      if (name === event) listener(payload as ApiEvents[E]);
    };
    ipcRenderer.on(EVENT_CHANNEL, handler as (event: IpcRendererEvent, ...args: unknown[]) => void);
    return () => ipcRenderer.removeListener(EVENT_CHANNEL, handler as (event: IpcRendererEvent, ...args: unknown[]) => void);
  },
} as WsiApi;

contextBridge.exposeInMainWorld('wsi', api);
