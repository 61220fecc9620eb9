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
import { AppError, toAppError } from '../common/errors.js';
import type { AnnotationService } from '../annotations/service.js';
import { logger } from '../common/log.js';

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

export function createHandlers(s: ApiServices): ApiHandlers {
  return {
    'app.info': async () => s.appInfo(),
    'auth.state': async () => s.auth.state(),
    'auth.signIn': () => s.auth.signIn(),
    'auth.cancelSignIn': async () => {
      s.auth.cancelSignIn();
      return s.auth.state();
    },
    'auth.signOut': () => s.auth.signOut(),
    'credentials.info': () => s.credentialsInfo(),
    'storage.roots': () => s.storage.roots(),
    'storage.list': (p) => s.storage.list(requireString(p?.uri, 'uri'), optionalString(p?.continuation, 'continuation')),
    'slides.open': (p) => s.slides.open(requireString(p?.uri, 'uri')),
    'slides.close': (p) => s.slides.close(requireString(p?.id, 'id')),
    'slides.want': async (p) => s.slides.want(requireString(p?.id, 'id'), requireTiles(p?.tiles), p?.plane === undefined ? 0 : requireIndex(p.plane, 'plane')),
    'slides.pickLocal': () => s.slides.pickLocal(),
    'cache.stats': async () => s.cacheStats(),
    'cache.usage': async () => s.cache.usage(),
    'cache.clear': (p) => s.cache.clear(optionalBoolean(p?.includePinned, 'includePinned') ?? false),
    'cache.setBudget': async (p) => s.cache.setBudget(requireNumber(p?.mib, 'mib')),
    'offline.state': async () => s.offline.state(),
    'offline.check': () => s.offline.check(),
    'offline.slides': async () => s.offline.slides(),
    'pins.list': async () => s.pins.list(),
    'pins.add': (p) => s.pins.add(requireString(p?.uri, 'uri'), optionalNumber(p?.minDownsample, 'minDownsample')),
    'pins.pause': (p) => s.pins.pause(requireString(p?.uri, 'uri')),
    'pins.resume': (p) => s.pins.resume(requireString(p?.uri, 'uri')),
    'pins.remove': (p) => s.pins.remove(requireString(p?.uri, 'uri')),
    'dicomweb.sources': () => s.dicomweb.sources(),
    'dicomweb.searchStudies': (p) =>
      s.dicomweb.searchStudies(requireString(p?.source, 'source'), studyQuery(p?.query), optionalNumber(p?.offset, 'offset'), optionalNumber(p?.limit, 'limit')),
    'dicomweb.listSeries': (p) => s.dicomweb.listSeries(requireString(p?.source, 'source'), requireString(p?.study, 'study')),
    // The annotation service checks the objects and patches it is given (main/annotations/service.ts).
    'annotations.state': async (p) => s.annotations.state(requireString(p?.uri, 'uri')),
    'annotations.list': async (p) =>
      s.annotations.list(requireString(p?.uri, 'uri'), objectType(p?.objectType), optionalString(p?.after, 'after'), optionalNumber(p?.limit, 'limit')),
    'annotations.layer': async (p) => s.annotations.layer(requireString(p?.uri, 'uri'), requireString(p?.author, 'author')),
    'annotations.create': async (p) => s.annotations.create(requireString(p?.uri, 'uri'), p?.objects),
    'annotations.update': async (p) => s.annotations.update(requireString(p?.uri, 'uri'), requireString(p?.id, 'id'), p?.patch),
    'annotations.delete': async (p) => s.annotations.delete(requireString(p?.uri, 'uri'), p?.ids),
    'annotations.undo': async (p) => s.annotations.undo(requireString(p?.uri, 'uri')),
    'annotations.redo': async (p) => s.annotations.redo(requireString(p?.uri, 'uri')),
    'annotations.classes': async () => s.annotations.classes(),
    'annotations.setClasses': async (p) => s.annotations.setClasses(p?.classes),
    'annotations.export': async (p) => {
      const ids = p?.ids;
      if (ids !== undefined && (!Array.isArray(ids) || !ids.every((i) => typeof i === 'string'))) throw badParams('"ids" must be a list of ids');
      const className = optionalString(p?.className, 'className');
      const type = objectType(p?.objectType);
      return s.annotations.export(requireString(p?.uri, 'uri'), {
        ...(ids ? { ids } : {}),
        ...(className === undefined ? {} : { className }),
        ...(type ? { objectType: type } : {}),
      });
    },
    'annotations.import': async (p) => s.annotations.import(requireString(p?.uri, 'uri'), requireString(p?.geojson, 'geojson')),
    'annotations.sync': async (p) => s.annotations.sync(requireString(p?.uri, 'uri')),
  };
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
  return new AppError('API_BAD_PARAMS', `The app sent a malformed request: ${why}.`, { hint: 'Reload the window; if it persists, report a bug.' });
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
    return { ok: false, error: new AppError('API_UNKNOWN_METHOD', `The app asked for "${method}", which this version does not know.`).toJSON() };
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
