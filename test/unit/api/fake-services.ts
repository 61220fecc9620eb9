/**
 * In-memory API services for tests of the hosts' wiring (the handlers' collaborators are
 * plain objects; no server is being imitated): every call answers or fails as a real
 * service would for an empty, signed-out workstation.
 */
import type { AuthState } from '../../../main/api/contract.js';
import type { ApiServices } from '../../../main/api/handlers.js';
import { AnnotationService } from '../../../main/annotations/service.js';
import { openAnnotationStore } from '../../../main/annotations/store.js';
import { AppError } from '../../../main/common/errors.js';

const usage = { bytes: 0, entries: 0, budget: 1, pinnedBytes: 0, pinnedSlides: 0, budgetLocked: false, state: 'ok' as const };

export function fakeServices(): ApiServices & { emit(s: AuthState): void } {
  const listeners = new Set<(s: AuthState) => void>();
  let state: AuthState = { status: 'signed-out', secretStore: { kind: 'memory', description: 'memory' }, warnings: [] };
  return {
    // A real store in memory: the host's wiring, not the annotations, is under test here.
    annotations: new AnnotationService({ store: openAnnotationStore(':memory:'), author: () => undefined }),
    emit(s) {
      state = s;
      for (const l of listeners) l(s);
    },
    appInfo: () => ({ version: '1', organisation: 'Test Hospital', demo: false, host: 'headless', lockedSettings: [], fileDialog: false }),
    auth: {
      state: () => state,
      signIn: async () => state,
      cancelSignIn: () => undefined,
      signOut: async () => state,
      onChange: (l) => {
        listeners.add(l);
        return () => listeners.delete(l);
      },
    },
    credentialsInfo: async () => null,
    storage: {
      roots: async () => [],
      list: async (uri) => {
        throw new AppError('S3_ACCESS_DENIED', `No access to ${uri}`, { cause: new Error('secret-cause-text'), details: { bucket: 'b' } });
      },
    },
    slides: {
      open: async (uri) => {
        throw new AppError('SLIDE_BAD_ADDRESS', `Not a slide: ${uri}`);
      },
      close: async () => undefined,
      pickLocal: async () => null,
      want: () => 0,
    },
    cacheStats: () => ({ hits: 0, misses: 0, bytes: 0, entries: 0, budget: 1 }),
    cache: {
      usage: () => usage,
      clear: async () => usage,
      setBudget: () => usage,
    },
    offline: {
      state: () => ({ status: 'online', since: 0 }),
      check: async () => ({ status: 'online', since: 0 }),
      slides: () => [],
      onChange: () => () => undefined,
    },
    pins: {
      list: () => [],
      add: async (uri) => {
        throw new AppError('PIN_NOT_FOUND', `Not pinned: ${uri}`);
      },
      pause: async (uri) => {
        throw new AppError('PIN_NOT_FOUND', `Not pinned: ${uri}`);
      },
      resume: async (uri) => {
        throw new AppError('PIN_NOT_FOUND', `Not pinned: ${uri}`);
      },
      remove: async () => undefined,
      onChange: () => () => undefined,
    },
    dicomweb: {
      sources: async () => [],
      searchStudies: async (source) => {
        throw new AppError('DICOMWEB_UNKNOWN_SOURCE', `No archive ${source}`);
      },
      listSeries: async (source) => {
        throw new AppError('DICOMWEB_UNKNOWN_SOURCE', `No archive ${source}`);
      },
    },
  };
}
