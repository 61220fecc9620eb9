/**
 * Maps every contract call to the service that answers it. No logic lives here: each
 * handler forwards to one service method; errors cross the boundary as
 * SerializedApiError (never the cause, which may hold secrets).
 */
import type {
  ApiEventName,
  ApiEvents,
  ApiMethod,
  ApiParams,
  ApiResult,
  AppInfo,
  AuthState,
  CacheStatsInfo,
  CacheUsage,
  ConnectivityState,
  CredentialsInfo,
  DicomwebSeries,
  DicomwebSourceInfo,
  DicomwebStudyPage,
  DicomwebStudyQuery,
  OfflineSlide,
  OpenedSlide,
  PinInfo,
  SerializedApiError,
  StorageEntry,
  StorageListing,
} from './contract.js';
import { type AppError, toAppError } from '../common/errors.js';
import type { AnnotationService } from '../annotations/service.js';
import { logger } from '../common/log.js';
import { apiErrors } from './errors.js';
import { authErrors } from '../auth/errors.js';

const log = logger('api');

/** What the handlers need from the composition root; structural so hosts and tests can wire it. */
export interface ApiServices {
  appInfo(): AppInfo;
  auth: {
    state(): AuthState;
    signIn(): Promise<AuthState>;
    cancelSignIn(): void;
    signOut(): Promise<AuthState>;
    onChange(listener: (s: AuthState) => void): () => void;
  };
  credentialsInfo(): Promise<CredentialsInfo | null>;
  storage: {
    roots(): Promise<StorageEntry[]>;
    list(uri: string, continuation?: string): Promise<StorageListing>;
  };
  slides: {
    open(uri: string): Promise<OpenedSlide>;
    close(id: string): Promise<void>;
    pickLocal(): Promise<StorageEntry | null>;
    want(id: string, tiles: [number, number, number][], plane: number): number;
  };
  cacheStats(): CacheStatsInfo;
  cache: {
    usage(): CacheUsage;
    clear(includePinned: boolean): Promise<CacheUsage>;
    setBudget(mib: number): CacheUsage;
  };
  offline: {
    state(): ConnectivityState;
    check(): Promise<ConnectivityState>;
    slides(): OfflineSlide[];
    onChange(listener: (s: ConnectivityState) => void): () => void;
  };
  pins: {
    list(): PinInfo[];
    add(uri: string, minDownsample: number | undefined): Promise<PinInfo>;
    pause(uri: string): Promise<PinInfo>;
    resume(uri: string): Promise<PinInfo>;
    remove(uri: string): Promise<void>;
    onChange(listener: (pins: PinInfo[]) => void): () => void;
  };
  dicomweb: {
    sources(): Promise<DicomwebSourceInfo[]>;
    searchStudies(source: string, query: DicomwebStudyQuery, offset: number | undefined, limit: number | undefined): Promise<DicomwebStudyPage>;
    listSeries(source: string, study: string): Promise<DicomwebSeries[]>;
  };
  annotations: AnnotationService;
}

export type ApiHandlers = { [M in ApiMethod]: (params: ApiParams<M>) => Promise<ApiResult<M>> };

/** Who may make a call: anyone (the sign-in screen, offline state), or only a signed-in user. */
export type CallAccess = 'public' | 'signed-in';

/** One call: its access rule, and how its checked parameters reach the service that answers it. */
export interface CallSpec<M extends ApiMethod> {
  access: CallAccess;
  handle(s: ApiServices, params: ApiParams<M>): Promise<ApiResult<M>> | ApiResult<M>;
}

/**
 * Every call declared once: access rule and parameters (checked here, as the transports
 * carry unknown JSON). The mapped type makes a new entry in ApiCalls fail to compile
 * until it has its line here, and the dispatcher's access check reads `access`.
 */
export const CALLS: { [M in ApiMethod]: CallSpec<M> } = {
  'app.info': { access: 'public', handle: (s) => s.appInfo() },
  'auth.state': { access: 'public', handle: (s) => s.auth.state() },
  'auth.signIn': { access: 'public', handle: (s) => s.auth.signIn() },
  'auth.cancelSignIn': {
    access: 'public',
    handle: (s) => {
      s.auth.cancelSignIn();
      return s.auth.state();
    },
  },
  'auth.signOut': { access: 'public', handle: (s) => s.auth.signOut() },
  // Answers null when signed out (the status bar asks before sign-in too).
  'credentials.info': { access: 'public', handle: (s) => s.credentialsInfo() },
  'storage.roots': { access: 'signed-in', handle: (s) => s.storage.roots() },
  'storage.list': { access: 'signed-in', handle: (s, p) => s.storage.list(requireString(p?.uri, 'uri'), optionalString(p?.continuation, 'continuation')) },
  'slides.open': { access: 'signed-in', handle: (s, p) => s.slides.open(requireString(p?.uri, 'uri')) },
  // Closing must work while signing out (the viewer closes its slides).
  'slides.close': { access: 'public', handle: (s, p) => s.slides.close(requireString(p?.id, 'id')) },
  // Signed out it answers 0 reads (a late hint from a closing viewer is not an error).
  'slides.want': { access: 'public', handle: (s, p) => s.slides.want(requireString(p?.id, 'id'), requireTiles(p?.tiles), p?.plane === undefined ? 0 : requireIndex(p.plane, 'plane')) },
  'slides.pickLocal': { access: 'signed-in', handle: (s) => s.slides.pickLocal() },
  'cache.stats': { access: 'public', handle: (s) => s.cacheStats() },
  'cache.usage': { access: 'public', handle: (s) => s.cache.usage() },
  'cache.clear': { access: 'public', handle: (s, p) => s.cache.clear(optionalBoolean(p?.includePinned, 'includePinned') ?? false) },
  'cache.setBudget': { access: 'public', handle: (s, p) => s.cache.setBudget(requireNumber(p?.mib, 'mib')) },
  'offline.state': { access: 'public', handle: (s) => s.offline.state() },
  'offline.check': { access: 'public', handle: (s) => s.offline.check() },
  'offline.slides': { access: 'public', handle: (s) => s.offline.slides() },
  'pins.list': { access: 'public', handle: (s) => s.pins.list() },
  'pins.add': { access: 'signed-in', handle: (s, p) => s.pins.add(requireString(p?.uri, 'uri'), optionalNumber(p?.minDownsample, 'minDownsample')) },
  'pins.pause': { access: 'public', handle: (s, p) => s.pins.pause(requireString(p?.uri, 'uri')) },
  'pins.resume': { access: 'signed-in', handle: (s, p) => s.pins.resume(requireString(p?.uri, 'uri')) },
  'pins.remove': { access: 'public', handle: (s, p) => s.pins.remove(requireString(p?.uri, 'uri')) },
  'dicomweb.sources': { access: 'signed-in', handle: (s) => s.dicomweb.sources() },
  'dicomweb.searchStudies': {
    access: 'signed-in',
    handle: (s, p) => s.dicomweb.searchStudies(requireString(p?.source, 'source'), studyQuery(p?.query), optionalNumber(p?.offset, 'offset'), optionalNumber(p?.limit, 'limit')),
  },
  'dicomweb.listSeries': { access: 'signed-in', handle: (s, p) => s.dicomweb.listSeries(requireString(p?.source, 'source'), requireString(p?.study, 'study')) },
  // The annotation service checks the objects and patches it is given (main/annotations/service.ts).
  'annotations.state': { access: 'signed-in', handle: (s, p) => s.annotations.state(requireString(p?.uri, 'uri')) },
  'annotations.list': { access: 'signed-in', handle: (s, p) =>
      s.annotations.list(requireString(p?.uri, 'uri'), objectType(p?.objectType), optionalString(p?.after, 'after'), optionalNumber(p?.limit, 'limit')) },
  'annotations.layer': { access: 'signed-in', handle: (s, p) => s.annotations.layer(requireString(p?.uri, 'uri'), requireString(p?.author, 'author')) },
  'annotations.create': { access: 'signed-in', handle: (s, p) => s.annotations.create(requireString(p?.uri, 'uri'), p?.objects) },
  'annotations.update': { access: 'signed-in', handle: (s, p) => s.annotations.update(requireString(p?.uri, 'uri'), requireString(p?.id, 'id'), p?.patch) },
  'annotations.delete': { access: 'signed-in', handle: (s, p) => s.annotations.delete(requireString(p?.uri, 'uri'), p?.ids) },
  'annotations.undo': { access: 'signed-in', handle: (s, p) => s.annotations.undo(requireString(p?.uri, 'uri')) },
  'annotations.redo': { access: 'signed-in', handle: (s, p) => s.annotations.redo(requireString(p?.uri, 'uri')) },
  'annotations.classes': { access: 'signed-in', handle: (s) => s.annotations.classes() },
  'annotations.setClasses': { access: 'signed-in', handle: (s, p) => s.annotations.setClasses(p?.classes) },
  'annotations.export': { access: 'signed-in', handle: (s, p) => {
      const ids = p?.ids;
      if (ids !== undefined && (!Array.isArray(ids) || !ids.every((i) => typeof i === 'string'))) throw badParams('"ids" must be a list of ids');
      const className = optionalString(p?.className, 'className');
      const type = objectType(p?.objectType);
      return s.annotations.export(requireString(p?.uri, 'uri'), {
        ...(ids ? { ids } : {}),
        ...(className === undefined ? {} : { className }),
        ...(type ? { objectType: type } : {}),
      });
  } },
  'annotations.import': { access: 'signed-in', handle: (s, p) => s.annotations.import(requireString(p?.uri, 'uri'), requireString(p?.geojson, 'geojson')) },
  'annotations.sync': { access: 'signed-in', handle: (s, p) => s.annotations.sync(requireString(p?.uri, 'uri')) },

};

export function notSignedIn(): AppError {
  return authErrors.make('AUTH_NOT_SIGNED_IN', 'You are not signed in.', { hint: 'Sign in to see your storage.' });
}

/** The handlers the transports dispatch to: each call's access rule checked before its parameters are read. */
export function createHandlers(s: ApiServices): ApiHandlers {
  const handlers: Partial<Record<ApiMethod, (params: unknown) => Promise<unknown>>> = {};
  for (const method of Object.keys(CALLS) as ApiMethod[]) {
    // The table is typed per method; here one loop handles them all, so params are unknown JSON.
    const spec = CALLS[method] as CallSpec<ApiMethod> as { access: CallAccess; handle(s: ApiServices, p: unknown): unknown };
    handlers[method] = async (params) => {
      if (spec.access === 'signed-in' && s.auth.state().status !== 'signed-in') throw notSignedIn();
      return spec.handle(s, params);
    };
  }
  return handlers as ApiHandlers;
}

function requireString(v: unknown, name: string): string {
  if (typeof v !== 'string' || v === '') throw badParams(`"${name}" must be a non-empty string`);
  return v;
}
function requireIndex(v: unknown, name: string): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > 1e7) throw badParams(`"${name}" must be a whole number`);
  return v;
}
/** Tile hints: at most a screenful's worth of [level, col, row] triples. */
function requireTiles(v: unknown): [number, number, number][] {
  if (!Array.isArray(v) || v.length > 2048) throw badParams('"tiles" must be a list of at most 2048 [level, col, row]');
  return v.map((t) => {
    if (!Array.isArray(t) || t.length !== 3) throw badParams('each tile must be [level, col, row]');
    return [requireIndex(t[0], 'level'), requireIndex(t[1], 'col'), requireIndex(t[2], 'row')] as [number, number, number];
  });
}
function optionalString(v: unknown, name: string): string | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string') throw badParams(`"${name}" must be a string`);
  return v;
}
function requireNumber(v: unknown, name: string): number {
  if (typeof v !== 'number' || !Number.isFinite(v)) throw badParams(`"${name}" must be a number`);
  return v;
}
function optionalNumber(v: unknown, name: string): number | undefined {
  if (v === undefined || v === null) return undefined;
  return requireNumber(v, name);
}
function optionalBoolean(v: unknown, name: string): boolean | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'boolean') throw badParams(`"${name}" must be true or false`);
  return v;
}
function studyQuery(v: unknown): DicomwebStudyQuery {
  if (v === undefined || v === null) return {};
  if (typeof v !== 'object' || Array.isArray(v)) throw badParams('"query" must be an object');
  const q = v as Record<string, unknown>;
  const out: DicomwebStudyQuery = {};
  for (const k of ['patientName', 'patientId', 'accessionNumber', 'studyDateFrom', 'studyDateTo'] as const) {
    const value = optionalString(q[k], `query.${k}`);
    if (value !== undefined) out[k] = value;
  }
  return out;
}
function objectType(v: unknown): 'annotation' | 'detection' | undefined {
  if (v === undefined || v === null) return undefined;
  if (v !== 'annotation' && v !== 'detection') throw badParams('"objectType" must be annotation or detection');
  return v;
}
function badParams(why: string): AppError {
  return apiErrors.make('API_BAD_PARAMS', `The app sent a malformed request: ${why}.`, { hint: 'Reload the window; if it persists, report a bug.' });
}

export function isApiMethod(handlers: ApiHandlers, name: string): name is ApiMethod {
  return Object.prototype.hasOwnProperty.call(handlers, name);
}

export type ApiReply = { ok: true; result: unknown } | { ok: false; error: SerializedApiError };

export function serializeError(err: unknown): SerializedApiError {
  return toAppError(err).toJSON();
}

/** One call from either transport: unknown methods and thrown errors become an error reply. */
export async function dispatch(handlers: ApiHandlers, method: string, params: unknown): Promise<ApiReply> {
  if (!isApiMethod(handlers, method)) {
    return { ok: false, error: apiErrors.make('API_UNKNOWN_METHOD', `The app asked for "${method}", which this version does not know.`).toJSON() };
  }
  try {
    // The transports carry params as unknown JSON; each handler checks what it reads.
    const handler = handlers[method] as (p: unknown) => Promise<unknown>;
    return { ok: true, result: await handler(params) };
  } catch (err) {
    const error = serializeError(err);
    log.warn('call failed', { method, code: error.code });
    return { ok: false, error };
  }
}

/** Events the transports forward to the renderer. */
export interface ApiEventBus {
  on<E extends ApiEventName>(event: E, listener: (payload: ApiEvents[E]) => void): () => void;
  /** Every event, for transports that forward them all on one channel. */
  onAny(listener: (event: ApiEventName, payload: ApiEvents[ApiEventName]) => void): () => void;
}

export function createEventBus(s: ApiServices): ApiEventBus {
  const any = new Set<(event: ApiEventName, payload: ApiEvents[ApiEventName]) => void>();
  const emit = (event: ApiEventName, payload: ApiEvents[ApiEventName]): void => {
    for (const l of any) {
      try {
        l(event, payload);
      } catch (err) {
        log.error('event listener failed', { event, err });
      }
    }
  };
  s.auth.onChange((state) => emit('auth.changed', state));
  s.offline.onChange((state) => emit('connectivity.changed', state));
  s.pins.onChange((pins) => emit('pins.changed', pins));
  s.annotations.onChange((state) => emit('annotations.changed', state));
  return {
    on(event, listener) {
      return this.onAny((e, payload) => {
        if (e === event) listener(payload as ApiEvents[typeof event]);
      });
    },
    onAny(listener) {
      any.add(listener);
      return () => any.delete(listener);
    },
  };
}
