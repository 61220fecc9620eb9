/**
 * AWS CLI's `credential_process` output (Version 1), so aws-cli, the SDKs, rclone and
 * scripts reuse the workstation's sign-in. Printed to stdout only, never stored.
 */
import type { TemporaryCredentials } from './types.js';

export interface CredentialProcessOutput {
  Version: 1;
  AccessKeyId: string;
  SecretAccessKey: string;
  SessionToken: string;
  /** ISO 8601; the SDKs call the process again shortly before it. */
  Expiration: string;
}

export function toCredentialProcessJson(c: TemporaryCredentials): CredentialProcessOutput {
  return {
    Version: 1,
    AccessKeyId: c.accessKeyId,
    SecretAccessKey: c.secretAccessKey,
    SessionToken: c.sessionToken,
    Expiration: c.expiration.toISOString(),
  };
}
