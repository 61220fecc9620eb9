/**
 * The CALLS table: each call's access rule is enforced by the dispatcher before the
 * service is reached or its parameters are read.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ApiMethod, AuthState } from '../../../main/api/contract.js';
import { CALLS, createHandlers, dispatch, type ApiServices } from '../../../main/api/handlers.js';

/** Services that record what reached them; every answer is a marker. */
function recording(status: AuthState['status']): { services: ApiServices; reached: string[] } {
  const reached: string[] = [];
  const area = (name: string): unknown =>
    new Proxy({}, { get: (_t, key) => (key === 'state' && name === 'auth' ? () => ({ status }) : (..._args: unknown[]) => (reached.push(`${name}.${String(key)}`), 'reached')) });
  const services = new Proxy({}, {
    get: (_t, key) => {
      if (key === 'appInfo' || key === 'credentialsInfo' || key === 'cacheStats') return () => (reached.push(String(key)), 'reached');
      return area(String(key));
    },
  }) as ApiServices;
  return { services, reached };
}

const signedInOnly = (Object.keys(CALLS) as ApiMethod[]).filter((m) => CALLS[m].access === 'signed-in');

test('signed out, every signed-in call is refused with AUTH_NOT_SIGNED_IN before its service or its parameters are touched', async () => {
  const { services, reached } = recording('signed-out');
  const handlers = createHandlers(services);
  assert.ok(signedInOnly.includes('slides.open') && signedInOnly.includes('pins.add') && signedInOnly.includes('dicomweb.searchStudies'));
  for (const method of signedInOnly) {
    // Malformed parameters too: the access rule answers first.
    const reply = await dispatch(handlers, method, { uri: 42 });
    assert.equal(reply.ok, false, method);
    assert.equal(!reply.ok && reply.error.code, 'AUTH_NOT_SIGNED_IN', method);
  }
  assert.deepEqual(reached, []);
});

test('signed in, the same calls reach their service; public calls reach it signed out', async () => {
  const signedIn = recording('signed-in');
  const handlers = createHandlers(signedIn.services);
  const reply = await dispatch(handlers, 'slides.open', { uri: 's3://slides/a.svs' });
  assert.deepEqual(reply, { ok: true, result: 'reached' });
  assert.deepEqual(signedIn.reached, ['slides.open']);

  const signedOut = recording('signed-out');
  const open = createHandlers(signedOut.services);
  assert.deepEqual(await dispatch(open, 'offline.state', undefined), { ok: true, result: 'reached' });
  assert.deepEqual(await dispatch(open, 'slides.close', { id: 'x' }), { ok: true, result: 'reached' });
  assert.deepEqual(signedOut.reached, ['offline.state', 'slides.close']);
});
