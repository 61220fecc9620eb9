/**
 * RangeReader over a local file ("Open local slide…", the CLI on a path, tests on
 * ../shared/testdata). The version tag is size + mtime: enough to notice a file that was
 * replaced under an open slide, which the cache must not keep serving.
 */
import { open, type FileHandle } from 'node:fs/promises';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { type AppError, throwIfAborted } from '../common/errors.js';
import type { ByteRange, ObjectIdentity, RangeReader, RangeReadResult } from './types.js';
import { sourceErrors } from './errors.js';

export class FileRangeReader implements RangeReader {
  readonly uri: string;
  readonly path: string;
  #handle: Promise<FileHandle> | undefined;
  #identity: ObjectIdentity | undefined;

  constructor(path: string) {
    this.path = resolve(path);
    this.uri = pathToFileURL(this.path).href;
  }

  #file(): Promise<FileHandle> {
    this.#handle ??= open(this.path, 'r').catch((err: NodeJS.ErrnoException) => {
      this.#handle = undefined;
      throw fileError(err, this.path);
    });
    return this.#handle;
  }

  async stat(signal?: AbortSignal): Promise<ObjectIdentity> {
    throwIfAborted(signal);
    const handle = await this.#file();
    const st = await handle.stat();
    const identity: ObjectIdentity = {
      uri: this.uri,
      size: st.size,
      etag: `${st.size.toString(16)}-${Math.floor(st.mtimeMs).toString(16)}`,
      lastModified: st.mtime.toISOString(),
    };
    if (this.#identity && this.#identity.etag !== identity.etag) {
      throw sourceErrors.make('SOURCE_CHANGED', `The file ${this.path} changed while it was open.`, {
        hint: 'Close the slide and open it again.',
        details: { before: this.#identity.etag, now: identity.etag },
      });
    }
    this.#identity = identity;
    return identity;
  }

  async read(ranges: readonly ByteRange[], signal?: AbortSignal): Promise<RangeReadResult> {
    const identity = this.#identity ?? (await this.stat(signal));
    const handle = await this.#file();
    const buffers: Uint8Array[] = [];
    for (const range of ranges) {
      throwIfAborted(signal);
      if (!Number.isSafeInteger(range.offset) || !Number.isSafeInteger(range.length) || range.offset < 0 || range.length < 0) {
        throw sourceErrors.make('SOURCE_BAD_RANGE', `Invalid byte range ${range.offset}+${range.length}.`, { details: { ...range } });
      }
      const length = Math.max(0, Math.min(range.length, identity.size - range.offset));
      const buffer = new Uint8Array(length);
      let done = 0;
      while (done < length) {
        const { bytesRead } = await handle.read(buffer, done, length - done, range.offset + done);
        if (bytesRead === 0) break; // truncated underneath us; the caller sees a short buffer
        done += bytesRead;
      }
      buffers.push(done === length ? buffer : buffer.subarray(0, done));
    }
    return { buffers, requests: 0 };
  }

  async close(): Promise<void> {
    const handle = this.#handle;
    this.#handle = undefined;
    if (handle) await (await handle).close().catch(() => undefined);
  }
}

function fileError(err: NodeJS.ErrnoException, path: string): AppError {
  if (err.code === 'ENOENT') return sourceErrors.make('SOURCE_NOT_FOUND', `No file at ${path}.`, { cause: err });
  if (err.code === 'EACCES' || err.code === 'EPERM') {
    return sourceErrors.make('SOURCE_ACCESS_DENIED', `You do not have permission to read ${path}.`, { cause: err });
  }
  if (err.code === 'EISDIR') return sourceErrors.make('SOURCE_NOT_A_FILE', `${path} is a folder, not a slide file.`, { cause: err });
  return sourceErrors.make('SOURCE_IO', `Could not read ${path}: ${err.message}`, { cause: err, retryable: true });
}
