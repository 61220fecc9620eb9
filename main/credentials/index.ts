/**
 * Storage credentials from the signed-in identity (STS AssumeRoleWithWebIdentity), in
 * main-process memory only. Error codes are listed in sts.ts.
 */
export type { CredentialProvider, GetCredentialsOptions, TemporaryCredentials, WebIdentitySource } from './types.js';
export { StsWebIdentityProvider, type StsProviderOptions } from './provider.js';
export {
  ACCESS_DENIED_MESSAGE,
  assumeRoleWithWebIdentity,
  buildStsForm,
  parseStsError,
  parseStsSuccess,
  sanitizeSessionName,
  stsError,
  stsEndpoint,
  type StsRequest,
  type StsResult,
} from './sts.js';
export { toCredentialProcessJson, type CredentialProcessOutput } from './credential-process.js';
