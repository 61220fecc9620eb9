/**
 * The renderer's only way to main: the typed contract over one of two transports,
 * chosen once at start. In Electron the preload exposes `window.wsi`; in the headless
 * host calls are `POST /api/<method>` and events arrive over server-sent events. The
 * session cookie travels with both (same origin), so no secret lives in this code.
 */
import {
  ApiError,
  type ApiEventName,
  type ApiEvents,
  type ApiMethod,
  type ApiParams,
  type ApiResult,
  type SerializedApiError,
  type WsiApi,
} from '../../main/api/contract.js';

declare global {
  interface Window {
    wsi?: WsiApi;
  }
}

type Reply = { ok: true; result: unknown } | { ok: false; error: SerializedApiError };

function transportError(status: number, text: string): ApiError {
  const expired = status === 403;
  return new ApiError({
    code: expired ? 'APP_SESSION_LOST' : 'APP_TRANSPORT',
    kind: 'unreachable',
    message: expired ? 'This window is no longer connected to the workstation.' : `The workstation did not answer (${status}).`,
    hint: expired ? 'Open the app again with the link printed when it started.' : text.slice(0, 200),
    retryable: true,
  });
}

function createHttpApi(): WsiApi {
  const listeners = new Map<ApiEventName, Set<(payload: unknown) => void>>();
  let source: EventSource | undefined;
  const ensureSource = (): void => {
    if (source) return;
    source = new EventSource('/api/events');
    for (const name of ['auth.changed', 'connectivity.changed', 'pins.changed', 'annotations.changed'] satisfies ApiEventName[]) {
      source.addEventListener(name, (e) => {
        const payload: unknown = JSON.parse((e as MessageEvent<string>).data);
        for (const l of listeners.get(name) ?? []) l(payload);
      });
    }
  };
  return {
    async call<M extends ApiMethod>(method: M, ...params: ApiParams<M> extends void ? [] : [ApiParams<M>]): Promise<ApiResult<M>> {
      let res: Response;
      try {
        res = await fetch(`/api/${method}`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ params: params[0] }),
          credentials: 'same-origin',
        });
      } catch {
        throw new ApiError({ code: 'APP_TRANSPORT', kind: 'unreachable', message: 'The workstation is not running.', hint: 'Start it again.', retryable: true });
      }
      if (!res.ok) throw transportError(res.status, await res.text());
      const reply = (await res.json()) as Reply;
      if (!reply.ok) throw new ApiError(reply.error);
      return reply.result as ApiResult<M>;
    },
    on<E extends ApiEventName>(event: E, listener: (payload: ApiEvents[E]) => void): () => void {
      ensureSource();
      let set = listeners.get(event);
      if (!set) listeners.set(event, (set = new Set()));
      const l = listener as (payload: unknown) => void;
      set.add(l);
      return () => set.delete(l);
    },
  };
}

/** Electron's preload returns errors as data (IPC drops Error fields); rebuild ApiError here. */
function wrapPreload(wsi: WsiApi): WsiApi {
  return {
    async call(method, ...params) {
      try {
        return await wsi.call(method, ...params);
      } catch (err) {
        const e = err as Partial<SerializedApiError>;
        throw new ApiError({ code: e.code ?? 'APP_TRANSPORT', kind: e.kind ?? 'internal', message: e.message ?? String(err), hint: e.hint, details: e.details, retryable: e.retryable ?? false });
      }
    },
    on: (event, listener) => wsi.on(event, listener),
  };
}

export const api: WsiApi = window.wsi ? wrapPreload(window.wsi) : createHttpApi();

export function asApiError(err: unknown): ApiError {
  if (err instanceof ApiError) return err;
  return new ApiError({ code: 'APP_UNEXPECTED', kind: 'internal', message: err instanceof Error ? err.message : String(err), retryable: false });
}
