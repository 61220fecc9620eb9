import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { isAllowedExternalUrl, isAllowedNavigation, isAllowedRequest, isTrustedSender } from '../../../main/app/shell-policy.js';

test('openExternal only for the identity provider origin', () => {
  const issuer = 'https://login.hospital.example/realms/path';
  assert.equal(isAllowedExternalUrl('https://login.hospital.example/realms/path/protocol/openid-connect/auth?x=1', issuer, false), true);
  assert.equal(isAllowedExternalUrl('https://login.hospital.example:8443/auth', issuer, false), false);
  assert.equal(isAllowedExternalUrl('https://evil.example/auth', issuer, false), false);
  assert.equal(isAllowedExternalUrl('file:///etc/passwd', issuer, false), false);
  assert.equal(isAllowedExternalUrl('javascript:alert(1)', issuer, false), false);
  assert.equal(isAllowedExternalUrl('https://user:pw@login.hospital.example/auth', issuer, false), false);
  assert.equal(isAllowedExternalUrl('not a url', issuer, false), false);
});

test('plain http only for an allowed insecure loopback test issuer', () => {
  const issuer = 'http://127.0.0.1:4000';
  assert.equal(isAllowedExternalUrl('http://127.0.0.1:4000/auth?x', issuer, true), true);
  assert.equal(isAllowedExternalUrl('http://127.0.0.1:4000/auth?x', issuer, false), false);
  assert.equal(isAllowedExternalUrl('http://idp.example/auth', 'http://idp.example', true), false);
});

test('IPC is answered for the app main frame only', () => {
  assert.equal(isTrustedSender('wsi://app/index.html', true), true);
  assert.equal(isTrustedSender('wsi://app/index.html', false), false);
  assert.equal(isTrustedSender('https://evil.example/', true), false);
  assert.equal(isTrustedSender('wsi://other/index.html', true), false);
  assert.equal(isTrustedSender(undefined, true), false);
});

test('navigation and requests stay on the app scheme', () => {
  assert.equal(isAllowedNavigation('wsi://app/index.html'), true);
  assert.equal(isAllowedNavigation('https://example.org/'), false);
  assert.equal(isAllowedNavigation('wsi://app/tiles/1'), false);
  assert.equal(isAllowedRequest('wsi://app/assets/index.js'), true);
  assert.equal(isAllowedRequest('https://s3.amazonaws.com/x'), false);
  assert.equal(isAllowedRequest('file:///etc/passwd'), false);
});

test('openExternal also for the discovered authorization and end-session origins (Cognito: another host than the issuer)', () => {
  const issuer = 'https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_AbC';
  const discovered = ['https://pathology.auth.eu-west-1.amazoncognito.com'];
  const authorize = 'https://pathology.auth.eu-west-1.amazoncognito.com/oauth2/authorize?client_id=x';
  const logout = 'https://pathology.auth.eu-west-1.amazoncognito.com/logout?client_id=x&logout_uri=http%3A%2F%2F127.0.0.1';
  assert.equal(isAllowedExternalUrl(authorize, issuer, false), false, 'not without discovery');
  assert.equal(isAllowedExternalUrl(authorize, issuer, false, discovered), true);
  assert.equal(isAllowedExternalUrl(logout, issuer, false, discovered), true);
  assert.equal(isAllowedExternalUrl('https://evil.amazoncognito.com/oauth2/authorize', issuer, false, discovered), false);
  assert.equal(isAllowedExternalUrl('http://pathology.auth.eu-west-1.amazoncognito.com/logout', issuer, false, discovered), false, 'same host over http is another origin');
});

test('the packaged app turns the grantFileProtocolExtraPrivileges fuse off', () => {
  const yml = readFileSync(new URL('../../../electron-builder.yml', import.meta.url), 'utf8');
  const fuses = /^electronFuses:\n((?: {2}.*\n)+)/m.exec(yml)?.[1] ?? '';
  assert.match(fuses, /^ {2}grantFileProtocolExtraPrivileges: false$/m);
  assert.match(fuses, /^ {2}runAsNode: false$/m);
});
