/**
 * The one typed contract between the renderer and main. It has two transports (IPC in
 * Electron, HTTP + server-sent events in the headless host) and nothing else differs.
 * This file imports nothing from Node or the DOM: the renderer compiles it too.
 *
 * Add a call: one entry in ApiCalls (params and result types) and its line in CALLS
 * (main/api/handlers.ts: access rule and parameter checks), which the compiler demands.
 * Secrets never appear in any result type here.
 */

// The data types shared with the areas below main/api live in main/common/api-types.ts
// (the layers in eslint-layers.mjs); the contract re-exports them for the renderer.
import type {
  ApiErrorKind,
  SerializedApiError,
  AuthState,
  CredentialsInfo,
  StorageEntry,
  StorageListing,
  AnnotationClass,
  AnnotationObject,
  AnnotationInput,
  AnnotationPatch,
  AnnotationSlideState,
  AnnotationPage,
  AnnotationExport,
  AnnotationImportResult,
} from '../common/api-types.js';
export type {
  ApiErrorKind,
  SerializedApiError,
  UserInfo,
  SecretStoreKind,
  AuthState,
  CredentialsInfo,
  StorageEntry,
  StorageListing,
  AnnotationPosition,
  AnnotationGeometry,
  AnnotationClass,
  AnnotationAuthor,
  AnnotationObject,
  AnnotationInput,
  AnnotationPatch,
  AnnotationSyncState,
  AnnotationSlideState,
  AnnotationPage,
  AnnotationExport,
  AnnotationImportResult,
} from '../common/api-types.js';

export interface AppInfo {
  version: string;
  organisation: string;
  /** True when running on the built-in demo environment. */
  demo: boolean;
  host: 'electron' | 'headless';
  /** Settings keys locked by IT policy. */
  lockedSettings: string[];
  /** The host can show the system's file dialog ("Open local slide…"). */
  fileDialog: boolean;
  /** Where this host writes its logs (absent: the console only), named for IT in the UI. */
  logFolder?: string;
}

/** One pyramid level as the viewer needs it (level 0 = full resolution). */
export interface SlideLevelSummary {
  width: number;
  height: number;
  tileWidth: number;
  tileHeight: number;
  columns: number;
  rows: number;
  /** Level-0 pixels per pixel of this level. */
  downsample: number;
}

export interface SlideSummary {
  /** Format family ('aperio', 'generic-tiff', 'ome-tiff', 'hamamatsu-ndpi', 'dicom'). */
  format: string;
  vendor?: string;
  levels: SlideLevelSummary[];
  /** Microns per pixel at level 0, when the file says so. */
  mpp?: { x: number; y: number };
  objectivePower?: number;
  /** 'channels': fluorescence, one raw plane per channel (coloured by the viewer). */
  pixelKind: 'rgb' | 'channels';
  channels: { name: string; color?: string; bitsPerSample: number }[];
  /** Associated images the file holds (label, macro, thumbnail…). */
  associated: { name: string; width: number; height: number }[];
  properties: Record<string, string>;
}

export interface OpenedSlide {
  /** Names this open slide in tile URLs; valid until slides.close or sign-out. */
  id: string;
  uri: string;
  /** The file name, for titles. */
  name: string;
  summary: SlideSummary;
  /**
   * Relative tile URL with `{level}`, `{col}`, `{row}` placeholders (level as in
   * summary.levels); add `?plane=N` for a fluorescence channel.
   */
  tileUrlTemplate: string;
  /** Opened from the cache because storage could not be reached. */
  offline: boolean;
}

export interface CacheStatsInfo {
  hits: number;
  misses: number;
  /** Bytes the cached tiles take. */
  bytes: number;
  entries: number;
  /** Bytes the cache may hold before it evicts. */
  budget: number;
}

/** Whether storage can be reached, as main last found out (see main/app/offline.ts). */
export interface ConnectivityState {
  status: 'online' | 'offline';
  /** Since when (ms since epoch). */
  since: number;
  /** Why it is offline, in a few words ("the connection was refused"), when the failure says. */
  reason?: string;
  /** When main last probed storage while offline. */
  lastCheck?: number;
}

/** A slide marked "available offline" and its download. */
export interface PinInfo {
  uri: string;
  name: string;
  state: 'running' | 'paused' | 'error' | 'done';
  /** Tiles held of `total` (tiles cached before pinning count as done). */
  done: number;
  total: number;
  /** Bytes this download fetched from storage. */
  downloadedBytes: number;
  /** Bytes the slide takes in the cache. */
  sizeBytes: number;
  /** Levels down to this downsample are kept (absent: every level, full resolution). */
  minDownsample?: number;
  error?: { code: string; message: string };
}

export interface CacheUsage {
  bytes: number;
  entries: number;
  /** Bytes the cache may hold before it evicts unpinned tiles. */
  budget: number;
  /** Bytes held by pinned slides (never evicted). */
  pinnedBytes: number;
  pinnedSlides: number;
  /** IT policy fixes the budget (`cache.budgetMiB`). */
  budgetLocked: boolean;
  state: 'ok' | 'disabled';
  error?: { code: string; message: string };
}

/** A slide the cache can show while storage is unreachable. */
export interface OfflineSlide {
  uri: string;
  name: string;
  /** 'full': pinned and downloaded (down to minDownsample); 'partial': only what was viewed or downloaded so far. */
  availability: 'full' | 'partial';
  pinned: boolean;
  /** For a pinned slide: where its download stands ('partial' until 'done'). */
  pinState?: PinInfo['state'];
  minDownsample?: number;
  tiles: number;
  bytes: number;
}

/** A configured DICOMweb archive, shown beside the buckets. */
export interface DicomwebSourceInfo {
  /** Its settings name: the host part of its slide addresses. */
  name: string;
  label: string;
  /** dicomweb://<name>/ */
  uri: string;
}

/** What the pathologist searches studies by; empty fields do not restrict. */
export interface DicomwebStudyQuery {
  /** Matched anywhere in the name, case-insensitively; `*` and `?` are wildcards. */
  patientName?: string;
  /** Exact, unless it holds `*` or `?`. */
  patientId?: string;
  accessionNumber?: string;
  /** YYYY-MM-DD, inclusive. */
  studyDateFrom?: string;
  studyDateTo?: string;
}

export interface DicomwebStudy {
  studyInstanceUid: string;
  /** DICOM person name as the archive wrote it (components separated by ^). */
  patientName?: string;
  patientId?: string;
  /** YYYY-MM-DD when the archive gave a DICOM date. */
  studyDate?: string;
  accessionNumber?: string;
  description?: string;
  modalities: string[];
  seriesCount?: number;
}

export interface DicomwebStudyPage {
  source: string;
  studies: DicomwebStudy[];
  offset: number;
  /** Another page follows (ask again with offset + studies.length). */
  more: boolean;
}

export interface DicomwebSeries {
  /** dicomweb://<source>/studies/<uid>/series/<uid>: what slides.open takes. */
  uri: string;
  studyInstanceUid: string;
  seriesInstanceUid: string;
  modality?: string;
  description?: string;
  instanceCount?: number;
  /** Slide microscopy (SM): the viewer opens it. */
  slide: boolean;
}


/**
 * The annotation calls (main/annotations, handlers in main/annotations/handlers.ts).
 */
export interface AnnotationApiCalls {
  /** Annotation state of a slide (counts, undo/redo, sync, colleagues' layers). */
  'annotations.state': { params: { uri: string }; result: AnnotationSlideState };
  /** The user's own objects, a page at a time (default 5,000), optionally only one type. */
  'annotations.list': { params: { uri: string; objectType?: 'annotation' | 'detection'; after?: string; limit?: number }; result: AnnotationPage };
  /** A colleague's sidecar, read-only. */
  'annotations.layer': { params: { uri: string; author: string }; result: AnnotationObject[] };
  /** One edit (one undo step) however many objects. */
  'annotations.create': { params: { uri: string; objects: AnnotationInput[] }; result: AnnotationObject[] };
  'annotations.update': { params: { uri: string; id: string; patch: AnnotationPatch }; result: AnnotationObject };
  'annotations.delete': { params: { uri: string; ids: string[] }; result: AnnotationSlideState };
  'annotations.undo': { params: { uri: string }; result: AnnotationSlideState };
  'annotations.redo': { params: { uri: string }; result: AnnotationSlideState };
  /** The project's class list (defaults like QuPath's until edited). */
  'annotations.classes': { params: void; result: AnnotationClass[] };
  'annotations.setClasses': { params: { classes: AnnotationClass[] }; result: AnnotationClass[] };
  /** All objects, the given ids, or one class's, as QuPath GeoJSON. */
  'annotations.export': { params: { uri: string; ids?: string[]; className?: string; objectType?: 'annotation' | 'detection' }; result: AnnotationExport };
  /** QuPath GeoJSON text; all or nothing (a broken feature is named and nothing is imported). */
  'annotations.import': { params: { uri: string; geojson: string }; result: AnnotationImportResult };
  /** Write pending edits to the sidecar now (and read colleagues' layers). */
  'annotations.sync': { params: { uri: string }; result: AnnotationSlideState };
}

/** Joined into ApiEvents. */
export interface AnnotationApiEvents {
  /** A slide's annotations changed (an edit here, an import, a sync that merged). */
  'annotations.changed': AnnotationSlideState;
}

export interface ApiCalls extends AnnotationApiCalls {
  'app.info': { params: void; result: AppInfo };
  'auth.state': { params: void; result: AuthState };
  /** Opens the system browser; resolves when sign-in finished (or failed: see state.error). */
  'auth.signIn': { params: void; result: AuthState };
  'auth.cancelSignIn': { params: void; result: AuthState };
  'auth.signOut': { params: void; result: AuthState };
  'credentials.info': { params: void; result: CredentialsInfo | null };
  /** The configured buckets/prefixes the user may browse. */
  'storage.roots': { params: void; result: StorageEntry[] };
  'storage.list': { params: { uri: string; continuation?: string }; result: StorageListing };
  /** Open a slide in storage (s3://…); its tiles are then served at tileUrlTemplate. */
  'slides.open': { params: { uri: string }; result: OpenedSlide };
  'slides.close': { params: { id: string }; result: void };
  /**
   * The tiles the viewer is loading now ([level, col, row], levels as in summary.levels),
   * replacing the previous hint for this slide: main reads them all at once instead of as
   * the browser's few connections ask. Answers how many reads it started.
   */
  'slides.want': { params: { id: string; tiles: [number, number, number][]; plane?: number }; result: number };
  /**
   * "Open local slide…": main shows the system's file dialog; the chosen file may then be
   * opened with slides.open by the returned entry's file:// uri. null when cancelled.
   */
  'slides.pickLocal': { params: void; result: StorageEntry | null };
  'cache.stats': { params: void; result: CacheStatsInfo };
  'cache.usage': { params: void; result: CacheUsage };
  /** Pinned slides are kept unless includePinned (which also cancels their downloads). */
  'cache.clear': { params: { includePinned?: boolean }; result: CacheUsage };
  /** Refused with SETTINGS_LOCKED when IT policy sets cache.budgetMiB. */
  'cache.setBudget': { params: { mib: number }; result: CacheUsage };
  'offline.state': { params: void; result: ConnectivityState };
  /** Probe storage now ("Try again"). */
  'offline.check': { params: void; result: ConnectivityState };
  /** Slides that open without storage (pinned ones, and others with cached parts). */
  'offline.slides': { params: void; result: OfflineSlide[] };
  'pins.list': { params: void; result: PinInfo[] };
  /** Make a slide available offline: every level, or levels down to minDownsample. */
  'pins.add': { params: { uri: string; minDownsample?: number }; result: PinInfo };
  'pins.pause': { params: { uri: string }; result: PinInfo };
  'pins.resume': { params: { uri: string }; result: PinInfo };
  /** Cancel a download or unpin a finished slide; its tiles become ordinary cache. */
  'pins.remove': { params: { uri: string }; result: void };
  /** The configured DICOMweb archives (signed in only). */
  'dicomweb.sources': { params: void; result: DicomwebSourceInfo[] };
  /** Studies with slide microscopy, a page at a time (default 50). */
  'dicomweb.searchStudies': { params: { source: string; query?: DicomwebStudyQuery; offset?: number; limit?: number }; result: DicomwebStudyPage };
  /** Every series of one study; `slide` marks those the viewer opens. */
  'dicomweb.listSeries': { params: { source: string; study: string }; result: DicomwebSeries[] };
}

export interface ApiEvents extends AnnotationApiEvents {
  'auth.changed': AuthState;
  'connectivity.changed': ConnectivityState;
  /** The whole pin list: at once on a state change, at most every 250 ms while downloading. */
  'pins.changed': PinInfo[];
}

export type ApiMethod = keyof ApiCalls;
export type ApiParams<M extends ApiMethod> = ApiCalls[M]['params'];
export type ApiResult<M extends ApiMethod> = ApiCalls[M]['result'];
export type ApiEventName = keyof ApiEvents;

/** What the preload exposes as `window.wsi` and the headless client implements. */
export interface WsiApi {
  call<M extends ApiMethod>(method: M, ...params: ApiParams<M> extends void ? [] : [ApiParams<M>]): Promise<ApiResult<M>>;
  on<E extends ApiEventName>(event: E, listener: (payload: ApiEvents[E]) => void): () => void;
}

/** Errors cross the boundary as this; the renderer rethrows them as ApiError. */
export class ApiError extends Error {
  readonly code: string;
  readonly kind: ApiErrorKind;
  readonly hint: string | undefined;
  readonly details: Record<string, unknown> | undefined;
  readonly retryable: boolean;
  constructor(e: SerializedApiError) {
    super(e.message);
    this.name = 'ApiError';
    this.code = e.code;
    this.kind = e.kind;
    this.hint = e.hint;
    this.details = e.details;
    this.retryable = e.retryable;
  }
}
