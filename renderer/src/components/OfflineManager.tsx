/**
 * The offline manager: the slides kept on this computer (with their downloads' progress,
 * pause/resume/cancel), how much of the cache is used against its budget, the budget
 * itself (read-only when IT policy sets it) and "Clear cache", which keeps the offline
 * slides unless the pathologist ticks the box.
 */
import { useState } from 'react';
import type { CacheUsage, PinInfo, StorageEntry } from '../../../main/api/contract.js';
import { api } from '../api';
import { formatSize } from '../format';
import { pinExtentText, pinPercent, pinStateText, useCacheUsage, useConnectivity, usePins } from '../offline';
import { useApiAction } from '../use-api-action';
import { ErrorPanel } from './ErrorPanel';

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;

export function OfflineManager(props: { onClose: () => void; onOpenSlide: (entry: StorageEntry) => void }) {
  const { pins } = usePins();
  const { usage, setUsage } = useCacheUsage(pins);
  const connectivity = useConnectivity();
  const { busy, error, run } = useApiAction();

  return (
    <main className="browser offline-manager" data-testid="offline-manager">
      <div className="toolbar">
        <h1 className="page-title">Offline slides and cache</h1>
        <button className="btn" data-testid="offline-manager-close" onClick={props.onClose}>
          ← Back to storage
        </button>
      </div>
      {connectivity?.status === 'offline' ? (
        <p className="offline-note" data-testid="offline-manager-offline">
          Storage cannot be reached: you are working offline. Downloads continue when the network is back.
        </p>
      ) : null}
      {error ? <ErrorPanel error={error} testId="offline-manager-error" /> : null}

      <section className="panel" aria-labelledby="pins-title">
        <h2 id="pins-title">Available offline</h2>
        {pins === undefined ? (
          <p className="muted">Loading…</p>
        ) : pins.length === 0 ? (
          <p className="muted" data-testid="pins-empty">
            No slides are kept for offline use. Open a slide and choose “Available offline…” to keep a copy on this computer.
          </p>
        ) : (
          <table className="listing" data-testid="pins">
            <thead>
              <tr>
                <th className="col-name">Slide</th>
                <th>Kept</th>
                <th>Status</th>
                <th className="col-size">On disk</th>
                <th aria-label="Actions" />
              </tr>
            </thead>
            <tbody>
              {pins.map((p) => (
                <PinRow key={p.uri} pin={p} busy={busy} run={run} onOpen={() => props.onOpenSlide(entryFor(p.uri, p.name))} />
              ))}
            </tbody>
          </table>
        )}
      </section>

      <section className="panel" aria-labelledby="cache-title">
        <h2 id="cache-title">Cache on this computer</h2>
        {usage ? <Usage usage={usage} busy={busy} run={run} setUsage={setUsage} /> : <p className="muted">Loading…</p>}
      </section>
    </main>
  );
}

function PinRow(props: { pin: PinInfo; busy: boolean; run: (call: () => Promise<unknown>) => void; onOpen: () => void }) {
  const { pin, busy, run } = props;
  const uri = pin.uri;
  const percent = pinPercent(pin);
  return (
    <tr className="entry" data-testid="pin-row" data-uri={uri} data-state={pin.state} data-percent={percent}>
      <td className="col-name">
        <span className="icon icon-slide" aria-hidden="true" />
        <button className="name link" data-testid="pin-open" title={uri} onClick={props.onOpen}>
          {pin.name}
        </button>
      </td>
      <td>{pinExtentText(pin.minDownsample)}</td>
      <td className="pin-cell">
        <span data-testid="pin-row-status">{pinStateText(pin)}</span>
        {pin.state !== 'done' ? (
          <progress className="pin-progress" max={100} value={percent} aria-label={`Download of ${pin.name}`}>
            {percent} %
          </progress>
        ) : null}
      </td>
      <td className="col-size" data-testid="pin-size">
        {formatSize(pin.sizeBytes)}
      </td>
      <td className="pin-actions">
        {pin.state === 'running' ? (
          <button className="btn" disabled={busy} data-testid="pin-row-pause" onClick={() => run(() => api.call('pins.pause', { uri }))}>
            Pause
          </button>
        ) : pin.state === 'paused' || pin.state === 'error' ? (
          <button className="btn" disabled={busy} data-testid="pin-row-resume" onClick={() => run(() => api.call('pins.resume', { uri }))}>
            Resume
          </button>
        ) : null}
        <button className="btn btn-quiet" disabled={busy} data-testid="pin-row-remove" onClick={() => run(() => api.call('pins.remove', { uri }))}>
          {pin.state === 'done' ? 'Don’t keep offline' : 'Cancel'}
        </button>
      </td>
    </tr>
  );
}

function Usage(props: { usage: CacheUsage; busy: boolean; run: (call: () => Promise<unknown>) => void; setUsage: (u: CacheUsage) => void }) {
  const { usage, busy, run, setUsage } = props;
  const [confirming, setConfirming] = useState(false);
  const [includePinned, setIncludePinned] = useState(false);
  const [budgetGiB, setBudgetGiB] = useState(() => String(Number((usage.budget / GiB).toFixed(2))));
  const budgetMiB = Math.round(Number(budgetGiB) * 1024);
  return (
    <div className="cache-usage" data-testid="cache-usage" data-bytes={usage.bytes} data-pinned-bytes={usage.pinnedBytes} data-budget={usage.budget}>
      {usage.state === 'disabled' ? (
        <p className="error-message" data-testid="cache-disabled">
          The cache is turned off{usage.error ? `: ${usage.error.message}` : ''}. Slides still open, but nothing is kept for offline use.
        </p>
      ) : null}
      <meter className="cache-meter" min={0} max={Math.max(usage.budget, usage.bytes)} value={usage.bytes} aria-label="Cache used of its size limit" />
      <p data-testid="cache-usage-text">
        {formatSize(usage.bytes)} used of {formatSize(usage.budget)} ({usage.entries.toLocaleString('en')} tiles). Offline slides take{' '}
        {formatSize(usage.pinnedBytes)} ({usage.pinnedSlides} slide{usage.pinnedSlides === 1 ? '' : 's'}); they are never removed to make room, so the
        cache may grow past its limit by that much.
      </p>
      <div className="cache-budget">
        <label>
          Size limit (GB){' '}
          <input
            className="budget-input"
            data-testid="budget-input"
            type="number"
            min={0.0625}
            step={0.5}
            value={budgetGiB}
            disabled={usage.budgetLocked || busy}
            onChange={(e) => setBudgetGiB(e.currentTarget.value)}
          />
        </label>
        {usage.budgetLocked ? (
          <span className="muted" data-testid="budget-locked">
            Set by your organisation.
          </span>
        ) : (
          <button
            className="btn"
            data-testid="budget-save"
            disabled={busy || !(budgetMiB > 0) || budgetMiB * MiB === usage.budget}
            onClick={() => run(async () => setUsage(await api.call('cache.setBudget', { mib: budgetMiB })))}
          >
            Save
          </button>
        )}
      </div>
      <div className="cache-clear">
        {confirming ? (
          <div className="confirm" role="group" aria-label="Confirm clearing the cache">
            <label>
              <input type="checkbox" data-testid="clear-include-pinned" checked={includePinned} onChange={(e) => setIncludePinned(e.currentTarget.checked)} /> Also
              remove the offline slides
            </label>
            <button
              className="btn btn-primary"
              data-testid="clear-confirm"
              disabled={busy}
              onClick={() =>
                run(async () => {
                  setUsage(await api.call('cache.clear', { includePinned }));
                  setConfirming(false);
                  setIncludePinned(false);
                })
              }
            >
              {includePinned ? 'Clear everything' : `Clear ${formatSize(Math.max(0, usage.bytes - usage.pinnedBytes))}`}
            </button>
            <button className="btn btn-quiet" data-testid="clear-keep" onClick={() => setConfirming(false)}>
              Keep
            </button>
          </div>
        ) : (
          <button className="btn" data-testid="clear-cache" disabled={busy || usage.state === 'disabled'} onClick={() => setConfirming(true)}>
            Clear cache…
          </button>
        )}
      </div>
    </div>
  );
}

export function entryFor(uri: string, name: string): StorageEntry {
  return { kind: 'file', name, uri, slide: true };
}
