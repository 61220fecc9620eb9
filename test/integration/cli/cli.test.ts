/**
 * The CLI end to end on the real stack, run as a user runs it (`bin/slide-workstation.mjs`
 * in a child process): `login --no-browser` (the test reads the printed address and signs
 * in in Chromium), `whoami`, `ls`, `credentials --format credential_process` consumed by
 * the AWS SDK's own credential_process provider to read an object from MinIO, `logout`
 * (the refresh token is then refused by the provider and gone from disk), and a scan of
 * the CLI's log file for every secret it handled.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GetObjectCommand, S3Client as AwsS3 } from '@aws-sdk/client-s3';
import { fromProcess } from '@aws-sdk/credential-provider-process';
import type { Browser } from 'playwright-core';
import { launchChromium } from '../../stack/browser-login.js';
import { startStack, type RunningStack } from '../../stack/stack.js';
import { BIN, loginNoBrowser, runCli, type CliRun } from './run-cli.js';



describe('slide-workstation CLI on the real stack', () => {
  let stack: RunningStack;
  let browser: Browser;
  let dir: string;
  let config: string;
  let logFile: string;
  let dataDir: string;
  const secretsSeen: string[] = [];

  before(async () => {
    stack = await startStack({ seedSharedTestdata: false });
    browser = await launchChromium();
    dir = mkdtempSync(join(tmpdir(), 'cli-test-'));
    dataDir = join(dir, 'data');
    logFile = join(dir, 'cli.log');
    // The stack's settings, with the refresh token in an owner-only file in our own folder
    // (a shared OS keyring would mix this test's sign-in with others').
    const settings = JSON.parse(readFileSync(stack.configFile, 'utf8')) as Record<string, unknown>;
    settings.secrets = { store: 'file' };
    // A failed browser step should fail the test in a minute, not after the 5-minute default.
    settings.auth = { ...(settings.auth as object), timeoutSeconds: 60 };
    settings.paths = { data: dataDir, cache: join(dir, 'cache') };
    config = join(dir, 'config.json');
    writeFileSync(config, JSON.stringify(settings));
  });
  after(async () => {
    await browser?.close();
    await stack?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const cli = (args: string[]): Promise<CliRun> => runCli(args, { config, env: { WSI_LOG_FILE: logFile, WSI_LOG_LEVEL: 'debug' } });

  const secretsFile = (): string => join(dataDir, 'secrets.json');
  const alice = (): RunningStack['users'][number] => stack.users.find((u) => u.username === 'alice')!;

  it('login --no-browser prints the address and completes when the browser comes back', async () => {
    const run = await loginNoBrowser(browser, alice(), { config, env: { WSI_LOG_FILE: logFile, WSI_LOG_LEVEL: 'debug' } });
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stderr, /Open this address in a browser/);
    assert.match(run.stderr, /Signed in as Alice Pathologist <alice@demo-hospital\.test>/);
    assert.ok(existsSync(secretsFile()), 'the sign-in is kept for the next run');
    secretsSeen.push(...Object.values(JSON.parse(readFileSync(secretsFile(), 'utf8')) as Record<string, string>));
  });

  it('whoami shows the user and the identity storage sees, from the saved sign-in', async () => {
    const run = await cli(['whoami', '--json']);
    assert.equal(run.code, 0, run.stderr);
    const who = JSON.parse(run.stdout) as { user: { email: string; groups: string[] }; storage: { sessionName: string; provider: string } };
    assert.equal(who.user.email, 'alice@demo-hospital.test');
    assert.deepEqual(who.user.groups, ['pathology']);
    assert.equal(who.storage.sessionName, 'alice@demo-hospital.test');
    assert.equal(who.storage.provider, 'minio');
  });

  it('ls lists the configured buckets, a folder, and refuses another group\'s bucket with exit code 4', async () => {
    const roots = await cli(['ls']);
    assert.equal(roots.code, 0, roots.stderr);
    assert.match(roots.stdout, /s3:\/\/pathology-slides\//);
    const top = await cli(['ls', 's3://pathology-slides/']);
    assert.equal(top.code, 0, top.stderr);
    assert.match(top.stdout, /DIR +demo\//);
    assert.match(top.stdout, /README\.txt +\(not a slide\)/);
    const demo = await cli(['ls', 's3://pathology-slides/demo/', '--json']);
    const listing = JSON.parse(demo.stdout) as { entries: { name: string; slide?: boolean; size?: number }[] };
    assert.ok(listing.entries.some((e) => e.slide && (e.size ?? 0) > 0));
    const slide = listing.entries.find((e) => e.slide)!;

    // The slide engine's commands over the same signed-in S3 access.
    const info = await cli(['info', `s3://pathology-slides/demo/${slide.name}`]);
    assert.equal(info.code, 0, info.stderr);
    const descriptor = JSON.parse(info.stdout) as { levels: { width: number }[]; identity: { size: number } };
    assert.ok(descriptor.levels.length > 1, 'a pyramid');
    assert.equal(descriptor.identity.size, slide.size);
    const tileFile = join(dir, 'tile.jpg');
    const tile = await cli(['tile', `s3://pathology-slides/demo/${slide.name}`, '0', '0', '0', '-o', tileFile]);
    assert.equal(tile.code, 0, tile.stderr);
    const jpeg = readFileSync(tileFile);
    assert.deepEqual([jpeg[0], jpeg[1], jpeg[jpeg.length - 2], jpeg[jpeg.length - 1]], [0xff, 0xd8, 0xff, 0xd9], 'a complete JPEG');

    const denied = await cli(['ls', 's3://research-slides/']);
    assert.equal(denied.code, 4);
    assert.match(denied.stderr, /^error SOURCE_ACCESS_DENIED: You do not have access to the folder s3:\/\/research-slides\//m);
    assert.match(denied.stderr, /^hint: /m);
  });

  it('credential_process output feeds the AWS SDK, which reads an object from MinIO', async () => {
    const run = await cli(['credentials', '--format', 'credential_process']);
    assert.equal(run.code, 0, run.stderr);
    const cp = JSON.parse(run.stdout) as Record<string, unknown>;
    assert.deepEqual(Object.keys(cp).sort(), ['AccessKeyId', 'Expiration', 'SecretAccessKey', 'SessionToken', 'Version']);
    assert.equal(cp.Version, 1);
    assert.ok(Date.parse(String(cp.Expiration)) > Date.now());
    secretsSeen.push(String(cp.SecretAccessKey), String(cp.SessionToken));

    const awsConfig = join(dir, 'aws-config');
    const quote = (s: string): string => `"${s}"`;
    writeFileSync(
      awsConfig,
      `[profile workstation]\ncredential_process = ${quote(process.execPath)} ${quote(BIN)} credentials --format credential_process --config ${quote(config)}\n`,
    );
    const s3 = new AwsS3({
      endpoint: stack.s3Endpoint,
      region: 'us-east-1',
      forcePathStyle: true,
      credentials: fromProcess({ profile: 'workstation', configFilepath: awsConfig, filepath: join(dir, 'no-credentials-file') }),
    });
    try {
      const obj = await s3.send(new GetObjectCommand({ Bucket: 'pathology-slides', Key: 'README.txt' }));
      const text = await obj.Body!.transformToString();
      assert.match(text, /Pathology archive \(pathology-slides\)/);
    } finally {
      s3.destroy();
    }
  });

  it('parallel credential_process calls (aws-cli, rclone) do not burn the rotating refresh token', async () => {
    // The IdP rotates refresh tokens and revokes the grant when a used one is presented
    // again; two processes restoring the same saved sign-in at once must take turns.
    const runs = await Promise.all([1, 2].map(() => cli(['credentials'])));
    for (const r of runs) assert.equal(r.code, 0, r.stderr);
    const after = await cli(['whoami', '--no-storage']);
    assert.equal(after.code, 0, `still signed in: ${after.stderr}`);
  });

  it('logout revokes the refresh token at the provider and removes it from disk; then commands say to sign in', async () => {
    const saved = JSON.parse(readFileSync(secretsFile(), 'utf8')) as Record<string, string>;
    const refreshToken = (JSON.parse(saved['auth.refresh-token']!) as { refreshToken: string }).refreshToken;
    secretsSeen.push(refreshToken);
    const run = await cli(['logout']);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stderr, /Signed out/);
    assert.equal(existsSync(secretsFile()) && readFileSync(secretsFile(), 'utf8').includes(refreshToken), false, 'no refresh token on disk');

    const discovery = (await (await fetch(`${stack.issuer}/.well-known/openid-configuration`)).json()) as { token_endpoint: string };
    const refused = await fetch(discovery.token_endpoint, {
      method: 'POST',
      body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: refreshToken, client_id: stack.clientId }),
    });
    assert.equal(refused.status, 400);
    assert.equal(((await refused.json()) as { error: string }).error, 'invalid_grant');

    const creds = await cli(['credentials']);
    assert.equal(creds.code, 3);
    assert.match(creds.stderr, /^error AUTH_NOT_SIGNED_IN: You are not signed in\.\nhint: .*login/m);
    assert.equal(creds.stdout, '', 'nothing on stdout for a credential_process caller to mistake for credentials');
  });

  it('the CLI log holds none of the secrets it handled', () => {
    const log = readFileSync(logFile, 'utf8');
    assert.match(log, /storage credentials issued/);
    assert.ok(secretsSeen.length >= 4);
    for (const s of secretsSeen) assert.equal(log.includes(s), false, 'a secret reached the log');
  });
});
