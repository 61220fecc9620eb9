/**
 * What the storage browser shows while storage cannot be reached: that the app is
 * offline, in words, and the slides this computer can still show: pinned ones in full,
 * others (viewed before, or a download that did not finish) marked as partial, since the
 * parts not viewed before will be missing.
 */
import { useEffect, useState } from 'react';
import type { ConnectivityState, OfflineSlide, StorageEntry } from '../../../main/api/contract.js';
import { api } from '../api';
import { formatSize, formatTime } from '../format';
import { pinExtentText } from '../offline';
import { entryFor } from './OfflineManager';

export function OfflineSlides(props: { state: ConnectivityState; onOpenSlide: (entry: StorageEntry) => void; onManage?: () => void }) {
  const [slides, setSlides] = useState<OfflineSlide[] | undefined>();
  const [checking, setChecking] = useState(false);

  useEffect(() => {
    let live = true;
    api.call('offline.slides').then(
      (s) => live && setSlides(s),
      () => live && setSlides([]),
    );
    return () => {
      live = false;
    };
  }, []);

  const check = (): void => {
    setChecking(true);
    // Coming back online arrives as connectivity.changed; the answer needs no handling.
    api
      .call('offline.check')
      .catch(() => undefined)
      .finally(() => setChecking(false));
  };

  return (
    <section className="offline-slides" data-testid="offline-slides" aria-labelledby="offline-title">
      <div className="offline-banner" role="status" data-testid="offline-banner">
        <div>
          <h2 id="offline-title">You are offline</h2>
          <p>
            Storage cannot be reached{props.state.reason ? ` (${props.state.reason})` : ''} since {formatTime(props.state.since)}. The workstation keeps
            checking and goes back online by itself. Meanwhile, the slides kept on this computer can still be opened.
          </p>
        </div>
        <div className="offline-actions">
          <button className="btn" data-testid="offline-check" disabled={checking} onClick={check}>
            {checking ? 'Checking…' : 'Try again'}
          </button>
          {props.onManage ? (
            <button className="btn btn-quiet" data-testid="offline-manage" onClick={props.onManage}>
              Manage offline slides
            </button>
          ) : null}
        </div>
      </div>
      {slides === undefined ? (
        <p className="muted">Loading…</p>
      ) : slides.length === 0 ? (
        <p className="empty" data-testid="offline-empty">
          No slides are kept on this computer. While connected, open a slide and choose “Available offline…” to read it without a network.
        </p>
      ) : (
        <table className="listing" data-testid="offline-list">
          <thead>
            <tr>
              <th className="col-name">Slides on this computer</th>
              <th>Available</th>
              <th className="col-size">Size</th>
            </tr>
          </thead>
          <tbody>
            {slides.map((s) => (
              <tr key={s.uri} className="entry entry-slide" data-testid="offline-entry" data-name={s.name} data-uri={s.uri} data-availability={s.availability}>
                <td className="col-name">
                  <span className="icon icon-slide" aria-hidden="true" />
                  <button className="name link" data-testid="open-slide" title={`Open ${s.uri}`} onClick={() => props.onOpenSlide(entryFor(s.uri, s.name))}>
                    {s.name}
                  </button>
                  <span className="muted offline-where">{s.uri.slice(0, s.uri.lastIndexOf('/') + 1)}</span>
                </td>
                <td>
                  {s.availability === 'full' ? (
                    <span className="chip" data-testid="availability">
                      Available offline, {pinExtentText(s.minDownsample)}
                    </span>
                  ) : (
                    <span className="chip chip-warn" data-testid="availability" title="Only the parts viewed or downloaded before are on this computer">
                      {s.pinned ? `Partial: download ${s.pinState === 'error' ? 'stopped' : s.pinState === 'running' ? 'not finished' : 'paused'}` : 'Partial: only parts viewed before'}
                    </span>
                  )}
                </td>
                <td className="col-size">{formatSize(s.bytes)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
