import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AppError } from '../../../main/common/errors.js';
import { redact } from '../../../main/common/log.js';
import {
  ACCESS_DENIED_MESSAGE,
  buildStsForm,
  parseStsError,
  parseStsSuccess,
  sanitizeSessionName,
  stsEndpoint,
  stsError,
  toCredentialProcessJson,
  type StsRequest,
} from '../../../main/credentials/index.js';

const base: StsRequest = {
  provider: 'minio',
  endpoint: 'http://127.0.0.1:9000',
  region: 'us-east-1',
  roleArn: '',
  roleSessionName: 'alice@demo-hospital.test',
  webIdentityToken: 'header.payload.sig',
  durationSeconds: 0,
};

test('session names keep what is legal and replace the rest', () => {
  assert.equal(sanitizeSessionName('alice@demo-hospital.test'), 'alice@demo-hospital.test');
  assert.equal(sanitizeSessionName('Zoë O\'Brien (Path)'), 'Zoe.O-Brien.-Path-');
  assert.equal(sanitizeSessionName('x'), 'slide-workstation');
  assert.equal(sanitizeSessionName(undefined), 'slide-workstation');
  const long = sanitizeSessionName('a'.repeat(100));
  assert.equal(long.length, 64);
  for (const s of ['名前', 'a b\tc', 'ok+=,.@-_']) assert.match(sanitizeSessionName(s), /^[\w+=,.@-]{2,64}$/);
});

test('MinIO form: RoleArn optional, DurationSeconds omitted when 0', () => {
  const f = buildStsForm(base);
  assert.equal(f.get('Action'), 'AssumeRoleWithWebIdentity');
  assert.equal(f.get('Version'), '2011-06-15');
  assert.equal(f.get('RoleArn'), null);
  assert.equal(f.get('DurationSeconds'), null);
  assert.equal(f.get('RoleSessionName'), 'alice@demo-hospital.test');
  assert.equal(f.get('WebIdentityToken'), 'header.payload.sig');
  assert.equal(f.get('Policy'), null);
});

test('AWS form requires RoleArn and sends duration and policy when given', () => {
  assert.throws(() => buildStsForm({ ...base, provider: 'aws' }), (e: unknown) => e instanceof AppError && e.code === 'CONFIG_ROLE_ARN_REQUIRED');
  const f = buildStsForm({ ...base, provider: 'aws', roleArn: 'arn:aws:iam::123456789012:role/Pathology', durationSeconds: 3600, policy: '{"Version":"2012-10-17"}' });
  assert.equal(f.get('RoleArn'), 'arn:aws:iam::123456789012:role/Pathology');
  assert.equal(f.get('DurationSeconds'), '3600');
  assert.equal(f.get('Policy'), '{"Version":"2012-10-17"}');
  assert.equal(stsEndpoint({ endpoint: '', region: 'eu-central-1' }), 'https://sts.eu-central-1.amazonaws.com/');
});

const AWS_OK = `<AssumeRoleWithWebIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
  <AssumeRoleWithWebIdentityResult>
    <SubjectFromWebIdentityToken>amzn1.account.AF6RHO7KZU5XRVQJGXK6HB56KR2A</SubjectFromWebIdentityToken>
    <Audience>client.5498841531868486423.1548@apps.example.com</Audience>
    <AssumedRoleUser>
      <Arn>arn:aws:sts::123456789012:assumed-role/FederatedWebIdentityRole/app1</Arn>
      <AssumedRoleId>AROACLKWSDQRAOEXAMPLE:app1</AssumedRoleId>
    </AssumedRoleUser>
    <Credentials>
      <SessionToken>AQoDYXdzEE0a8ANXXXXXXXXNO1ewxE5TijQyp+IEXAMPLE</SessionToken>
      <SecretAccessKey>wJalrXUtnFEMI/K7MDENG/bPxRfiCYzEXAMPLEKEY</SecretAccessKey>
      <Expiration>2014-10-24T23:00:23Z</Expiration>
      <AccessKeyId>ASgeIAIOSFODNN7EXAMPLE</AccessKeyId>
    </Credentials>
    <SourceIdentity>SourceIdentityValue</SourceIdentity>
    <Provider>www.amazon.com</Provider>
  </AssumeRoleWithWebIdentityResult>
  <ResponseMetadata><RequestId>ad4156e9-bce1-11e2-82e6-6b6efEXAMPLE</RequestId></ResponseMetadata>
</AssumeRoleWithWebIdentityResponse>`;

test('parses AWS documentation example and registers the secrets for redaction', () => {
  const r = parseStsSuccess(AWS_OK);
  assert.equal(r.credentials.accessKeyId, 'ASgeIAIOSFODNN7EXAMPLE');
  assert.equal(r.credentials.secretAccessKey, 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYzEXAMPLEKEY');
  assert.equal(r.credentials.expiration.toISOString(), '2014-10-24T23:00:23.000Z');
  assert.equal(r.identity, 'arn:aws:sts::123456789012:assumed-role/FederatedWebIdentityRole/app1');
  assert.equal(redact(`x ${r.credentials.secretAccessKey} y ${r.credentials.sessionToken}`), 'x [redacted] y [redacted]');
  const cp = toCredentialProcessJson(r.credentials);
  assert.deepEqual(Object.keys(cp), ['Version', 'AccessKeyId', 'SecretAccessKey', 'SessionToken', 'Expiration']);
  assert.equal(cp.Version, 1);
  assert.equal(cp.Expiration, '2014-10-24T23:00:23.000Z');
});

test('MinIO answer with an empty ARN leaves the identity to the provider', () => {
  const xml = AWS_OK.replace(/<Arn>.*<\/Arn>/, '<Arn></Arn>').replace(/<SubjectFromWebIdentityToken>.*<\/SubjectFromWebIdentityToken>/, '');
  assert.equal(parseStsSuccess(xml).identity, '');
});

test('an answer without credentials is STS_BAD_RESPONSE', () => {
  assert.throws(() => parseStsSuccess('<html>proxy login</html>'), (e: unknown) => e instanceof AppError && e.code === 'STS_BAD_RESPONSE');
});

const minioError = (message: string): string =>
  `<?xml version="1.0" encoding="UTF-8"?>\n<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error><Type></Type><Code>InvalidParameterValue</Code><Message>${message}</Message></Error><RequestId>1</RequestId></ErrorResponse>`;

test('error mapping: MinIO and AWS codes', () => {
  const code = (status: number, xml: string): string => stsError(status, parseStsError(xml)).code;
  // MinIO's answers, as recorded against the stack (see docs/decisions/0501-storage-credentials.md)
  const denied = stsError(400, parseStsError(minioError('None of the given policies (``) are defined, credentials will not be generated')));
  assert.equal(denied.code, 'STS_ACCESS_DENIED');
  assert.equal(denied.message, ACCESS_DENIED_MESSAGE);
  assert.equal(code(400, minioError('Token is expired')), 'STS_EXPIRED_TOKEN');
  assert.equal(code(400, minioError('crypto/rsa: verification error')), 'STS_INVALID_TOKEN');
  const aws = (c: string): string => `<ErrorResponse><Error><Type>Sender</Type><Code>${c}</Code><Message>m</Message></Error></ErrorResponse>`;
  assert.equal(code(403, aws('AccessDenied')), 'STS_ACCESS_DENIED');
  assert.equal(code(400, aws('InvalidIdentityToken')), 'STS_INVALID_TOKEN');
  assert.equal(code(400, aws('ExpiredTokenException')), 'STS_EXPIRED_TOKEN');
  assert.equal(code(400, aws('IDPCommunicationError')), 'STS_UNREACHABLE');
  assert.equal(code(503, ''), 'STS_UNREACHABLE');
  assert.equal(code(400, aws('MalformedPolicyDocument')), 'STS_POLICY_REJECTED');
  assert.equal(code(400, aws('SomethingNew')), 'STS_FAILED');
});
