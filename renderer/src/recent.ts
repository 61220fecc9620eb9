/**
 * Recent slides, per user, in the renderer's own storage: names and addresses only (a
 * storage address is not a secret and opens nothing without the user's sign-in), so a
 * colleague signing in on the same workstation sees their own list, not this user's.
 */
import type { StorageEntry } from '../../main/api/contract.js';

export const RECENT_LIMIT = 10;

export interface RecentSlide {
  name: string;
  uri: string;
  /** ms since epoch. */
  openedAt: number;
}

const keyOf = (user: string): string => `wsi.recent.v1.${user}`;

export function readRecent(user: string, storage: Storage = localStorage): RecentSlide[] {
  try {
    const parsed: unknown = JSON.parse(storage.getItem(keyOf(user)) ?? '[]');
    if (!Array.isArray(parsed)) return [];
    return parsed.filter(
      (r): r is RecentSlide =>
        typeof r === 'object' && r !== null && typeof (r as RecentSlide).name === 'string' && typeof (r as RecentSlide).uri === 'string' && typeof (r as RecentSlide).openedAt === 'number',
    );
  } catch {
    // A damaged entry (hand-edited, another version) must not break the start screen.
    return [];
  }
}

export function rememberRecent(user: string, entry: Pick<StorageEntry, 'name' | 'uri'>, now = Date.now(), storage: Storage = localStorage): RecentSlide[] {
  const list = [{ name: entry.name, uri: entry.uri, openedAt: now }, ...readRecent(user, storage).filter((r) => r.uri !== entry.uri)].slice(0, RECENT_LIMIT);
  try {
    storage.setItem(keyOf(user), JSON.stringify(list));
  } catch {
    // Storage full or disabled: the list is a convenience, reading slides goes on.
  }
  return list;
}
