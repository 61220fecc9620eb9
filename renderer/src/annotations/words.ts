/** Words for a slide's sync state (the badge beside the annotations). */
import type { AnnotationSyncState } from '../../../main/api/contract.js';

export function syncWords(s: AnnotationSyncState): string {
  switch (s.status) {
    case 'synced':
      return 'Saved to storage';
    case 'pending':
      return `${s.pending} change${s.pending === 1 ? '' : 's'} waiting`;
    case 'conflict':
      return `${s.conflicts} conflict cop${s.conflicts === 1 ? 'y' : 'ies'} kept`;
    case 'offline':
      return 'Offline: kept on this computer';
    case 'denied':
      return 'Not allowed to save to storage: kept on this computer';
    case 'local-only':
      return 'Kept on this computer';
  }
}
