/**
 * The slide-engine commands as a user runs them (bin/slide-workstation.mjs in a child
 * process) on a real scanner file read in place: info, tile, region (PNG) and pin into the
 * cache folder from the settings, where a second pin downloads nothing.
 * (The same commands over s3:// are exercised in cli.test.ts.)
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(fileURLToPath(new URL('../../..', import.meta.url)));
const BIN = join(root, 'bin', 'slide-workstation.mjs');
const SLIDE = resolve(root, '..', 'shared', 'testdata', 'aperio-svs', 'CMU-1-Small-Region.svs');

function cli(args: string[], config: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, [BIN, ...args, '--config', config], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (b: Buffer) => (stdout += b.toString('utf8')));
    child.stderr.on('data', (b: Buffer) => (stderr += b.toString('utf8')));
    child.on('error', fail);
    child.on('close', (code) => done({ code, stdout, stderr }));
  });
}

describe('slide commands on a local scanner file', { skip: existsSync(SLIDE) ? false : `missing ${SLIDE}` }, () => {
  let dir: string;
  let config: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'cli-slide-'));
    config = join(dir, 'config.json');
    writeFileSync(config, JSON.stringify({ paths: { data: join(dir, 'data'), cache: join(dir, 'cache') } }));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('info prints the descriptor; tile writes the stored JPEG; a level that does not exist is refused', async () => {
    const info = await cli(['info', SLIDE], config);
    assert.equal(info.code, 0, info.stderr);
    const d = JSON.parse(info.stdout) as { format: string; levels: { width: number; height: number; columns: number; rows: number }[]; mpp: { x: number } };
    assert.equal(d.format, 'aperio');
    assert.equal(d.levels[0]!.width, 2220);
    assert.equal(d.levels[0]!.height, 2967);
    assert.equal(d.mpp.x, 0.499);

    const out = join(dir, 't.jpg');
    const tile = await cli(['tile', SLIDE, '0', '2', '3', '-o', out], config);
    assert.equal(tile.code, 0, tile.stderr);
    const jpeg = readFileSync(out);
    assert.deepEqual([jpeg[0], jpeg[1]], [0xff, 0xd8]);

    const bad = await cli(['tile', SLIDE, '9', '0', '0', '-o', out], config);
    // A level the slide does not have is "not found" (exit code 5, the kind's code).
    assert.equal(bad.code, 5);
    assert.match(bad.stderr, /^error TILE_OUT_OF_RANGE: The slide has 1 levels/m);
  });

  it('region writes a PNG of exactly the asked size', async () => {
    const out = join(dir, 'r.png');
    const run = await cli(['region', SLIDE, '--level', '0', '--x', '1000', '--y', '1200', '--width', '321', '--height', '123', '-o', out], config);
    assert.equal(run.code, 0, run.stderr);
    const png = readFileSync(out);
    assert.equal(png.subarray(1, 4).toString('latin1'), 'PNG');
    assert.equal(png.readUInt32BE(16), 321, 'IHDR width');
    assert.equal(png.readUInt32BE(20), 123, 'IHDR height');
    const missing = await cli(['region', SLIDE, '--level', '0', '--x', '0', '--y', '0', '--width', '10', '-o', out], config);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /region needs --height/);
  });

  it('pin downloads every tile into the cache folder; pinning again downloads nothing', async () => {
    const first = await cli(['pin', SLIDE], config);
    assert.equal(first.code, 0, first.stderr);
    const m = /Available offline: (\d+)\/(\d+) tiles, ([\d.]+) MB/.exec(first.stderr);
    assert.ok(m, first.stderr);
    assert.equal(m[1], m[2]);
    assert.ok(Number(m[3]) > 0);
    assert.ok(existsSync(join(dir, 'cache', 'tiles.db')));
    const again = await cli(['pin', SLIDE], config);
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stderr, new RegExp(`Available offline: ${m[1]}/${m[2]} tiles, 0\\.0 MB downloaded now`));
  });
});
