import type { AuthState, CredentialsInfo } from '../../../main/api/contract.js';
import { formatTime } from '../format';
import { useConnectivity } from '../offline';

export function Header(props: {
  organisation: string;
  /** Where the logs are, for IT (absent when they go to the console only). */
  logFolder?: string | undefined;
  state: AuthState;
  credentials: CredentialsInfo | null;
  onSignOut: () => void;
  busy: boolean;
  /** Opens the offline manager (offline slides, cache). */
  onOfflineManager?: () => void;
}) {
  const user = props.state.user;
  const connectivity = useConnectivity();
  return (
    <header className="topbar" data-testid="header">
      <div className="brand">
        <div className="brand-mark small" aria-hidden="true" />
        <span className="brand-name">Slide Workstation</span>
        <span className="brand-org">{props.organisation}</span>
      </div>
      <div className="account">
        <div className="offline-nav">
          {connectivity?.status === 'offline' ? (
            <span className="chip chip-warn" role="status" data-testid="offline-indicator" title="Storage cannot be reached">
              Offline
            </span>
          ) : null}
          {props.onOfflineManager ? (
            <button className="btn btn-quiet" data-testid="offline-manager-button" onClick={props.onOfflineManager}>
              Offline slides
            </button>
          ) : null}
        </div>
        <div className="account-text">
          <div className="user-name" data-testid="user-name">{user?.name ?? ''}</div>
          <div className="user-groups" data-testid="user-groups">
            {(user?.groups ?? []).map((g) => (
              <span className="chip" key={g}>
                {g}
              </span>
            ))}
          </div>
        </div>
        <button className="btn" data-testid="signout-button" onClick={props.onSignOut} disabled={props.busy}>
          Sign out
        </button>
      </div>
      <div className="subbar">
        <span data-testid="secret-store">Your sign-in is kept in {props.state.secretStore.description}.</span>
        {props.logFolder ? (
          <span data-testid="log-folder" title="Send these files to IT when something goes wrong; they never hold passwords or tokens.">
            Logs: <code>{props.logFolder}</code>
          </span>
        ) : null}
        {props.credentials ? (
          <span data-testid="credentials-info">
            Storage access as <strong>{props.credentials.sessionName}</strong>, renewed automatically (current until {formatTime(props.credentials.expiresAt)}).
          </span>
        ) : null}
      </div>
    </header>
  );
}
