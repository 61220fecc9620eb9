/**
 * The API's data types that areas below main/api use too (auth's state, credentials'
 * identity, a storage listing, annotation objects). They live here, at the bottom of the
 * layers, so auth, credentials, sources and annotations need not import main/api
 * (eslint-layers.mjs); main/api/contract.ts re-exports them, and the renderer sees them
 * only through the contract. Like the contract, this file imports nothing: the renderer
 * compiles it too.
 */
/** Mirrors ERROR_KINDS in main/common/errors.ts (a unit test keeps them equal). */
export type ApiErrorKind =
  | 'unreachable'
  | 'busy'
  | 'denied'
  | 'signin-needed'
  | 'not-found'
  | 'unsupported'
  | 'invalid-input'
  | 'conflict'
  | 'cancelled'
  | 'internal';

export interface SerializedApiError {
  code: string;
  kind: ApiErrorKind;
  message: string;
  hint?: string;
  details?: Record<string, unknown>;
  retryable: boolean;
}

export interface UserInfo {
  sub: string;
  name: string;
  email?: string;
  groups: string[];
}

export type SecretStoreKind = 'safeStorage' | 'keyring' | 'file' | 'memory';

export interface AuthState {
  status: 'signed-out' | 'signing-in' | 'signed-in';
  user?: UserInfo;
  /** When the current access/ID token expires (ms since epoch). */
  expiresAt?: number;
  /** While signing in: the URL opened in the system browser, for "copy the link". */
  authorizationUrl?: string;
  /** Where the refresh token rests, said in the UI so the user knows. */
  secretStore: { kind: SecretStoreKind; description: string };
  /** The last failure (provider unreachable, cancelled, session expired…). */
  error?: SerializedApiError;
  /** Warnings about the provider's settings (e.g. token lifetimes HealthImaging would refuse). */
  warnings: string[];
  /**
   * Signed in from the saved sign-in while the sign-in service could not be reached (a
   * restart without network): the user is known, storage is not readable, what this
   * computer holds opens. Goes away by itself once the service answers.
   */
  offline?: boolean;
}

export interface CredentialsInfo {
  /** Who storage sees: the assumed role's user / session name, for audit logs. */
  identity: string;
  sessionName: string;
  expiresAt: number;
  provider: 'aws' | 'minio';
}

export interface StorageEntry {
  kind: 'bucket' | 'folder' | 'file';
  name: string;
  /** s3://bucket/key (folders end with '/'). */
  uri: string;
  size?: number;
  lastModified?: string;
  /** A file the slide engine recognises by name (.svs, .tif, .ndpi, .dcm, …). */
  slide?: boolean;
}

export interface StorageListing {
  uri: string;
  entries: StorageEntry[];
  /** More entries exist; pass `continuation` to get them. */
  continuation?: string;
}

// ---- Annotations (main/annotations) -------------------------------------------------
// Objects as QuPath models them. Coordinates are level-0 pixels of the slide, x right,
// y down, so they mean the same at every zoom; [x, y] pairs, rings closed (first = last).

export type AnnotationPosition = [number, number];
export type AnnotationGeometry =
  | { type: 'Point'; coordinates: AnnotationPosition }
  | { type: 'MultiPoint'; coordinates: AnnotationPosition[] }
  | { type: 'LineString'; coordinates: AnnotationPosition[] }
  /** Outer ring first, then holes. */
  | { type: 'Polygon'; coordinates: AnnotationPosition[][] }
  | { type: 'MultiPolygon'; coordinates: AnnotationPosition[][][] };

/** A class with its colour (0–255 each); `shortcut` is a single key (1–9, a–z). */
export interface AnnotationClass {
  name: string;
  color: [number, number, number];
  shortcut?: string;
}

export interface AnnotationAuthor {
  /** issuer + subject of the signed-in user who made it. */
  sub: string;
  iss?: string;
  name: string;
}

export interface AnnotationObject {
  /** Stable UUID (also the GeoJSON feature id). */
  id: string;
  objectType: 'annotation' | 'detection';
  geometry: AnnotationGeometry;
  /** Polygons drawn as a rectangle or an ellipse keep editing as that shape. */
  shape?: 'rectangle' | 'ellipse';
  classification?: { name: string; color: [number, number, number] };
  name?: string;
  description?: string;
  locked: boolean;
  /** name → value; lengths in µm, areas in µm² where the slide knows its pixel size. */
  measurements: Record<string, number>;
  /** The annotation a detection lies in. */
  parentId?: string;
  author: AnnotationAuthor;
  /** ms since epoch. */
  created: number;
  modified: number;
  /** Set on the copy kept when the same object was changed on two computers: the id it clashed with. */
  conflictOf?: string;
  /** GeoJSON properties this app does not know (from QuPath or other tools), written back on export. */
  extra?: Record<string, unknown>;
}

/** What the renderer sends to create an object; main fills id (when absent), author and times. */
export interface AnnotationInput {
  id?: string;
  objectType?: 'annotation' | 'detection';
  geometry: AnnotationGeometry;
  shape?: 'rectangle' | 'ellipse';
  classification?: { name: string; color: [number, number, number] } | null;
  name?: string;
  description?: string;
  locked?: boolean;
  measurements?: Record<string, number>;
  parentId?: string;
}

/** The fields an edit may change; null clears an optional field. */
export interface AnnotationPatch {
  geometry?: AnnotationGeometry;
  shape?: 'rectangle' | 'ellipse' | null;
  classification?: { name: string; color: [number, number, number] } | null;
  name?: string | null;
  description?: string | null;
  locked?: boolean;
  measurements?: Record<string, number>;
  parentId?: string | null;
}

/** Where a slide's annotations stand against the sidecar in storage. */
export interface AnnotationSyncState {
  /**
   * synced: the sidecar equals the local state; pending: `pending` edits wait to be
   * written; conflict: a merge kept conflict copies (see `conflicts`); offline: storage
   * unreachable, edits kept here; denied: storage refused the write (edits kept here);
   * local-only: this kind of slide has no sidecar (DICOMweb, local files).
   */
  status: 'synced' | 'pending' | 'conflict' | 'offline' | 'denied' | 'local-only';
  pending: number;
  conflicts: number;
  /** ms since epoch of the last successful write or read of the sidecar. */
  lastSync?: number;
  /** Words for the status line (why denied, what is not supported). */
  message?: string;
}

export interface AnnotationSlideState {
  uri: string;
  /** Changes with every edit, undo, redo, import or merge. */
  revision: number;
  canUndo: boolean;
  canRedo: boolean;
  counts: { annotations: number; detections: number };
  sync: AnnotationSyncState;
  /** The slide in storage is not the one the annotations were drawn on (size, dimensions, ETag). */
  fingerprintChanged: boolean;
  /** Colleagues' sidecars on this slide the user may read (shown read-only). */
  layers: { author: AnnotationAuthor; count: number }[];
}

export interface AnnotationPage {
  objects: AnnotationObject[];
  /** Pass as `after` for the next page; absent on the last page. */
  next?: string;
  revision: number;
}

export interface AnnotationExport {
  /** QuPath GeoJSON (a FeatureCollection). */
  geojson: string;
  count: number;
  /** Suggested file name. */
  fileName: string;
}

export interface AnnotationImportResult {
  imported: number;
  annotations: number;
  detections: number;
  /** Classes the file named that the class list did not have (added). */
  newClasses: string[];
  state: AnnotationSlideState;
}
