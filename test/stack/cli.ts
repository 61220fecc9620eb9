/**
 * `npm run stack`: the demo environment in the foreground. Prints one JSON line (issuer,
 * S3/STS endpoints, buckets, demo users with passwords and groups, config file), then waits
 * for Ctrl-C or SIGTERM and stops everything: MinIO, the IdP, and the temp folder unless --keep.
 *
 *   npm run stack -- [--ttl-id SECONDS] [--ttl-access SECONDS] [--ttl-refresh SECONDS] [--dir DIR] [--keep] [--no-shared] [--dicomweb | --dicomweb-if-available] [--idp oidc-provider|keycloak]
 *
 * npm prints its own "> slide-workstation stack" banner on stdout; a script that reads the
 * JSON line should use `npm run -s stack` or `node --import tsx test/stack/cli.ts`.
 */
import { isAppError } from '../../main/common/errors.js';
import { startStack, type StackOptions } from './stack.js';

function usage(message: string): never {
  process.stderr.write(
    `stack: ${message}\nUsage: npm run stack -- [--ttl-id SECONDS] [--ttl-access SECONDS] [--ttl-refresh SECONDS] [--dir DIR] [--keep] [--no-shared] [--dicomweb | --dicomweb-if-available] [--idp oidc-provider|keycloak]\n`,
  );
  process.exit(2);
}

function parse(argv: string[]): StackOptions {
  const opts: StackOptions = {};
  const ttl: NonNullable<StackOptions['ttl']> = {};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const num = (): number => {
      const v = Number(argv[++i]);
      if (!Number.isInteger(v) || v < 1) usage(`${a} needs a whole number of seconds`);
      return v;
    };
    if (a === '--ttl-id') ttl.idToken = num();
    else if (a === '--ttl-access') ttl.accessToken = num();
    else if (a === '--ttl-refresh') ttl.refreshToken = num();
    else if (a === '--keep') opts.keep = true;
    else if (a === '--no-shared') opts.seedSharedTestdata = false;
    // Orthanc behind the token gate, in the app's settings as storage.dicomweb (needs root for ip netns).
    else if (a === '--dicomweb') opts.dicomweb = true;
    // The built-in demo: the archive when this machine can run it, else without (said on stderr).
    else if (a === '--dicomweb-if-available') opts.dicomweb = 'if-available';
    // Keycloak (needs Java 21+): the real server instead of the in-process provider.
    else if (a === '--idp') {
      const v = argv[++i];
      if (v !== 'keycloak' && v !== 'oidc-provider') usage('--idp takes keycloak or oidc-provider');
      opts.idp = v;
    } else if (a === '--dir') opts.dir = argv[++i] ?? usage('--dir needs a folder');
    else usage(`unknown option ${a}`);
  }
  if (Object.keys(ttl).length) opts.ttl = ttl;
  return opts;
}

const options = parse(process.argv.slice(2));
let stack: Awaited<ReturnType<typeof startStack>> | undefined;
let stopping = false;

async function shutdown(signal: string): Promise<void> {
  if (stopping) return;
  stopping = true;
  process.stderr.write(`stack: ${signal}, stopping…\n`);
  await stack?.stop();
  process.stderr.write(options.keep ? `stack: stopped; kept ${stack?.dir}\n` : 'stack: stopped\n');
  process.exit(0);
}
process.on('SIGINT', () => void shutdown('SIGINT'));
process.on('SIGTERM', () => void shutdown('SIGTERM'));

try {
  stack = await startStack(options);
  if (stopping) {
    await stack.stop();
    process.exit(0);
  }
  const line = {
    issuer: stack.issuer,
    s3: stack.s3Endpoint,
    sts: stack.stsEndpoint,
    buckets: stack.buckets.map((b) => ({ name: b.name, readableBy: b.readableBy })),
    ...(stack.dicomweb ? { dicomweb: { name: stack.dicomweb.name, root: stack.dicomweb.root, resource: stack.dicomweb.resource, readableBy: stack.users.filter((u) => u.groups.some((g) => g === 'pathology' || g === 'research')).map((u) => u.username) } } : {}),
    users: stack.users.map((u) => ({ username: u.username, password: u.password, groups: u.groups })),
    config: stack.configFile,
  };
  process.stdout.write(`${JSON.stringify(line)}\n`);
  process.stderr.write(`stack: ready in ${(stack.startupMs / 1000).toFixed(1)} s; run the app with --config ${stack.configFile}; Ctrl-C stops\n`);
} catch (err) {
  if (isAppError(err)) {
    process.stderr.write(`stack: cannot start [${err.code}]: ${err.message}\n${err.hint ? `  ${err.hint}\n` : ''}`);
  } else {
    process.stderr.write(`stack: cannot start: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  }
  process.exit(1);
}
