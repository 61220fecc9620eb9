import type { ApiError } from '../../../main/api/contract.js';
import { describeError } from '../errors';

export function ErrorPanel(props: { error: ApiError; uri?: string; onSignIn?: () => void; onRetry?: () => void; testId?: string }) {
  const view = describeError(props.error, props.uri === undefined ? {} : { uri: props.uri });
  return (
    <div className="error-panel" role="alert" data-testid={props.testId ?? 'error'} data-code={props.error.code}>
      <div className="error-title" data-testid="error-title">{view.title}</div>
      <p className="error-message">{view.message}</p>
      {view.hint ? <p className="error-hint">{view.hint}</p> : null}
      <div className="error-actions">
        {view.action === 'sign-in' && props.onSignIn ? (
          <button className="btn btn-primary" onClick={props.onSignIn}>
            Sign in again
          </button>
        ) : null}
        {view.action === 'retry' && props.onRetry ? (
          <button className="btn" onClick={props.onRetry}>
            Try again
          </button>
        ) : null}
      </div>
    </div>
  );
}
