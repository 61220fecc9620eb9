import type { StorageEntry } from '../../../main/api/contract.js';
import { formatDate } from '../format';
import type { RecentSlide } from '../recent';

/** The slides this user opened last, newest first: one click back to yesterday's case. */
export function RecentSlides(props: { slides: RecentSlide[]; onOpen: (entry: StorageEntry) => void }) {
  if (props.slides.length === 0) return null;
  return (
    <nav className="recent" aria-label="Recent slides" data-testid="recent-slides">
      <span className="recent-label">Recent</span>
      {props.slides.map((r) => (
        <button
          key={r.uri}
          className="recent-item"
          title={`${r.uri}\nOpened ${formatDate(new Date(r.openedAt).toISOString())}`}
          data-testid="recent-slide"
          onClick={() => props.onOpen({ kind: 'file', name: r.name, uri: r.uri, slide: true })}
        >
          {r.name}
        </button>
      ))}
    </nav>
  );
}
