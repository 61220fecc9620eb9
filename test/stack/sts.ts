/**
 * A plain STS AssumeRoleWithWebIdentity call for tests of the stack (the app's own STS
 * client lives in main/credentials). Returns MinIO's error code and message as they are.
 */
export interface StsResult {
  status: number;
  credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken: string; expiration: Date };
  code?: string;
  message?: string;
}

export async function assumeRoleWithWebIdentity(stsEndpoint: string, token: string, durationSeconds?: number): Promise<StsResult> {
  const body = new URLSearchParams({ Action: 'AssumeRoleWithWebIdentity', Version: '2011-06-15', WebIdentityToken: token });
  if (durationSeconds !== undefined) body.set('DurationSeconds', String(durationSeconds));
  const res = await fetch(stsEndpoint, { method: 'POST', body });
  const xml = await res.text();
  const tag = (name: string): string | undefined => new RegExp(`<${name}>([^<]*)</${name}>`).exec(xml)?.[1];
  if (res.status !== 200) return { status: res.status, ...opt('code', tag('Code')), ...opt('message', tag('Message')) };
  return {
    status: res.status,
    credentials: {
      accessKeyId: tag('AccessKeyId') ?? '',
      secretAccessKey: tag('SecretAccessKey') ?? '',
      sessionToken: tag('SessionToken') ?? '',
      expiration: new Date(tag('Expiration') ?? 0),
    },
  };
}

function opt<K extends string>(key: K, value: string | undefined): Partial<Record<K, string>> {
  return value === undefined ? {} : ({ [key]: value } as Record<K, string>);
}
