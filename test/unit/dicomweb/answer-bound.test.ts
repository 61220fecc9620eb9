/**
 * The DICOMweb client reads at most `maxAnswerBytes` of an answer: a broken or hostile
 * archive (or a proxy) streaming far more than was asked is refused with a typed error
 * once the bound is passed, before the rest is in memory. Found by scripts/fuzz-inputs.ts:
 * a metadata answer of a few hundred MB held main for minutes.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { isAppError } from '../../../main/common/errors.js';
import { DicomwebClient } from '../../../main/sources/dicomweb/client.js';

test('metadata and frame answers past the bound are DICOMWEB_BAD_RESPONSE, without reading them whole', async (t) => {
  let written = 0;
  const server = createServer((req, res) => {
    const chunk = Buffer.alloc(64 * 1024, 0x20);
    if (req.url?.endsWith('/metadata')) {
      // No Content-Length: the bound must hold while streaming.
      res.writeHead(200, { 'content-type': 'application/dicom+json' });
      res.write('[');
    } else {
      res.writeHead(200, { 'content-type': 'multipart/related; type="application/octet-stream"; boundary=b', 'content-length': String(64 << 20) });
    }
    const pump = (): void => {
      while (written < 64 << 20) {
        written += chunk.length;
        if (!res.write(chunk)) return void res.once('drain', pump);
      }
      res.end();
    };
    res.on('close', () => undefined);
    pump();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.after(() => new Promise<void>((r) => server.close(() => r())));
  server.closeAllConnections?.();
  const root = `http://127.0.0.1:${(server.address() as AddressInfo).port}/dicom-web`;
  const client = new DicomwebClient({ root, maxAnswerBytes: 1 << 20, retry: { maxAttempts: 1, baseDelayMs: 1, maxDelayMs: 1 } });
  await assert.rejects(client.seriesMetadata('1.2', '3.4'), (e) => isAppError(e, 'DICOMWEB_BAD_RESPONSE') && /larger than 1 MiB/.test(e.message));
  // The client stopped reading: the server did not get to send the whole 64 MiB.
  assert.ok(written < 64 << 20, `the server wrote ${written} bytes`);
  written = 0;
  await assert.rejects(client.frames('1.2', '3.4', '5.6', [1]), (e) => isAppError(e, 'DICOMWEB_BAD_RESPONSE') && /larger than 1 MiB/.test(e.message));
  server.closeAllConnections();
});
