/**
 * Orthanc (Debian's package, with the DICOMweb and WSI plugins) for tests and the demo
 * stack. Orthanc 1.10 cannot bind to one address (HttpBindAddresses arrived in 1.12.10), so
 * it runs in a private network namespace that has only `lo`, and a socat bridge on
 * 127.0.0.1 (random port, backlog 256: the default of 5 resets connections under 200
 * parallel fetches) forwards into it. See ../shared/notes/stack-notes.md §3 and
 * docs/decisions/0701-dicomweb-test-archive.md.
 *
 * Loaded with: every DICOM file under ../shared/testdata/dicom-wsi/ (read in place, POSTed
 * to /instances) and CMU-1-Small-Region converted by OrthancWSIDicomizer from the
 * pyramidal TIFF, with its real 0.499 µm/px (the dicomizer ignores the TIFF resolution).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { randomBytes } from 'node:crypto';
import { AppError } from '../../main/common/errors.js';

export interface OrthancOptions {
  /** DICOM files or folders to upload (default: ../shared/testdata/dicom-wsi). */
  dicom?: string[];
  /** Pyramidal TIFFs to convert with OrthancWSIDicomizer, with their resolution. */
  dicomize?: { tiff: string; mpp: number; width: number; height: number }[];
}

export interface RunningOrthanc {
  /** Orthanc's REST root through the bridge, e.g. http://127.0.0.1:41234 */
  baseUrl: string;
  /** DICOMweb root, e.g. http://127.0.0.1:41234/dicom-web */
  dicomwebRoot: string;
  /** Instances uploaded (files) and converted (dicomizer output). */
  loaded: { file: string; sopInstanceUid: string }[];
  dicomized: string[];
  stop(): Promise<void>;
}

const ORTHANC = '/usr/sbin/Orthanc';
const DICOMIZER = '/usr/bin/OrthancWSIDicomizer';
const PLUGINS = ['/usr/share/orthanc/plugins/libOrthancDicomWeb.so', '/usr/share/orthanc/plugins/libOrthancWSI.so'];
const INNER_PORT = 8042;
/** Same folder as stack.ts's SHARED_TESTDATA; not imported so stack.ts can import this file. */
const SHARED_TESTDATA = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'shared', 'testdata');

export const DEFAULT_DICOMIZE = [
  { tiff: join(SHARED_TESTDATA, 'derived', 'generic-tiff', 'CMU-1-Small-Region.pyramid-jpeg.tif'), mpp: 0.499, width: 2220, height: 2967 },
];

/** Why Orthanc cannot run here, or undefined when it can. Tests skip on the netns reason only. */
export function orthancUnavailable(): { reason: string; kind: 'missing' | 'netns' } | undefined {
  for (const bin of [ORTHANC, DICOMIZER, '/usr/bin/socat', ...PLUGINS]) {
    if (!existsSync(bin)) return { kind: 'missing', reason: `${bin} is missing: install the Debian packages orthanc, orthanc-dicomweb, orthanc-wsi and socat (test/stack/install-prereqs.sh).` };
  }
  const ns = `slidews-probe-${randomBytes(4).toString('hex')}`;
  const add = spawnSync('ip', ['netns', 'add', ns], { encoding: 'utf8' });
  if (add.status !== 0) return { kind: 'netns', reason: `"ip netns add" is not permitted here (${(add.stderr || add.error?.message || '').trim()}); Orthanc needs a private network namespace to listen on loopback only. Run as root (CI does).` };
  spawnSync('ip', ['netns', 'del', ns]);
  return undefined;
}

export async function startOrthanc(options: OrthancOptions = {}): Promise<RunningOrthanc> {
  const why = orthancUnavailable();
  if (why) throw new AppError(why.kind === 'netns' ? 'STACK_ORTHANC_NETNS' : 'STACK_ORTHANC_MISSING', why.reason);
  const dir = mkdtempSync(join(tmpdir(), 'slide-orthanc-'));
  const ns = `slidews-${process.pid}-${randomBytes(4).toString('hex')}`;
  const procs: ChildProcess[] = [];
  let nsCreated = false;
  const stop = async (): Promise<void> => {
    for (const p of procs.reverse()) await killGroup(p);
    procs.length = 0;
    if (nsCreated) {
      // Bridge children (`ip netns exec … socat`) may linger a moment after their parent.
      for (let i = 0; i < 20; i++) {
        if (spawnSync('ip', ['netns', 'del', ns]).status === 0) break;
        await delay(100);
      }
      nsCreated = false;
    }
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    run('ip', ['netns', 'add', ns]);
    nsCreated = true;
    run('ip', ['netns', 'exec', ns, 'ip', 'link', 'set', 'lo', 'up']);
    const config = join(dir, 'orthanc.json');
    writeFileSync(
      config,
      JSON.stringify({
        Name: 'slide-workstation-test',
        StorageDirectory: join(dir, 'db'),
        IndexDirectory: join(dir, 'db'),
        Plugins: PLUGINS,
        HttpPort: INNER_PORT,
        DicomServerEnabled: false,
        WebDavEnabled: false,
        RemoteAccessAllowed: false,
        AuthenticationEnabled: false,
        // Host left out: the plugin then writes the port of the request into RetrieveURLs.
        DicomWeb: { Enable: true, Root: '/dicom-web/', EnableWado: true, WadoRoot: '/wado', Ssl: false },
      }),
    );
    const orthanc = spawn('ip', ['netns', 'exec', ns, ORTHANC, config], { detached: true, stdio: ['ignore', 'ignore', 'pipe'] });
    procs.push(orthanc);
    let orthancErr = '';
    orthanc.stderr?.on('data', (b: Buffer) => (orthancErr = (orthancErr + b.toString()).slice(-4000)));

    // The port is picked free and then bound by socat: another process may take it in between,
    // so a bridge that exits at once is started again on a new port.
    let baseUrl = '';
    for (let attempt = 1; ; attempt++) {
      const port = await freePort();
      // -t 0.02: Orthanc ends multipart answers by closing the connection (no length, no
      // chunking); socat's default half-close wait of 0.5 s would add that to every multi-frame request.
      const socat = spawn(
        'socat',
        ['-t', '0.02', `TCP-LISTEN:${port},bind=127.0.0.1,reuseaddr,fork,backlog=256`, `EXEC:ip netns exec ${ns} socat -t 0.02 STDIO TCP\\:127.0.0.1\\:${INNER_PORT}`],
        { detached: true, stdio: ['ignore', 'ignore', 'pipe'] },
      );
      let socatErr = '';
      socat.stderr?.on('data', (b: Buffer) => (socatErr = (socatErr + b.toString()).slice(-2000)));
      procs.push(socat);
      baseUrl = `http://127.0.0.1:${port}`;
      try {
        await waitReady(baseUrl, orthanc, () => orthancErr, socat, () => socatErr);
        break;
      } catch (err) {
        if (!(socat.exitCode !== null && attempt < 3)) throw err;
      }
    }

    const loaded: { file: string; sopInstanceUid: string }[] = [];
    const files = (options.dicom ?? [join(SHARED_TESTDATA, 'dicom-wsi')]).flatMap(listDicom);
    for (const file of files) {
      const res = await fetch(`${baseUrl}/instances`, { method: 'POST', body: readFileSync(file), headers: { 'content-type': 'application/dicom' } });
      const body = (await res.json().catch(() => ({}))) as { ID?: string; Status?: string };
      if (!res.ok || !body.ID) throw new AppError('STACK_ORTHANC_UPLOAD', `Orthanc refused ${file} (HTTP ${res.status}, ${body.Status ?? ''}).`);
      const tags = (await (await fetch(`${baseUrl}/instances/${body.ID}/simplified-tags`)).json()) as Record<string, string>;
      loaded.push({ file, sopInstanceUid: tags['SOPInstanceUID'] ?? '' });
    }
    const dicomized: string[] = [];
    for (const d of options.dicomize ?? DEFAULT_DICOMIZE.filter((d) => existsSync(d.tiff))) {
      // Imaged size in mm = pixels × µm/px / 1000; without it the dicomizer assumes 15 × 15 mm.
      const r = spawnSync(
        DICOMIZER,
        ['--threads', '2', '--orthanc', `${baseUrl}/`, '--imaged-width', String((d.width * d.mpp) / 1000), '--imaged-height', String((d.height * d.mpp) / 1000), d.tiff],
        { encoding: 'utf8', timeout: 60_000 },
      );
      if (r.status !== 0) throw new AppError('STACK_ORTHANC_DICOMIZER', `OrthancWSIDicomizer failed on ${d.tiff}: ${(r.stderr || r.stdout || '').slice(-800)}`);
      dicomized.push(d.tiff);
    }
    return { baseUrl, dicomwebRoot: `${baseUrl}/dicom-web`, loaded, dicomized, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

function run(cmd: string, args: string[]): void {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  if (r.status !== 0) throw new AppError('STACK_ORTHANC_NETNS', `${cmd} ${args.join(' ')} failed: ${(r.stderr || r.error?.message || '').trim()}`);
}

function listDicom(path: string): string[] {
  if (!existsSync(path)) return [];
  if (!statSync(path).isDirectory()) return [path];
  return readdirSync(path, { recursive: true, encoding: 'utf8' })
    .map((n) => join(path, n))
    .filter((p) => p.endsWith('.dcm') && statSync(p).isFile())
    .sort();
}

async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const { port } = srv.address() as AddressInfo;
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}

async function waitReady(baseUrl: string, orthanc: ChildProcess, stderr: () => string, bridge: ChildProcess, bridgeErr: () => string): Promise<void> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (orthanc.exitCode !== null) throw new AppError('STACK_ORTHANC_START', `Orthanc exited with code ${orthanc.exitCode}: ${stderr().slice(-800)}`);
    if (bridge.exitCode !== null) throw new AppError('STACK_ORTHANC_START', `The socat bridge to Orthanc exited with code ${bridge.exitCode}: ${bridgeErr().slice(-400)}`);
    try {
      const res = await fetch(`${baseUrl}/system`, { signal: AbortSignal.timeout(2000) });
      if (res.ok) {
        await res.arrayBuffer();
        return;
      }
    } catch {
      // not up yet
    }
    if (Date.now() > deadline) throw new AppError('STACK_ORTHANC_START', `Orthanc did not answer within 30 s: ${stderr().slice(-800)}`);
    await delay(100);
  }
}

async function killGroup(p: ChildProcess): Promise<void> {
  if (p.exitCode !== null || p.signalCode !== null || p.pid === undefined) return;
  const exited = new Promise<void>((r) => p.once('exit', () => r()));
  try {
    process.kill(-p.pid, 'SIGTERM');
  } catch {
    return;
  }
  const t = setTimeout(() => {
    try {
      process.kill(-p.pid!, 'SIGKILL');
    } catch {
      // already gone
    }
  }, 5000);
  await exited;
  clearTimeout(t);
}

function delay(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
