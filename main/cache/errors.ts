/**
 * The tile cache's error table. The cache is disposable: each of these turns it off and
 * slides keep loading from storage, so the words say that nothing is lost.
 */
import { errorTable } from '../common/errors.js';

export const cacheErrors = errorTable('cache', {
  CACHE_IO: {
    kind: 'internal',
    message: 'The tile cache cannot be used; slides load without it.',
    hint: 'Check that the cache folder is writable, or choose another cache folder in the settings.',
  },
  CACHE_DISK_FULL: {
    kind: 'internal',
    message: 'The disk holding the tile cache is full, so the cache has been turned off. Slides still open, but load from storage every time.',
    hint: 'Free some disk space or lower the cache size in the settings, then restart the app.',
  },
  CACHE_CORRUPT_RECOVERED: {
    kind: 'internal',
    message: 'The tile cache was damaged and has been rebuilt empty; slides offline before must be made available offline again.',
    hint: 'This can follow a crash or a full disk. The damaged file was kept next to the new one for IT.',
  },
});
