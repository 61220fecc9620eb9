/**
 * The CLI's slide commands on a DICOMweb series, as a user runs them: `login --no-browser`
 * against the real stack, then `info` and `tile` on dicomweb://<archive>/studies/…/series/…,
 * where the archive is Orthanc behind the HealthImaging-style token gate and the CLI
 * sends the signed-in user's resource token (the app's own wiring, main/app/dicomweb.ts).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { decodeJpeg } from '../../../main/formats/codecs/decode.js';
import { dicomwebSeriesUri } from '../../../main/sources/dicomweb/address.js';
import { DicomwebClient } from '../../../main/sources/dicomweb/client.js';
import { launchChromium } from '../../stack/browser-login.js';
import { orthancUnavailable } from '../../stack/orthanc.js';
import { startStack, type RunningStack } from '../../stack/stack.js';
import { loginNoBrowser, runCli, type CliRun } from './run-cli.js';


const unavailable = orthancUnavailable();
const skip = unavailable?.kind === 'netns' ? unavailable.reason : false;

describe('slide-workstation CLI on a DICOMweb series', { skip }, () => {
  let stack: RunningStack;
  let browser: Browser;
  let dir: string;
  let config: string;

  before(async () => {
    stack = await startStack({ seedSharedTestdata: false, dicomweb: true });
    browser = await launchChromium();
    dir = mkdtempSync(join(tmpdir(), 'cli-dicomweb-'));
    const settings = JSON.parse(readFileSync(stack.configFile, 'utf8')) as Record<string, unknown>;
    settings.secrets = { store: 'file' };
    settings.auth = { ...(settings.auth as object), timeoutSeconds: 60 };
    settings.paths = { data: join(dir, 'data'), cache: join(dir, 'cache') };
    config = join(dir, 'config.json');
    writeFileSync(config, JSON.stringify(settings));
  });
  after(async () => {
    await browser?.close();
    await stack?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const cli = (args: string[]): Promise<CliRun> => runCli(args, { config });

  it('info and tile read the series with the signed-in user\'s token', async () => {
    const alice = stack.users.find((u) => u.username === 'alice')!;
    const signedIn = await loginNoBrowser(browser, alice, { config });
    assert.equal(signedIn.code, 0, signedIn.stderr);

    // The test finds the CMU pyramid with a token of its own; the CLI then reads it with alice's.
    const dw = stack.dicomweb!;
    const now = Math.floor(Date.now() / 1000);
    const token = await stack.idp.signJwt({ iss: stack.issuer, aud: dw.audience, sub: 'test', groups: ['pathology'], iat: now, exp: now + 600 });
    const qido = new DicomwebClient({ root: dw.root, token: { getAccessToken: async () => token } });
    let uri: string | undefined;
    for (const s of await qido.searchSeries()) {
      const md = await qido.seriesMetadata(s.studyInstanceUid, s.seriesInstanceUid);
      if (md.length >= 12 && md.some((m) => m['00480006']?.Value?.[0] === 2220)) uri = dicomwebSeriesUri(dw.name, s.studyInstanceUid, s.seriesInstanceUid);
    }
    assert.ok(uri, 'the archive holds the CMU-1-Small-Region pyramid');

    const info = await cli(['info', uri]);
    assert.equal(info.code, 0, info.stderr);
    const d = JSON.parse(info.stdout) as { format: string; levels: { width: number; height: number }[] };
    assert.equal(d.format, 'dicomweb');
    assert.deepEqual([d.levels[0]!.width, d.levels[0]!.height], [2220, 2967]);

    const out = join(dir, 'tile.jpg');
    const tile = await cli(['tile', uri, '0', '1', '1', '-o', out]);
    assert.equal(tile.code, 0, tile.stderr);
    const image = decodeJpeg(new Uint8Array(readFileSync(out)));
    assert.deepEqual([image.width, image.height], [500, 500]);

    const missing = await cli(['info', dicomwebSeriesUri('nowhere', '1.2.3', '4.5.6')]);
    assert.notEqual(missing.code, 0);
    assert.match(missing.stderr, /SOURCE_UNKNOWN_ARCHIVE/);
  });
});
