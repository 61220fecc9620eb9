import { lazy, Suspense, useCallback, useEffect, useState } from 'react';
import type { ApiError, AppInfo, AuthState, CredentialsInfo, StorageEntry } from '../../main/api/contract.js';
import { api, asApiError } from './api';
import { ErrorPanel } from './components/ErrorPanel';
import { Header } from './components/Header';
import { OfflineManager } from './components/OfflineManager';
import { RecentSlides } from './components/RecentSlides';
import { SignIn } from './components/SignIn';
import { StorageBrowser } from './components/StorageBrowser';
import { Waiting } from './components/Waiting';
import type { Pane } from './components/Workspace';
import { readRecent, rememberRecent, type RecentSlide } from './recent';

// OpenSeadragon is most of the bundle: loaded when a slide is first opened, not at start.
const Workspace = lazy(() => import('./components/Workspace').then((m) => ({ default: m.Workspace })));

let nextPaneKey = 1;

export function App() {
  const [info, setInfo] = useState<AppInfo | undefined>();
  const [auth, setAuth] = useState<AuthState | undefined>();
  const [credentials, setCredentials] = useState<CredentialsInfo | null>(null);
  const [fatal, setFatal] = useState<ApiError | undefined>();
  const [busy, setBusy] = useState(false);
  // The slides on screen (one, or several side by side), and the folder to return to.
  const [panes, setPanes] = useState<Pane[]>([]);
  const [folder, setFolder] = useState<string | undefined>();
  // The offline manager screen, over the browser or the slides (which stay open behind it).
  const [managing, setManaging] = useState(false);
  const [recent, setRecent] = useState<RecentSlide[]>([]);

  useEffect(() => {
    const off = api.on('auth.changed', setAuth);
    Promise.all([api.call('app.info'), api.call('auth.state')])
      .then(([i, s]) => {
        setInfo(i);
        setAuth(s);
      })
      .catch((err: unknown) => setFatal(asApiError(err)));
    return off;
  }, []);

  const signedIn = auth?.status === 'signed-in';
  useEffect(() => {
    // A new sign-in starts at the storage list, never in the previous user's slide.
    setPanes([]);
    setManaging(false);
    setFolder(undefined);
    setRecent(signedIn && auth?.user ? readRecent(auth.user.sub) : []);
    if (!signedIn) {
      setCredentials(null);
      return;
    }
    // Only to show who storage sees; a failure here is shown by the browser's own calls.
    api.call('credentials.info').then(setCredentials, () => setCredentials(null));
  }, [signedIn, auth?.user?.sub]);

  const signIn = useCallback(() => {
    api.call('auth.signIn').then(setAuth, (err: unknown) => setFatal(asApiError(err)));
  }, []);
  const cancel = useCallback(() => {
    api.call('auth.cancelSignIn').then(setAuth, (err: unknown) => setFatal(asApiError(err)));
  }, []);
  const signOut = useCallback(() => {
    setBusy(true);
    api
      .call('auth.signOut')
      .then(setAuth, (err: unknown) => setFatal(asApiError(err)))
      .finally(() => setBusy(false));
  }, []);

  if (fatal) {
    return (
      <main className="centre">
        <section className="card">
          <ErrorPanel error={fatal} testId="fatal-error" onRetry={() => window.location.reload()} />
        </section>
      </main>
    );
  }
  if (!info || !auth) {
    return (
      <main className="centre" data-testid="starting">
        <div className="spinner" aria-label="Starting" />
      </main>
    );
  }
  const org = info.organisation;
  const user = auth.user?.sub;
  const openSlide = (entry: StorageEntry, beside: boolean): void => {
    if (user) setRecent(rememberRecent(user, entry));
    const pane = { key: nextPaneKey++, entry };
    if (!beside) setFolder(entry.uri.slice(0, entry.uri.lastIndexOf('/') + 1));
    setPanes((current) => (beside ? [...current, pane] : [pane]));
  };
  if (auth.status === 'signing-in') return <Waiting organisation={org} authorizationUrl={auth.authorizationUrl} onCancel={cancel} />;
  if (auth.status === 'signed-out') return <SignIn organisation={org} state={auth} demo={info.demo} onSignIn={signIn} />;
  return (
    <div className="shell">
      <Header organisation={org} logFolder={info.logFolder} state={auth} credentials={credentials} onSignOut={signOut} busy={busy} onOfflineManager={() => setManaging(true)} />
      {auth.offline ? (
        <div className="warnings" role="status" data-testid="offline-session">
          <p>
            Working offline as {auth.user?.name ?? 'you'}: the sign-in service cannot be reached, so storage cannot be read. Slides available offline on
            this computer open as usual; the workstation reconnects by itself when the network is back.
          </p>
        </div>
      ) : null}
      {auth.warnings.length ? (
        <div className="warnings" data-testid="warnings">
          {auth.warnings.map((w) => (
            <p key={w}>{w}</p>
          ))}
        </div>
      ) : null}
      {managing ? (
        <OfflineManager
          onClose={() => setManaging(false)}
          onOpenSlide={(entry) => {
            setManaging(false);
            openSlide(entry, false);
          }}
        />
      ) : panes.length ? (
        <Suspense
          fallback={
            <main className="viewer" data-testid="viewer-opening">
              <div className="spinner" aria-label="Opening the viewer" />
            </main>
          }
        >
          <Workspace
            panes={panes}
            onAdd={(entry) => openSlide(entry, true)}
            onClose={(key) => setPanes((current) => current.filter((p) => p.key !== key))}
            onBack={() => setPanes([])}
            onSignIn={signIn}
            {...(folder === undefined ? {} : { folder })}
          />
        </Suspense>
      ) : (
        <>
          <RecentSlides slides={recent} fileDialog={info.fileDialog} onOpen={(entry) => openSlide(entry, false)} onSignIn={signIn} />
          <StorageBrowser
            onManageOffline={() => setManaging(true)}
            key={auth.user?.sub}
            onSignIn={signIn}
            {...(folder === undefined ? {} : { initialUri: folder })}
            onOpenSlide={(entry) => openSlide(entry, false)}
          />
        </>
      )}
    </div>
  );
}
