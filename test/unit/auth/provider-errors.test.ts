import { test } from 'node:test';
import assert from 'node:assert/strict';
import { providerHint, providerReason } from '../../../main/auth/errors.js';
import { groupName, sameGroup } from '../../../main/auth/service.js';

test("provider errors quote the provider's words and the known ones get a hint for IT", () => {
  assert.equal(providerReason('not_allowed', 'Offline tokens not allowed for the user or client'), 'Offline tokens not allowed for the user or client (not_allowed)');
  assert.equal(providerReason('invalid_scope', undefined), 'invalid_scope');
  assert.equal(providerReason('x', 'line\u0000\nbreak'), 'line break (x)');
  assert.match(providerHint('not_allowed', 'Offline tokens not allowed for the user or client') ?? '', /offline_access role/);
  assert.match(providerHint('invalid_redirect_uri', undefined) ?? '', /http:\/\/127\.0\.0\.1\/\*/);
  assert.match(providerHint('invalid_request', 'Invalid parameter: redirect_uri') ?? '', /redirect/);
  assert.match(providerHint('invalid_scope', 'Invalid scopes: groups') ?? '', /auth\.scopes/);
  assert.match(providerHint('invalid_request', 'Invalid parameter: code_challenge_method') ?? '', /S256/);
  assert.equal(providerHint('temporarily_unavailable', 'try later'), undefined);
});

test('group paths are shown without the leading slash and both forms match', () => {
  assert.equal(groupName('/pathology'), 'pathology');
  assert.equal(groupName('/hospital/pathology'), 'hospital/pathology');
  assert.ok(sameGroup('/pathology', 'pathology'));
  assert.ok(!sameGroup('/research', 'pathology'));
});
