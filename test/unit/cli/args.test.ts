import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AppError } from '../../../main/common/errors.js';
import { flagInt, parseArgs, type FlagSpec } from '../../../main/cli/args.js';
import { exitCodeFor, runCli } from '../../../main/cli/index.js';
import { entryFor } from '../../../main/common/errors.js';

const specs: Record<string, Record<string, FlagSpec>> = {
  login: { 'no-browser': { description: '' }, force: { description: '' } },
  ls: { json: { description: '' }, max: { value: true, description: '' } },
  tile: { output: { value: true, short: 'o', description: '' } },
};
const parse = (argv: string[]) => parseArgs(argv, (c) => (c ? specs[c] : undefined));
const usage = (e: unknown) => e instanceof AppError && e.code === 'CLI_USAGE';

test('command, positionals and flags in any order; global flags before the command', () => {
  assert.deepEqual(parse(['--config', 'c.json', 'ls', 's3://b/', '--json']), { command: 'ls', positionals: ['s3://b/'], flags: { config: 'c.json', json: true } });
  assert.deepEqual(parse(['ls', '--max=5', 's3://b/x/', '--config=/tmp/x']), { command: 'ls', positionals: ['s3://b/x/'], flags: { max: '5', config: '/tmp/x' } });
  assert.deepEqual(parse(['login', '--no-browser']).flags, { 'no-browser': true });
  assert.deepEqual(parse(['tile', 'a.svs', '0', '1', '2', '-o', 'out.jpg']), { command: 'tile', positionals: ['a.svs', '0', '1', '2'], flags: { output: 'out.jpg' } });
  assert.deepEqual(parse(['ls', '--', '--weird-name']).positionals, ['--weird-name']);
  assert.deepEqual(parse([]), { command: undefined, positionals: [], flags: {} });
});

test('typos and missing values are refused', () => {
  assert.throws(() => parse(['ls', '--conifg', 'x']), usage);
  assert.throws(() => parse(['login', '--json']), usage, 'a flag of another command');
  assert.throws(() => parse(['ls', '--max']), usage);
  assert.throws(() => parse(['ls', '--json=yes']), usage);
  assert.throws(() => parse(['tile', '-x']), usage);
  assert.throws(() => flagInt(parse(['ls', '--max', 'many']), 'max', 1), usage);
  assert.equal(flagInt(parse(['ls', '--max', '3']), 'max', 1), 3);
});

test('exit codes by the kind of the error code', () => {
  const exitCodeOf = (code: string): number => exitCodeFor(entryFor(code)!.kind);
  assert.equal(exitCodeOf('CLI_USAGE'), 2);
  assert.equal(exitCodeOf('CONFIG_NOT_SET_UP'), 2);
  assert.equal(exitCodeOf('SOURCE_BAD_URI'), 2);
  assert.equal(exitCodeOf('AUTH_NOT_SIGNED_IN'), 3);
  assert.equal(exitCodeOf('STS_INVALID_TOKEN'), 3);
  assert.equal(exitCodeOf('STS_ACCESS_DENIED'), 4);
  assert.equal(exitCodeOf('SOURCE_ACCESS_DENIED'), 4);
  assert.equal(exitCodeOf('SOURCE_NOT_FOUND'), 5);
  assert.equal(exitCodeOf('STS_UNREACHABLE'), 6);
  assert.equal(exitCodeOf('SOURCE_UNAVAILABLE'), 6);
  assert.equal(exitCodeOf('AUTH_CANCELLED'), 130);
  assert.equal(exitCodeOf('FORMAT_UNSUPPORTED'), 1);
});

test('runCli: help, unknown command, and errors as "error CODE: message" + hint on stderr', async () => {
  const io = { out: '', err: '' };
  const cap = { out: (t: string) => void (io.out += t), err: (t: string) => void (io.err += t) };
  assert.equal(await runCli(['help'], { io: cap }), 0);
  for (const c of ['login', 'whoami', 'ls', 'logout', 'credentials']) assert.match(io.out, new RegExp(`^  ${c} `, 'm'));
  io.out = '';
  assert.equal(await runCli(['ls', '--help'], { io: cap }), 0);
  assert.match(io.out, /ls \[s3:\/\/bucket\/prefix\/\]/);
  assert.equal(await runCli(['frobnicate'], { io: cap }), 2);
  assert.match(io.err, /^error CLI_USAGE: Unknown command "frobnicate"\.\nhint: /m);
  io.err = '';
  assert.equal(await runCli(['credentials', '--format', 'xml'], { io: cap }), 2);
  assert.match(io.err, /Unknown format "xml"/);
});

test('runCli: a malformed S3 address is a usage error (exit 2), before any sign-in', async () => {
  let err = '';
  const io = { out: () => undefined, err: (t: string) => void (err += t) };
  assert.equal(await runCli(['ls', 's3:///no-bucket'], { io }), 2);
  assert.match(err, /^error SOURCE_BAD_URI: "s3:\/\/\/no-bucket" is not an S3 address\.\nhint: Write it as s3:\/\/bucket/m);
});
