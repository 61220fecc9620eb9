import { ApiError, type AuthState } from '../../../main/api/contract.js';
import { ErrorPanel } from './ErrorPanel';

export function SignIn(props: { organisation: string; state: AuthState; demo: boolean; onSignIn: () => void }) {
  const error = props.state.error ? new ApiError(props.state.error) : undefined;
  return (
    <main className="centre">
      <section className="card signin" data-testid="signin-screen">
        <div className="brand-mark" aria-hidden="true" />
        <h1>Slide Workstation</h1>
        <p className="muted">
          Sign in with your <strong data-testid="organisation">{props.organisation}</strong> account to see the slides you may read.
        </p>
        <button className="btn btn-primary btn-large" data-testid="signin-button" onClick={props.onSignIn}>
          Sign in with {props.organisation}
        </button>
        <p className="small muted">Your browser opens for the sign-in. The workstation never sees your password.</p>
        {props.demo ? (
          <p className="small demo-note" data-testid="demo-note">
            Demo environment: sign in as alice, bob or carol (see the terminal for passwords).
          </p>
        ) : null}
        {error ? <ErrorPanel error={error} testId="signin-error" /> : null}
      </section>
    </main>
  );
}
