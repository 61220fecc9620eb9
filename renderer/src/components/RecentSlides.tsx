import type { StorageEntry } from '../../../main/api/contract.js';
import { api } from '../api';
import { formatDate } from '../format';
import type { RecentSlide } from '../recent';
import { useApiAction } from '../use-api-action';
import { ErrorPanel } from './ErrorPanel';

/**
 * Above the storage browser: "Open local slide…" (where the host has a file dialog) and
 * the slides this user opened last, newest first: one click back to yesterday's case.
 */
export function RecentSlides(props: { slides: RecentSlide[]; fileDialog: boolean; onOpen: (entry: StorageEntry) => void; onSignIn: () => void }) {
  const { busy: picking, error, run } = useApiAction();
  if (props.slides.length === 0 && !props.fileDialog) return null;
  const pickLocal = (): void =>
    run(async () => {
      const entry = await api.call('slides.pickLocal');
      if (entry) props.onOpen(entry);
    });
  return (
    <>
      <nav className="recent" aria-label="Recent slides" data-testid="recent-slides">
        {props.fileDialog ? (
          <button className="btn" data-testid="open-local" disabled={picking} onClick={pickLocal}>
            Open local slide…
          </button>
        ) : null}
        {props.slides.length ? <span className="recent-label">Recent</span> : null}
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
      {error ? (
        <div className="recent">
          <ErrorPanel error={error} onSignIn={props.onSignIn} testId="open-local-error" />
        </div>
      ) : null}
    </>
  );
}
