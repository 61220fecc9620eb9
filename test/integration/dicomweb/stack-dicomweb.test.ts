/** startStack({ dicomweb: true }): Orthanc behind the token gate, trusting the stack's own IdP. */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { DicomwebClient } from '../../../main/sources/dicomweb/client.js';
import { isAppError } from '../../../main/common/errors.js';
import { startStack, type RunningStack } from '../../stack/stack.js';
import { orthancUnavailable } from '../../stack/orthanc.js';

const unavailable = orthancUnavailable();
if (unavailable) console.log(`# skipping the stack's DICOMweb option: ${unavailable.reason}`);
const skip = unavailable?.kind === 'netns' ? unavailable.reason : false;

let stack: RunningStack | undefined;
before(async () => {
  if (!skip) stack = await startStack({ dicomweb: true, seedSharedTestdata: false });
});
after(async () => {
  await stack?.stop();
});

test('the stack serves DICOMweb to a pathology user and refuses one without a group', { skip }, async () => {
  const dw = stack!.dicomweb!;
  assert.ok(dw, 'dicomweb started');
  const mint = (sub: string, groups: string[]) => ({
    getAccessToken: () => stack!.idp.signJwt({ iss: stack!.issuer, aud: dw.audience, sub, groups, iat: Math.floor(Date.now() / 1000), exp: Math.floor(Date.now() / 1000) + 300 }),
  });
  const alice = new DicomwebClient({ root: dw.root, token: mint('alice', ['pathology']) });
  const studies = await alice.searchStudies();
  assert.ok(studies.length >= 7, `${studies.length} studies`);
  const carol = new DicomwebClient({ root: dw.root, token: mint('carol', []) });
  await assert.rejects(carol.searchStudies(), (e) => isAppError(e, 'DICOMWEB_ACCESS_DENIED'));
  assert.equal(dw.gate.decisions.filter((d) => d.status === 403).length, 1);
});
