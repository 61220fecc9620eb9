/**
 * multipart/related parser for WADO-RS frame responses (RFC 2046 §5.1, PS3.18 §8.7.3).
 * The whole body is in memory (frames are tens of KB; a batch a few MB), so parts are
 * cut by their Content-Length when present and valid, else by the next delimiter.
 * Part bodies are returned as sent: a DICOM fragment's even-length pad byte (a JPEG
 * ending FFD9 00) is kept, decoders ignore it and byte comparisons with the stored
 * fragment stay exact. Preamble and epilogue are ignored, as the RFC asks.
 */
import { type AppError } from '../../common/errors.js';
import { dicomwebErrors } from './errors.js';

export interface MultipartPart {
  headers: Record<string, string>;
  /** Content-Type of the part, lower-cased media type only (`image/jpeg`). */
  mediaType: string;
  /** `transfer-syntax` parameter of the part's Content-Type, when given. */
  transferSyntax: string | undefined;
  body: Uint8Array;
}

/** Parameters of a Content-Type value; quoted values unquoted, names lower-cased. */
export function parseContentType(value: string): { mediaType: string; params: Record<string, string> } {
  const [type = '', ...rest] = splitParams(value);
  const params: Record<string, string> = {};
  for (const p of rest) {
    const eq = p.indexOf('=');
    if (eq <= 0) continue;
    let v = p.slice(eq + 1).trim();
    if (v.startsWith('"') && v.endsWith('"') && v.length >= 2) v = v.slice(1, -1).replace(/\\(.)/g, '$1');
    params[p.slice(0, eq).trim().toLowerCase()] = v;
  }
  return { mediaType: type.trim().toLowerCase(), params };
}

/** Split on `;` outside quotes. */
function splitParams(value: string): string[] {
  const out: string[] = [];
  let cur = '';
  let quoted = false;
  for (let i = 0; i < value.length; i++) {
    const c = value[i]!;
    if (c === '"' && value[i - 1] !== '\\') quoted = !quoted;
    if (c === ';' && !quoted) {
      out.push(cur);
      cur = '';
    } else cur += c;
  }
  out.push(cur);
  return out;
}

export function parseMultipart(contentType: string, body: Uint8Array): MultipartPart[] {
  const { mediaType, params } = parseContentType(contentType);
  if (!mediaType.startsWith('multipart/')) throw bad(`the answer is ${mediaType || 'untyped'}, not multipart`);
  const boundary = params['boundary'];
  if (!boundary || boundary.length > 200) throw bad('the multipart answer has no boundary');
  const delim = ascii(`--${boundary}`);
  const parts: MultipartPart[] = [];
  let pos = findDelimiter(body, delim, 0);
  if (pos < 0) throw bad('the multipart answer has no part');
  for (;;) {
    let p = pos + delim.length;
    if (body[p] === 0x2d && body[p + 1] === 0x2d) break; // close delimiter
    // Transport padding, then CRLF (a bare LF tolerated).
    while (body[p] === 0x20 || body[p] === 0x09) p++;
    if (body[p] === 0x0d) p++;
    if (body[p] !== 0x0a) throw bad('a multipart delimiter is not followed by a line break');
    p++;
    const headerEnd = findHeaderEnd(body, p);
    if (headerEnd === -1) throw bad('a part has no end of headers');
    const headers = parseHeaders(new TextDecoder('latin1').decode(body.subarray(p, headerEnd.at)));
    const start = headerEnd.at + headerEnd.length;
    const declared = Number(headers['content-length']);
    let end: number;
    let next: number;
    if (Number.isSafeInteger(declared) && declared >= 0 && start + declared <= body.length && startsWithDelimiter(body, start + declared, delim)) {
      end = start + declared;
      next = findDelimiter(body, delim, end);
    } else {
      next = findDelimiter(body, delim, start);
      if (next < 0) throw bad('a part is cut short (no closing delimiter)');
      end = next;
      // The CRLF before a delimiter belongs to the delimiter.
      if (body[end - 1] === 0x0a) end--;
      if (body[end - 1] === 0x0d) end--;
    }
    const ct = parseContentType(headers['content-type'] ?? 'text/plain');
    parts.push({ headers, mediaType: ct.mediaType, transferSyntax: ct.params['transfer-syntax'], body: body.subarray(start, end) });
    if (next < 0) throw bad('the multipart answer has no closing delimiter');
    pos = next;
  }
  return parts;
}

function startsWithDelimiter(b: Uint8Array, at: number, delim: Uint8Array): boolean {
  let p = at;
  if (b[p] === 0x0d) p++;
  if (b[p] === 0x0a) p++;
  for (let i = 0; i < delim.length; i++) if (b[p + i] !== delim[i]) return false;
  return true;
}

function findHeaderEnd(b: Uint8Array, from: number): { at: number; length: number } | -1 {
  // An empty header block: the body starts right after the delimiter line.
  if (b[from] === 0x0d && b[from + 1] === 0x0a) return { at: from, length: 2 };
  for (let i = from; i + 1 < b.length; i++) {
    if (b[i] === 0x0a && b[i + 1] === 0x0a) return { at: i, length: 2 };
    if (b[i] === 0x0d && b[i + 1] === 0x0a && b[i + 2] === 0x0d && b[i + 3] === 0x0a) return { at: i, length: 4 };
  }
  return -1;
}

function parseHeaders(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split(/\r?\n/)) {
    const c = line.indexOf(':');
    if (c > 0) out[line.slice(0, c).trim().toLowerCase()] = line.slice(c + 1).trim();
  }
  return out;
}

/** A delimiter counts only at the start of a line (RFC 2046: CRLF belongs to it). */
function findDelimiter(body: Uint8Array, delim: Uint8Array, from: number): number {
  for (let at = indexOf(body, delim, from); at >= 0; at = indexOf(body, delim, at + 1)) {
    if (at === 0 || body[at - 1] === 0x0a) return at;
  }
  return -1;
}

function indexOf(hay: Uint8Array, needle: Uint8Array, from: number): number {
  return Buffer.from(hay.buffer, hay.byteOffset, hay.byteLength).indexOf(needle, from);
}

function ascii(s: string): Uint8Array {
  return Uint8Array.from(s, (c) => c.charCodeAt(0));
}

function bad(what: string): AppError {
  return dicomwebErrors.make('DICOMWEB_BAD_RESPONSE', `The DICOMweb server sent an answer the app cannot read: ${what}.`, {
    hint: 'The archive may not support multipart frame retrieval (WADO-RS). Report this with the archive product and version.',
  });
}
