/**
 * Every code main/annotations throws, with its kind and the words for the person who acts.
 */
import { errorTable } from '../common/errors.js';

export type AnnotationErrorCode =
  | 'ANNOTATIONS_BAD_INPUT'
  | 'ANNOTATIONS_NOT_FOUND'
  | 'ANNOTATIONS_LOCKED'
  | 'ANNOTATIONS_GEOJSON_INVALID'
  | 'ANNOTATIONS_STORE_FAILED'
  | 'ANNOTATIONS_NOT_SIGNED_IN'
  | 'ANNOTATIONS_SYNC_NOT_BUILT';

export const annotationErrors = errorTable<AnnotationErrorCode>('annotations', {
  ANNOTATIONS_BAD_INPUT: {
    kind: 'invalid-input',
    message: 'The annotation could not be saved because it is malformed.',
    hint: 'Draw it again; if it persists, report a bug with the slide address.',
  },
  ANNOTATIONS_NOT_FOUND: {
    kind: 'not-found',
    message: 'That annotation no longer exists on this slide.',
    hint: 'It may have been deleted or undone; refresh the list.',
  },
  ANNOTATIONS_LOCKED: {
    kind: 'invalid-input',
    message: 'This annotation is locked and cannot be changed.',
    hint: 'Unlock it first (Lock in the list panel), then edit it.',
  },
  ANNOTATIONS_GEOJSON_INVALID: {
    kind: 'invalid-input',
    message: 'The GeoJSON file cannot be imported.',
    hint: 'Nothing was imported. Fix the feature named above or export the file again from QuPath.',
  },
  ANNOTATIONS_STORE_FAILED: {
    kind: 'internal',
    message: 'The annotation file in your data folder could not be read or written.',
    hint: 'Check that the data folder is writable and the disk is not full; your earlier edits are kept.',
  },
  ANNOTATIONS_NOT_SIGNED_IN: {
    kind: 'signin-needed',
    message: 'Annotations are saved under your name: sign in first.',
    hint: 'Sign in, then draw again.',
  },
  ANNOTATIONS_SYNC_NOT_BUILT: {
    kind: 'unsupported',
    message: 'Sharing annotations through storage is not in this version yet: your annotations are kept on this computer.',
    hint: 'Export them as GeoJSON to share them, or open them in QuPath.',
  },
});
