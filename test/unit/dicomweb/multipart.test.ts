import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseContentType, parseMultipart } from '../../../main/sources/dicomweb/multipart.js';
import { isAppError } from '../../../main/common/errors.js';

const enc = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s, 'latin1'));
const jpeg = (n: number): Buffer => Buffer.concat([Buffer.from([0xff, 0xd8]), Buffer.alloc(n, n), Buffer.from([0xff, 0xd9, 0x00])]);

function body(boundary: string, parts: { headers: string[]; data: Buffer }[], opts: { preamble?: string; eol?: string; epilogue?: string } = {}): Uint8Array {
  const eol = opts.eol ?? '\r\n';
  const chunks: Buffer[] = [Buffer.from(opts.preamble ?? '', 'latin1')];
  for (const p of parts) {
    chunks.push(Buffer.from(`--${boundary}${eol}${p.headers.join(eol)}${eol}${eol}`, 'latin1'), p.data, Buffer.from(eol, 'latin1'));
  }
  chunks.push(Buffer.from(`--${boundary}--${eol}${opts.epilogue ?? ''}`, 'latin1'));
  return new Uint8Array(Buffer.concat(chunks));
}

test('content type parameters: quoted, with ; and = inside quotes', () => {
  const ct = parseContentType('multipart/related; type="image/jpeg; transfer-syntax=1.2.840.10008.1.2.4.50"; boundary="a;b=c"');
  assert.equal(ct.mediaType, 'multipart/related');
  assert.equal(ct.params['type'], 'image/jpeg; transfer-syntax=1.2.840.10008.1.2.4.50');
  assert.equal(ct.params['boundary'], 'a;b=c');
});

test('parts with their own headers, the DICOM pad byte kept, Content-Length honoured', () => {
  const frames = [jpeg(10), jpeg(300), jpeg(1)];
  const b = body('XYZ', frames.map((f, i) => ({ headers: [`Content-Type: image/jpeg; transfer-syntax=1.2.840.10008.1.2.4.50`, `Content-Length: ${f.length}`, `Content-Location: /frames/${i + 1}`], data: f })), { preamble: 'ignored preamble\r\n', epilogue: 'trailing junk' });
  const parts = parseMultipart('multipart/related; type="application/octet-stream"; boundary=XYZ', b);
  assert.equal(parts.length, 3);
  parts.forEach((p, i) => {
    assert.equal(p.mediaType, 'image/jpeg');
    assert.equal(p.transferSyntax, '1.2.840.10008.1.2.4.50');
    assert.equal(p.headers['content-location'], `/frames/${i + 1}`);
    assert.deepEqual(Buffer.from(p.body), frames[i]);
  });
});

test('without Content-Length (or a wrong one) parts end at the next delimiter; bare LF tolerated', () => {
  const data = [Buffer.from('first\r\nwith a line break'), Buffer.from([0, 1, 2, 0x2d, 0x2d])];
  const b = body('b1', data.map((d) => ({ headers: ['Content-Type: application/octet-stream'], data: d })), { eol: '\n' });
  assert.deepEqual(parseMultipart('multipart/related; boundary=b1', b).map((p) => Buffer.from(p.body)), data);
  const wrong = body('b2', [{ headers: ['Content-Type: application/octet-stream', 'Content-Length: 3'], data: Buffer.from('longer than three') }]);
  assert.deepEqual(Buffer.from(parseMultipart('multipart/related; boundary=b2', wrong)[0]!.body).toString(), 'longer than three');
});

test('a body containing the boundary text not at a line start is not cut', () => {
  const data = Buffer.from('abc--XYZdef');
  const b = body('XYZ', [{ headers: ['Content-Type: application/octet-stream'], data }]);
  assert.deepEqual(Buffer.from(parseMultipart('multipart/related; boundary=XYZ', b)[0]!.body).toString(), 'abc--XYZdef');
});

test('damaged answers are DICOMWEB_BAD_RESPONSE', () => {
  const bad = (ct: string, b: Uint8Array): void => assert.throws(() => parseMultipart(ct, b), (e) => isAppError(e, 'DICOMWEB_BAD_RESPONSE'));
  bad('application/dicom+json', enc('[]'));
  bad('multipart/related', enc('--x\r\n\r\nabc\r\n--x--'));
  bad('multipart/related; boundary=x', enc('no delimiter at all'));
  bad('multipart/related; boundary=x', enc('--x\r\nContent-Type: image/jpeg\r\n\r\ncut short'));
});
