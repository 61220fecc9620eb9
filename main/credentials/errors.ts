/**
 * The storage-credentials error table (STS AssumeRoleWithWebIdentity and the renewal
 * around it). Messages are for the pathologist; hints say what IT checks.
 */
import { errorTable } from '../common/errors.js';

export const credentialErrors = errorTable('credentials', {
  CONFIG_ROLE_ARN_REQUIRED: {
    kind: 'invalid-input',
    message: 'Storage sign-in is not set up: AWS needs the role to assume.',
    hint: 'IT: set storage.sts.roleArn to the IAM role trusted for this identity provider.',
  },
  STS_UNREACHABLE: {
    kind: 'unreachable',
    message: 'The storage sign-in service cannot be reached.',
    hint: 'Check the network connection (VPN, Wi-Fi). If it keeps failing, IT should check storage.sts.endpoint.',
  },
  STS_EXPIRED_TOKEN: {
    kind: 'signin-needed',
    message: 'Your sign-in had expired when storage checked it.',
    hint: "Check that this computer's date and time are correct, then sign in again.",
    retryable: true,
  },
  STS_ACCESS_DENIED: {
    kind: 'denied',
    message: 'Your account has no access to slide storage.',
    hint: 'IT: the storage token service accepted the sign-in but no storage role or policy applies to this user (group claim, role trust policy).',
  },
  STS_INVALID_TOKEN: {
    kind: 'signin-needed',
    message: 'Storage did not accept your sign-in.',
    hint: 'Sign out and sign in again. If it keeps failing, IT should check that storage trusts this identity provider (issuer, audience, signing keys).',
  },
  STS_POLICY_REJECTED: {
    kind: 'denied',
    message: 'Storage refused the restricted access requested for this job.',
    hint: 'IT: the session policy asked for is larger than the role allows, or malformed.',
  },
  STS_FAILED: {
    kind: 'internal',
    message: 'The storage sign-in failed.',
    hint: 'Try again; if it keeps failing, tell IT and quote this message.',
  },
  STS_BAD_RESPONSE: {
    kind: 'invalid-input',
    message: 'The storage sign-in service gave an answer the workstation cannot read.',
    hint: 'IT: check that storage.sts.endpoint points at an STS (AssumeRoleWithWebIdentity) endpoint.',
  },
  CREDENTIALS_INVALIDATED: {
    kind: 'signin-needed',
    message: 'You signed out while storage access was being renewed.',
    hint: 'Sign in again.',
  },
});
export type CredentialErrorCode = keyof typeof credentialErrors.entries;
