/**
 * The renderer's titles for errors, checked against the codes the services really throw
 * (auth, STS, S3): every failure a pathologist meets gets words they can act on.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ApiError } from '../../../main/api/contract.js';
import { authError } from '../../../main/auth/index.js';
import { stsError } from '../../../main/credentials/index.js';
import { s3Error } from '../../../main/sources/s3.js';
import { describeError } from '../../../renderer/src/errors.js';

const view = (e: { toJSON(): ConstructorParameters<typeof ApiError>[0] }, uri?: string) => describeError(new ApiError(e.toJSON()), uri ? { uri } : {});

test('provider unreachable, session expired, cancelled', () => {
  assert.equal(view(authError('AUTH_PROVIDER_UNREACHABLE')).title, 'The sign-in service cannot be reached');
  assert.equal(view(authError('AUTH_PROVIDER_UNREACHABLE')).action, 'retry');
  const expired = view(authError('AUTH_SESSION_EXPIRED'));
  assert.equal(expired.title, 'Your session has expired');
  assert.equal(expired.action, 'sign-in');
  assert.equal(view(authError('AUTH_CANCELLED')).title, 'Sign-in cancelled');
});

test('no storage rights vs access denied to one bucket', async () => {
  const noRights = view(stsError(400, { code: 'InvalidParameterValue', message: 'Policies in claims are not defined' }));
  assert.equal(noRights.title, 'Your account has no storage rights');
  const denied = await s3Error(new Response('<Error><Code>AccessDenied</Code><Message>Access Denied.</Message></Error>', { status: 403 }), 'pathology-slides', '', true);
  const v = view(denied);
  assert.equal(v.title, 'Access denied to “pathology-slides”');
  assert.match(v.message, /s3:\/\/pathology-slides\//);
});

test('storage unavailable is retryable; unknown errors keep the service message', async () => {
  const busy = await s3Error(new Response('<Error><Code>SlowDown</Code></Error>', { status: 503 }), 'b', 'k');
  assert.equal(view(busy).title, 'Storage is busy');
  assert.equal(view(busy).action, 'retry');
  const other = describeError(new ApiError({ code: 'X_Y', kind: 'internal', message: 'Plain words.', retryable: false }));
  assert.equal(other.title, 'Something went wrong');
  assert.equal(other.message, 'Plain words.');
});
