/**
 * The tile cache's tables. The cache is disposable: a schema change bumps VERSION and
 * the old file is simply replaced, never migrated (nothing in it is the user's work).
 */
export const SCHEMA_VERSION = 1;

export const SCHEMA_SQL = `
CREATE TABLE IF NOT EXISTS meta (
  key TEXT PRIMARY KEY,
  value TEXT NOT NULL
);
-- One row per version of a slide object: the identity is uri + etag, so a replaced
-- object gets a new row and the old one (with its tiles) is dropped on the next open.
-- AUTOINCREMENT: a dropped version's id must never be reused, or a handle still open
-- on the old version could write its tiles under the new one.
CREATE TABLE IF NOT EXISTS slides (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  uri TEXT NOT NULL,
  etag TEXT NOT NULL,
  descriptor TEXT,
  last_access INTEGER NOT NULL,
  pinned INTEGER NOT NULL DEFAULT 0,
  pin_spec TEXT,
  UNIQUE (uri, etag)
);
-- A rowid table (not WITHOUT ROWID): blobs of tens of KiB belong in overflow pages,
-- and the blob is the last column so metadata reads never touch them.
CREATE TABLE IF NOT EXISTS tiles (
  id INTEGER PRIMARY KEY,
  slide_id INTEGER NOT NULL REFERENCES slides(id) ON DELETE CASCADE,
  level INTEGER NOT NULL,
  col INTEGER NOT NULL,
  row INTEGER NOT NULL,
  plane INTEGER NOT NULL,
  mime TEXT NOT NULL,
  encoding TEXT NOT NULL,
  width INTEGER NOT NULL,
  height INTEGER NOT NULL,
  size INTEGER NOT NULL,
  crc INTEGER NOT NULL,
  last_access INTEGER NOT NULL,
  blob BLOB NOT NULL,
  UNIQUE (slide_id, level, col, row, plane)
);
CREATE INDEX IF NOT EXISTS tiles_lru ON tiles (last_access);
CREATE TABLE IF NOT EXISTS pin_jobs (
  slide_id INTEGER PRIMARY KEY REFERENCES slides(id) ON DELETE CASCADE,
  uri TEXT NOT NULL,
  spec TEXT NOT NULL,
  state TEXT NOT NULL,
  done INTEGER NOT NULL DEFAULT 0,
  total INTEGER NOT NULL DEFAULT 0,
  bytes INTEGER NOT NULL DEFAULT 0,
  error TEXT,
  updated INTEGER NOT NULL
);
`;
