import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AppError, toAppError, isAppError, throwIfAborted } from '../../../main/common/errors.js';
import { sourceErrors } from '../../../main/sources/errors.js';

test('AppError serialises code, message and hint but never the cause', () => {
  const err = new AppError('AUTH_STATE_MISMATCH', 'The sign-in answer did not match.', {
    kind: 'invalid-input',
    hint: 'Start the sign-in again.',
    cause: new Error('secret-bearing detail'),
  });
  const json = err.toJSON();
  assert.deepEqual(json, { code: 'AUTH_STATE_MISMATCH', kind: 'invalid-input', message: 'The sign-in answer did not match.', hint: 'Start the sign-in again.', retryable: false });
  assert.ok(!JSON.stringify(json).includes('secret-bearing'));
});

test('toAppError keeps AppErrors and maps aborts and foreign errors', () => {
  const own = new AppError('X_Y', 'm');
  assert.equal(toAppError(own), own);
  const aborted = toAppError(new DOMException('gone', 'AbortError'));
  assert.equal(aborted.code, 'ABORTED');
  const foreign = toAppError(new TypeError('boom'), sourceErrors, 'SOURCE_IO');
  assert.equal(foreign.code, 'SOURCE_IO');
  assert.ok(isAppError(foreign, 'SOURCE_IO'));
  assert.match(foreign.message, /boom/);
});

test('throwIfAborted throws ABORTED only after the signal fired', () => {
  const ctl = new AbortController();
  assert.doesNotThrow(() => throwIfAborted(ctl.signal));
  ctl.abort();
  assert.throws(() => throwIfAborted(ctl.signal), (e: unknown) => isAppError(e, 'ABORTED'));
});

test('an error table builds AppErrors with the kind, words and retry default of its row', async () => {
  const { errorTable, registeredErrorTables } = await import('../../../main/common/errors.js');
  const t = errorTable('TEST', {
    TEST_BUSY: { kind: 'busy', message: 'The service is busy.', hint: 'It is retried.' },
    TEST_GONE: { kind: 'not-found', message: 'It is gone.' },
  });
  const busy = t.make('TEST_BUSY', { details: { status: 503 } });
  assert.equal(busy.kind, 'busy');
  assert.equal(busy.retryable, true);
  assert.equal(busy.hint, 'It is retried.');
  assert.deepEqual(busy.details, { status: 503 });
  const gone = t.make('TEST_GONE', { message: 'Slide x.svs is gone.' });
  assert.equal(gone.retryable, false);
  assert.equal(gone.message, 'Slide x.svs is gone.');
  assert.equal(registeredErrorTables().get('TEST'), t);
});
