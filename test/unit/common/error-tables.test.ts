/**
 * Every code in every area's error table has a kind, words, and a renderer text; the
 * tile failure of expired storage credentials reaches the viewer as "sign in again".
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ApiError, type ApiErrorKind } from '../../../main/api/contract.js';
import { apiErrors } from '../../../main/api/errors.js';
import { errorResponse } from '../../../main/api/tile-route.js';
import { appErrors } from '../../../main/app/errors.js';
import { authErrors } from '../../../main/auth/errors.js';
import { cacheErrors } from '../../../main/cache/errors.js';
import { cliErrors } from '../../../main/cli/errors.js';
import { commonErrors, ERROR_KINDS, registeredErrorTables, type ErrorTable } from '../../../main/common/errors.js';
import { configErrors } from '../../../main/config/errors.js';
import { credentialErrors } from '../../../main/credentials/errors.js';
import { formatErrors } from '../../../main/formats/errors.js';
import { dicomwebErrors } from '../../../main/sources/dicomweb/errors.js';
import { sourceErrors } from '../../../main/sources/errors.js';
import { tileErrors } from '../../../main/tiles/errors.js';
import { NET_ERRORS } from '../../../main/net/errors.js';
import { annotationErrors } from '../../../main/annotations/errors.js';
import { REDIRECT_ERRORS } from '../../../main/common/no-redirect.js';
import { ADDRESS_ERRORS } from '../../../main/app/address-check.js';
import { describeError } from '../../../renderer/src/errors.js';
import { diagnoseTile } from '../../../renderer/src/viewer/tile-failure.js';

const TABLES: ErrorTable<string>[] = [commonErrors, authErrors, credentialErrors, configErrors, sourceErrors, dicomwebErrors, formatErrors, tileErrors, cacheErrors, appErrors, apiErrors, cliErrors, NET_ERRORS, REDIRECT_ERRORS, ADDRESS_ERRORS, annotationErrors];

test('the contract mirrors the error kinds', () => {
  const mirror: Record<ApiErrorKind, true> = {
    unreachable: true, busy: true, denied: true, 'signin-needed': true, 'not-found': true,
    unsupported: true, 'invalid-input': true, conflict: true, cancelled: true, internal: true,
  };
  assert.deepEqual(Object.keys(mirror).sort(), [...ERROR_KINDS].sort());
});

test('every table is listed here (a new area table must join the renderer check)', () => {
  for (const t of registeredErrorTables().values()) {
    if (t.area === 'TEST') continue;
    assert.ok(TABLES.includes(t), `table ${t.area} is not checked`);
  }
});

test('every code in every table has a kind, words, and a renderer title and action', () => {
  let codes = 0;
  for (const table of TABLES) {
    for (const [code, entry] of Object.entries(table.entries)) {
      codes++;
      assert.ok(ERROR_KINDS.includes(entry.kind), `${code}: kind ${entry.kind}`);
      assert.ok(entry.message.length > 10 && /[.!?]$/.test(entry.message), `${code}: a sentence for the user`);
      // Only bugs and cancels may go without a hint; everything else tells someone what to do.
      if (entry.kind !== 'internal' && entry.kind !== 'cancelled') assert.ok(entry.hint && entry.hint.length > 10, `${code}: a hint saying what to do`);
      const e = table.make(code);
      assert.equal(e.kind, entry.kind);
      const view = describeError(new ApiError(e.toJSON()));
      assert.ok(view.title.length > 0, `${code}: a title`);
      assert.equal(view.message, entry.message);
      if (entry.kind !== 'internal') assert.notEqual(view.title, 'Something went wrong', `${code}: words of its own kind`);
      if (entry.kind === 'signin-needed') assert.equal(view.action, 'sign-in', `${code}: a sign-in button`);
      if (entry.kind === 'unreachable' || entry.kind === 'busy') assert.equal(view.action, 'retry', `${code}: a retry button`);
    }
  }
  assert.ok(codes >= 95, `all codes checked (${codes})`);
});

test('expired storage credentials on a tile: 401 with the kind, and the viewer offers the sign-in button', async () => {
  const err = sourceErrors.make('SOURCE_CREDENTIALS_EXPIRED', { details: { bucket: 'pathology-slides' } });
  // The real route answer, served over real HTTP to the viewer's diagnosis (fetch of the tile URL).
  const server = createServer((_req, res) => {
    void (async () => {
      const r = errorResponse(err, new AbortController().signal);
      res.writeHead(r.status, Object.fromEntries(r.headers));
      res.end(await r.text());
    })();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  try {
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/tiles/${'a'.repeat(32)}/0/0/0`;
    const diagnosed = await diagnoseTile(url);
    assert.ok(diagnosed);
    assert.equal(diagnosed.code, 'SOURCE_CREDENTIALS_EXPIRED');
    assert.equal(diagnosed.kind, 'signin-needed');
    const view = describeError(diagnosed);
    assert.equal(view.title, 'Your session has expired');
    assert.equal(view.action, 'sign-in');
  } finally {
    server.closeAllConnections();
    await new Promise<void>((r) => server.close(() => r()));
  }
});
