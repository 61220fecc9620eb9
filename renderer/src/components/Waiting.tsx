import { useState } from 'react';

export function Waiting(props: { organisation: string; authorizationUrl: string | undefined; onCancel: () => void }) {
  const [showLink, setShowLink] = useState(false);
  const [copied, setCopied] = useState(false);
  const copy = async (): Promise<void> => {
    if (!props.authorizationUrl) return;
    try {
      await navigator.clipboard.writeText(props.authorizationUrl);
      setCopied(true);
    } catch {
      // Clipboard refused (permissions): the link is shown selectable below anyway.
      setShowLink(true);
    }
  };
  return (
    <main className="centre">
      <section className="card signin" data-testid="waiting-screen">
        <div className="spinner" aria-hidden="true" />
        <h1>Finish signing in in your browser</h1>
        <p className="muted">
          A browser window has opened at the {props.organisation} sign-in page. Come back here when it says you are signed in.
        </p>
        <div className="row">
          <button className="btn" data-testid="cancel-signin" onClick={props.onCancel}>
            Cancel
          </button>
          <button className="btn btn-link" data-testid="show-link" onClick={() => setShowLink(true)} disabled={!props.authorizationUrl}>
            No browser? Copy the link
          </button>
        </div>
        {showLink && props.authorizationUrl ? (
          <div className="link-box">
            <p className="small muted">Open this link in a browser on this computer:</p>
            <input className="link-input" data-testid="authorization-url" readOnly value={props.authorizationUrl} onFocus={(e) => e.currentTarget.select()} />
            <button className="btn" data-testid="copy-link" onClick={() => void copy()}>
              {copied ? 'Copied' : 'Copy'}
            </button>
          </div>
        ) : null}
      </section>
    </main>
  );
}
