/** The tile service's error table: tiles, regions, pinning and the decode workers. */
import { errorTable } from '../common/errors.js';

export const tileErrors = errorTable('tiles', {
  TILE_OUT_OF_RANGE: {
    kind: 'not-found',
    message: 'There is no such tile in this slide.',
    hint: 'Reload the slide; if the viewer asks for it again, report a bug.',
  },
  TILE_SLIDE_CLOSED: {
    kind: 'not-found',
    message: 'The slide was closed.',
    hint: 'Open it again.',
  },
  TILE_EMPTY: {
    kind: 'not-found',
    message: 'This tile holds no image data (an empty or sparse tile).',
    hint: 'Scanners leave areas without tissue empty; choose another tile.',
  },
  TILE_OFFLINE: {
    kind: 'unreachable',
    message: 'This part of the slide is not available offline.',
    hint: 'Reconnect to load it, or make the slide available offline next time you are connected.',
  },
  TILE_NOT_DISPLAYABLE: {
    kind: 'unsupported',
    message: 'These tiles cannot be displayed yet.',
    hint: 'Ask for these samples with format=raw (the fluorescence viewer does); the CLI `region` command can export them as PNG.',
  },
  TILE_CONVERSIONS_BUSY: {
    kind: 'busy',
    message: 'Too many tiles are waiting to be prepared for display.',
    hint: 'The viewer retries on its own; if this keeps happening, close other slides or views.',
  },
  TILE_REGION_INVALID: {
    kind: 'invalid-input',
    message: 'The region asked for is not valid.',
    hint: 'Give a region inside the slide, with a positive width and height.',
  },
  TILE_REGION_TOO_LARGE: {
    kind: 'invalid-input',
    message: 'The region asked for is too large to read at once.',
    hint: 'Ask for a smaller region, or a lower resolution level.',
  },
  TILE_READ_FAILED: {
    kind: 'internal',
    message: 'Reading slide data failed.',
    hint: 'Try again; if it keeps failing, send the log file to IT.',
  },
  TILE_PIN_FAILED: {
    kind: 'internal',
    message: 'The slide could not be made available offline.',
    hint: 'Try again; tiles already downloaded are kept.',
  },
  PIN_FAILED: {
    kind: 'internal',
    message: 'Pinning stopped.',
    hint: 'Run the same command again to resume; tiles already downloaded are kept.',
  },
  TILE_WORKER_FAILED: {
    kind: 'internal',
    message: 'A tile could not be decoded because the decoder stopped.',
    hint: 'Try again; if it keeps happening, send the log file to IT.',
  },
  TILE_WORKERS_CLOSED: {
    kind: 'cancelled',
    message: 'The tile decoders were shut down.',
  },
});
