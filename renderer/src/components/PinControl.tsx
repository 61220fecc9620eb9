/**
 * "Available offline" in the viewer: choose how deep to keep the slide (every level, or
 * the levels down to a magnification: a 10× copy is a small fraction of a 40× one), then
 * follow the download with a progress bar and pause, resume or cancel it. The state comes
 * from main's pins.changed events, so the offline manager and this control always agree.
 */
import { useMemo, useState } from 'react';
import type { OpenedSlide, PinInfo } from '../../../main/api/contract.js';
import { api } from '../api';
import { formatSize } from '../format';
import { pinExtentText, pinPercent, pinStateText, usePins } from '../offline';
import { extentChoices } from '../offline-format';
import { useApiAction } from '../use-api-action';
import { magnification } from '../viewer/scale';

export function PinControl(props: { slide: OpenedSlide }) {
  const { slide } = props;
  const { pins } = usePins();
  const pin = pins?.find((p) => p.uri === slide.uri);
  const choices = useMemo(() => extentChoices(slide), [slide]);
  const [choosing, setChoosing] = useState(false);
  const [extent, setExtent] = useState(1);
  const { busy, error, run } = useApiAction();

  if (pins === undefined) return null;
  return (
    <div className="pin-control" data-testid="pin-control" data-state={pin?.state ?? 'none'}>
      {pin ? (
        <PinStatus pin={pin} objectivePower={objectivePowerOf(slide)} busy={busy} run={run} />
      ) : choosing ? (
        <div className="pin-choose" role="group" aria-label="Make available offline">
          <label className="pin-extent-label">
            Keep
            <select className="pin-extent" data-testid="pin-extent" value={extent} onChange={(e) => setExtent(Number(e.currentTarget.value))}>
              {choices.map((c) => (
                <option key={c.minDownsample} value={c.minDownsample}>
                  {c.label}
                </option>
              ))}
            </select>
          </label>
          <button
            className="btn btn-primary"
            data-testid="pin-start"
            disabled={busy}
            onClick={() =>
              run(async () => {
                await api.call('pins.add', extent > 1 ? { uri: slide.uri, minDownsample: extent } : { uri: slide.uri });
                setChoosing(false);
              })
            }
          >
            Download
          </button>
          <button className="btn btn-quiet" data-testid="pin-choose-cancel" onClick={() => setChoosing(false)}>
            Not now
          </button>
        </div>
      ) : (
        <button className="btn" data-testid="pin-button" title="Keep a copy on this computer to read the slide without a network" onClick={() => setChoosing(true)}>
          Available offline…
        </button>
      )}
      {error ? (
        <span className="pin-error" role="alert" data-testid="pin-error">
          {error.message}
        </span>
      ) : null}
    </div>
  );
}

function PinStatus(props: { pin: PinInfo; objectivePower: number | undefined; busy: boolean; run: (call: () => Promise<unknown>) => void }) {
  const { pin, run, busy } = props;
  const uri = pin.uri;
  const percent = pinPercent(pin);
  return (
    <div className="pin-status" data-testid="pin-status" data-state={pin.state} data-percent={percent}>
      <span className={`chip pin-chip pin-${pin.state}`} data-testid="pin-status-text" title={`Kept ${pinExtentText(pin.minDownsample, props.objectivePower)}`}>
        {pinStateText(pin)}
      </span>
      {pin.state !== 'done' ? (
        <progress className="pin-progress" data-testid="pin-progress" max={100} value={percent} aria-label="Download for offline use">
          {percent} %
        </progress>
      ) : (
        <span className="muted pin-size">{formatSize(pin.sizeBytes)}</span>
      )}
      {pin.state === 'running' ? (
        <button className="btn" data-testid="pin-pause" disabled={busy} onClick={() => run(() => api.call('pins.pause', { uri }))}>
          Pause
        </button>
      ) : pin.state === 'paused' || pin.state === 'error' ? (
        <button className="btn" data-testid="pin-resume" disabled={busy} onClick={() => run(() => api.call('pins.resume', { uri }))}>
          Resume
        </button>
      ) : null}
      <button
        className="btn btn-quiet"
        data-testid={pin.state === 'done' ? 'pin-remove' : 'pin-cancel'}
        disabled={busy}
        title={pin.state === 'done' ? 'No longer keep this slide for offline use' : 'Stop downloading and do not keep this slide offline'}
        onClick={() => run(() => api.call('pins.remove', { uri }))}
      >
        {pin.state === 'done' ? 'Don’t keep offline' : 'Cancel'}
      </button>
    </div>
  );
}

/** The magnification of level 0, for "down to 10×" texts. */
export function objectivePowerOf(slide: OpenedSlide): number | undefined {
  return magnification(slide.summary.mpp?.x, slide.summary.objectivePower, 1);
}
