/**
 * `npm run stack` as a user runs it: one JSON line on stdout, a clean stop on SIGTERM, and
 * a clear message naming what is missing when a part cannot start.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';
import { isAppError } from '../../../main/common/errors.js';
import { minioBinary } from '../../stack/minio.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const CLI = join(root, 'test', 'stack', 'cli.ts');

function runCli(args: string[], env: NodeJS.ProcessEnv = process.env) {
  const child = spawn(process.execPath, ['--import', 'tsx', CLI, ...args], { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
  const exit = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  const firstLine = new Promise<string | undefined>((r) => {
    const rl = createInterface({ input: child.stdout });
    rl.once('line', (l) => r(l));
    rl.once('close', () => r(undefined));
  });
  return { child, exit, firstLine, stderr: () => stderr };
}

describe('npm run stack (test/stack/cli.ts)', () => {
  it('prints one JSON line with the environment and stops cleanly on SIGTERM', async () => {
    const run = runCli(['--ttl-id', '30', '--ttl-access', '20']);
    try {
      const line = await run.firstLine;
      assert.ok(line, `no JSON line; stderr: ${run.stderr()}`);
      const info = JSON.parse(line) as {
        issuer: string;
        s3: string;
        sts: string;
        buckets: { name: string; readableBy: string[] }[];
        users: { username: string; password: string; groups: string[] }[];
        config: string;
      };
      assert.match(info.issuer, /^http:\/\/127\.0\.0\.1:\d+$/);
      assert.match(info.s3, /^http:\/\/127\.0\.0\.1:\d+$/);
      assert.equal(info.sts, info.s3);
      assert.deepEqual(info.users.map((u) => [u.username, u.groups]), [
        ['alice', ['pathology']],
        ['bob', ['research']],
        ['carol', []],
      ]);
      assert.ok(info.users.every((u) => u.password.length > 0));
      assert.deepEqual(info.buckets.map((b) => b.name), ['pathology-slides', 'research-slides', 'teaching']);
      const config = JSON.parse(readFileSync(info.config, 'utf8')) as { auth: { issuer: string } };
      assert.equal(config.auth.issuer, info.issuer);
      const discovery = (await (await fetch(`${info.issuer}/.well-known/openid-configuration`)).json()) as { issuer: string };
      assert.equal(discovery.issuer, info.issuer);
      assert.equal((await fetch(`${info.s3}/minio/health/live`)).status, 200);

      run.child.kill('SIGTERM');
      assert.equal(await run.exit, 0, run.stderr());
      assert.equal(existsSync(dirname(info.config)), false, 'the stack folder is removed');
      await assert.rejects(fetch(`${info.s3}/minio/health/live`), 'MinIO no longer answers');
      await assert.rejects(fetch(`${info.issuer}/.well-known/openid-configuration`), 'the IdP no longer answers');
    } finally {
      if (run.child.exitCode === null) run.child.kill('SIGKILL');
    }
  });

  it('names the missing tool and how to install it when vips is not available', async () => {
    const emptyCache = mkdtempSync(join(tmpdir(), 'stack-nocache-'));
    try {
      // No vips on PATH and no cached demo slides: the stack must say what to install.
      const run = runCli([], { ...process.env, PATH: '/nonexistent', XDG_CACHE_HOME: emptyCache });
      assert.equal(await run.firstLine, undefined);
      assert.equal(await run.exit, 1);
      assert.match(run.stderr(), /STACK_VIPS_MISSING/);
      assert.match(run.stderr(), /apt-get install libvips-tools/);
    } finally {
      rmSync(emptyCache, { recursive: true, force: true });
    }
  });

  it('names Go when the MinIO binary is not built and Go is missing', async () => {
    const emptyCache = mkdtempSync(join(tmpdir(), 'stack-nocache-'));
    const saved = { PATH: process.env.PATH, XDG_CACHE_HOME: process.env.XDG_CACHE_HOME, MINIO_BINARY: process.env.MINIO_BINARY };
    try {
      process.env.PATH = '/nonexistent';
      process.env.XDG_CACHE_HOME = emptyCache;
      delete process.env.MINIO_BINARY;
      await assert.rejects(minioBinary(), (err: unknown) => {
        assert.ok(isAppError(err, 'STACK_MINIO_MISSING'));
        assert.match(err.message, /Go is not installed/);
        assert.match(err.hint ?? '', /build-minio\.sh/);
        return true;
      });
    } finally {
      for (const [k, v] of Object.entries(saved)) {
        if (v === undefined) delete process.env[k];
        else process.env[k] = v;
      }
      rmSync(emptyCache, { recursive: true, force: true });
    }
  });
});
