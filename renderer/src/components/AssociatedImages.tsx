/**
 * The slide's label and macro (overview photo of the glass), as a pathologist checks them
 * against the request form before reading: served by main from the slide itself, never
 * fetched from storage by the page. Click to see one at full size.
 */
import { useState } from 'react';
import type { OpenedSlide } from '../../../main/api/contract.js';

/** What a reader wants first: the label (patient/case), then the glass overview. */
const ORDER = ['label', 'macro', 'overview', 'thumbnail'];

export function associatedUrl(slide: OpenedSlide, name: string): string {
  return slide.tileUrlTemplate.replace('{level}/{col}/{row}', `associated/${encodeURIComponent(name)}`);
}

export function AssociatedImages(props: { slide: OpenedSlide }) {
  const [large, setLarge] = useState<string | undefined>();
  const [failed, setFailed] = useState<Set<string>>(new Set());
  const images = props.slide.summary.associated
    .filter((a) => ORDER.includes(a.name))
    .sort((a, b) => ORDER.indexOf(a.name) - ORDER.indexOf(b.name))
    // The thumbnail only when there is nothing better: the navigator already shows the slide.
    .filter((a, _, all) => a.name !== 'thumbnail' || all.length === 1);
  if (images.length === 0) return null;
  return (
    <section className="associated" aria-label="Label and overview" data-testid="associated-images">
      {images.map((a) => (
        <figure key={a.name} className="associated-item">
          {failed.has(a.name) ? (
            <div className="associated-missing muted">Could not be loaded</div>
          ) : (
            <button className="associated-button" title={`Show the ${a.name} at full size`} onClick={() => setLarge(a.name)}>
              <img
                src={associatedUrl(props.slide, a.name)}
                alt={`${a.name} image of the slide`}
                data-testid={`associated-${a.name}`}
                onError={() => setFailed((f) => new Set(f).add(a.name))}
              />
            </button>
          )}
          <figcaption>
            {a.name} · {a.width}×{a.height}
          </figcaption>
        </figure>
      ))}
      {large ? (
        <div className="overlay" role="dialog" aria-label={`The ${large} image`} data-testid="associated-large" onClick={() => setLarge(undefined)}>
          <img className="associated-full" src={associatedUrl(props.slide, large)} alt={`${large} image of the slide, full size`} />
        </div>
      ) : null}
    </section>
  );
}
