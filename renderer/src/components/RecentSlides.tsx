import { useState } from 'react';
import type { ApiError, StorageEntry } from '../../../main/api/contract.js';
import { api, asApiError } from '../api';
import { formatDate } from '../format';
import type { RecentSlide } from '../recent';
import { ErrorPanel } from './ErrorPanel';

/**
 * Above the storage browser: "Open local slide…" (where the host has a file dialog) and
 * the slides this user opened last, newest first: one click back to yesterday's case.
 */
export function RecentSlides(props: { slides: RecentSlide[]; fileDialog: boolean; onOpen: (entry: StorageEntry) => void; onSignIn: () => void }) {
  const [error, setError] = useState<ApiError | undefined>();
  const [picking, setPicking] = useState(false);
  if (props.slides.length === 0 && !props.fileDialog) return null;
  const pickLocal = (): void => {
    setPicking(true);
    setError(undefined);
    api
      .call('slides.pickLocal')
      .then((entry) => entry && props.onOpen(entry), (err: unknown) => setError(asApiError(err)))
      .finally(() => setPicking(false));
  };
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
