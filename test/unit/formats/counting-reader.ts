/** A RangeReader wrapper that counts calls, ranges and bytes: how tests check round trips. */
import type { ByteRange, ObjectIdentity, RangeReader, RangeReadResult } from '../../../main/sources/types.js';

export class CountingReader implements RangeReader {
  reads = 0;
  ranges = 0;
  bytes = 0;
  readonly log: ByteRange[][] = [];
  constructor(readonly inner: RangeReader) {}
  get uri(): string {
    return this.inner.uri;
  }
  stat(signal?: AbortSignal): Promise<ObjectIdentity> {
    return this.inner.stat(signal);
  }
  async read(ranges: readonly ByteRange[], signal?: AbortSignal): Promise<RangeReadResult> {
    this.reads++;
    this.ranges += ranges.length;
    this.log.push([...ranges]);
    const r = await this.inner.read(ranges, signal);
    for (const b of r.buffers) this.bytes += b.length;
    return r;
  }
  reset(): void {
    this.reads = 0;
    this.ranges = 0;
    this.bytes = 0;
    this.log.length = 0;
  }
  close(): Promise<void> {
    return this.inner.close();
  }
}
