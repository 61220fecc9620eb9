/**
 * The storage browser: the configured buckets/prefixes at the top, then folders and
 * files of one location. Slide files are recognised by main (entry.slide); other files
 * are listed dimmed so the user sees the folder as it is without mistaking them for slides.
 */
import { useCallback, useEffect, useRef, useState } from 'react';
import type { ApiError, DicomwebSourceInfo, StorageEntry } from '../../../main/api/contract.js';
import { api, asApiError } from '../api';
import { crumbs, formatDate, formatSize } from '../format';
import { DicomwebBrowser, studyOf } from './DicomwebBrowser';
import { useConnectivity } from '../offline';
import { ErrorPanel } from './ErrorPanel';
import { OfflineSlides } from './OfflineSlides';

interface View {
  /** undefined = the list of configured locations */
  uri: string | undefined;
  entries: StorageEntry[];
  continuation: string | undefined;
}

export function StorageBrowser(props: { onSignIn: () => void; onOpenSlide: (entry: StorageEntry) => void; initialUri?: string; onManageOffline?: () => void }) {
  const [view, setView] = useState<View>({ uri: undefined, entries: [], continuation: undefined });
  const [error, setError] = useState<{ error: ApiError; uri: string | undefined } | undefined>();
  const [loading, setLoading] = useState(true);
  const [goto, setGoto] = useState('');
  // DICOMweb archives are roots beside the buckets; one of them may be open.
  const [archives, setArchives] = useState<DicomwebSourceInfo[]>([]);
  const [archive, setArchive] = useState<{ source: DicomwebSourceInfo; study?: string } | undefined>();

  const open = useCallback(async (uri: string | undefined, continuation?: string) => {
    setLoading(true);
    setError(undefined);
    try {
      if (uri === undefined) {
        // Listed even when the buckets fail: someone may read the archive and no bucket.
        api.call('dicomweb.sources').then(setArchives, () => setArchives([]));
        const entries = await api.call('storage.roots');
        setView({ uri: undefined, entries, continuation: undefined });
      } else {
        const listing = await api.call('storage.list', continuation === undefined ? { uri } : { uri, continuation });
        setView((prev) => ({
          uri: listing.uri,
          entries: continuation === undefined ? listing.entries : [...prev.entries, ...listing.entries],
          continuation: listing.continuation,
        }));
      }
    } catch (err) {
      setError({ error: asApiError(err), uri });
      if (uri !== undefined) setView({ uri, entries: [], continuation: undefined });
    } finally {
      setLoading(false);
    }
  }, []);

  const initialUri = props.initialUri;
  useEffect(() => {
    // Back from a DICOMweb slide: the archive (and study) it came from.
    const m = initialUri ? /^dicomweb:\/\/([^/]+)/i.exec(initialUri) : null;
    if (!m) {
      void open(initialUri);
      return;
    }
    api.call('dicomweb.sources').then(
      (list) => {
        setArchives(list);
        const source = list.find((a) => a.name.toLowerCase() === decodeURIComponent(m[1]!).toLowerCase());
        const study = studyOf(initialUri);
        if (source) setArchive(study ? { source, study } : { source });
        else void open(undefined);
      },
      () => void open(undefined),
    );
  }, [open, initialUri]);

  // Offline, the slides kept on this computer replace the listing; back online, the listing comes back fresh.
  const connectivity = useConnectivity();
  const offline = connectivity?.status === 'offline';
  const wasOffline = useRef(false);
  const current = view.uri;
  useEffect(() => {
    if (wasOffline.current && !offline) void open(current);
    wasOffline.current = offline;
  }, [offline, open, current]);

  const go = (): void => {
    const target = goto.trim();
    if (!target) return;
    void open(/^s3:\/\//.test(target) ? target : `s3://${target.replace(/^\/+/, '')}`);
  };

  if (archive) {
    return (
      <DicomwebBrowser
        key={archive.source.name}
        source={archive.source}
        {...(archive.study ? { initialStudy: archive.study } : {})}
        onBack={() => {
          setArchive(undefined);
          void open(undefined);
        }}
        onSignIn={props.onSignIn}
        onOpenSlide={props.onOpenSlide}
      />
    );
  }

  return (
    <main className="browser" data-testid="storage-browser">
      <div className="toolbar">
        <nav className="breadcrumbs" aria-label="Location" data-testid="breadcrumbs">
          <button className="crumb" onClick={() => void open(undefined)}>
            Storage
          </button>
          {view.uri
            ? crumbs(view.uri).map((c) => (
                <span key={c.uri} className="crumb-wrap">
                  <span className="crumb-sep">/</span>
                  <button className="crumb" onClick={() => void open(c.uri)}>
                    {c.label}
                  </button>
                </span>
              ))
            : null}
        </nav>
        <div className="goto">
          <input
            className="goto-input"
            data-testid="goto-input"
            placeholder="s3://bucket/folder/"
            value={goto}
            onChange={(e) => setGoto(e.currentTarget.value)}
            onKeyDown={(e) => {
              if (e.key === 'Enter') go();
            }}
            aria-label="Open a storage location"
          />
          <button className="btn" data-testid="goto-button" onClick={go}>
            Open
          </button>
        </div>
      </div>

      {offline && connectivity ? (
        <OfflineSlides state={connectivity} onOpenSlide={props.onOpenSlide} {...(props.onManageOffline ? { onManage: props.onManageOffline } : {})} />
      ) : error ? (
        <ErrorPanel error={error.error} {...(error.uri === undefined ? {} : { uri: error.uri })} onSignIn={props.onSignIn} onRetry={() => void open(error.uri)} testId="storage-error" />
      ) : null}

      {offline ? null : !error || view.entries.length > 0 || (view.uri === undefined && archives.length > 0) ? (
        <table className="listing" data-testid="listing" data-uri={view.uri ?? ''} aria-busy={loading}>
          <thead>
            <tr>
              <th className="col-name">Name</th>
              <th className="col-size">Size</th>
              <th className="col-date">Modified</th>
            </tr>
          </thead>
          <tbody>
            {view.entries.map((e) => (
              <Row key={e.uri} entry={e} onOpen={(uri) => void open(uri)} onOpenSlide={props.onOpenSlide} />
            ))}
            {view.uri === undefined
              ? archives.map((a) => (
                  <tr key={a.uri} className="entry entry-archive" data-testid="entry" data-kind="archive" data-slide="false" data-name={a.label}>
                    <td className="col-name">
                      <span className="icon icon-bucket" aria-hidden="true" />
                      <button className="name link" data-testid="open-archive" onClick={() => setArchive({ source: a })} title={`DICOMweb archive ${a.name}`}>
                        {a.label}
                      </button>
                    </td>
                    <td className="col-size">DICOMweb</td>
                    <td className="col-date" />
                  </tr>
                ))
              : null}
            {!loading && view.entries.length === 0 && !error && (view.uri !== undefined || archives.length === 0) ? (
              <tr>
                <td colSpan={3} className="empty" data-testid="empty">
                  {view.uri === undefined ? 'No storage locations are configured for this workstation. Ask IT to add one.' : 'This folder is empty.'}
                </td>
              </tr>
            ) : null}
          </tbody>
        </table>
      ) : null}
      {loading && !offline ? <div className="loading" data-testid="loading">Loading…</div> : null}
      {view.continuation && !loading && !offline ? (
        <button className="btn" data-testid="load-more" onClick={() => void open(view.uri, view.continuation)}>
          Show more
        </button>
      ) : null}
    </main>
  );
}

function Row(props: { entry: StorageEntry; onOpen: (uri: string) => void; onOpenSlide: (entry: StorageEntry) => void }) {
  const e = props.entry;
  const kind = e.kind === 'file' ? (e.slide ? 'slide' : 'other') : e.kind;
  return (
    <tr className={`entry entry-${kind}`} data-testid="entry" data-kind={e.kind} data-slide={e.slide ? 'true' : 'false'} data-name={e.name}>
      <td className="col-name">
        <span className={`icon icon-${kind}`} aria-hidden="true" />
        {e.kind === 'file' && e.slide ? (
          <button className="name link" data-testid="open-slide" onClick={() => props.onOpenSlide(e)} title={`Open ${e.uri}`}>
            {e.name}
          </button>
        ) : e.kind === 'file' ? (
          <span className="name" title={e.uri}>
            {e.name}
          </span>
        ) : (
          <button className="name link" onClick={() => props.onOpen(e.uri)} title={e.uri}>
            {e.name}
          </button>
        )}
      </td>
      <td className="col-size">{formatSize(e.size)}</td>
      <td className="col-date">{formatDate(e.lastModified)}</td>
    </tr>
  );
}
