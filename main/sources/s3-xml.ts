/**
 * The S3 XML the client reads: ListObjectsV2 results and error bodies. Pure, so the
 * shapes (single vs repeated elements, numeric-looking keys) are unit-tested.
 */
import { XMLParser } from 'fast-xml-parser';
import { sourceErrors } from './errors.js';

const parser = new XMLParser({
  ignoreAttributes: true,
  // Keys such as "001" or "1e3" must stay strings.
  parseTagValue: false,
  trimValues: false,
  removeNSPrefix: true,
  isArray: (name) => name === 'Contents' || name === 'CommonPrefixes',
});

type Xml = Record<string, unknown>;
const obj = (v: unknown): Xml | undefined => (typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Xml) : undefined);
const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : typeof v === 'number' ? String(v) : undefined);

export interface S3Object {
  key: string;
  size: number;
  lastModified: string | undefined;
  etag: string | undefined;
}

export interface ListObjectsV2Page {
  prefixes: string[];
  objects: S3Object[];
  isTruncated: boolean;
  nextContinuationToken: string | undefined;
}

export function parseListObjectsV2(xml: string): ListObjectsV2Page {
  let root: Xml | undefined;
  try {
    root = obj((parser.parse(xml) as Xml).ListBucketResult);
  } catch (err) {
    throw sourceErrors.make('SOURCE_BAD_RESPONSE', 'Storage returned a folder listing the workstation cannot read.', { cause: err });
  }
  if (!root) throw sourceErrors.make('SOURCE_BAD_RESPONSE', 'Storage returned something other than a folder listing.', { details: { start: xml.slice(0, 200) } });
  const prefixes = ((root.CommonPrefixes as unknown[] | undefined) ?? []).map((p) => str(obj(p)?.Prefix)).filter((p): p is string => !!p);
  const objects = ((root.Contents as unknown[] | undefined) ?? []).flatMap((c): S3Object[] => {
    const o = obj(c);
    const key = str(o?.Key);
    if (!o || key === undefined) return [];
    const size = Number(str(o.Size) ?? NaN);
    return [{ key, size: Number.isFinite(size) ? size : 0, lastModified: str(o.LastModified), etag: str(o.ETag) }];
  });
  const truncated = str(root.IsTruncated)?.trim() === 'true';
  const token = str(root.NextContinuationToken);
  return { prefixes, objects, isTruncated: truncated, nextContinuationToken: truncated && token ? token : undefined };
}

export interface S3ErrorBody {
  code: string | undefined;
  message: string | undefined;
}

export function parseS3Error(xml: string): S3ErrorBody {
  if (!xml.trim()) return { code: undefined, message: undefined };
  try {
    const e = obj((parser.parse(xml) as Xml).Error);
    return { code: str(e?.Code)?.trim(), message: str(e?.Message)?.trim() };
  } catch {
    return { code: undefined, message: undefined };
  }
}

/** Codes meaning "these temporary credentials are no good any more": renew once, retry once. */
export const RENEWABLE_CODES = new Set(['ExpiredToken', 'InvalidToken', 'TokenRefreshRequired', 'InvalidAccessKeyId', 'ExpiredTokenException']);

