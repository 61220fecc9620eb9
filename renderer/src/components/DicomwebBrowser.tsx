/**
 * One DICOMweb archive in the storage browser: a study search (patient name, patient ID,
 * accession number, study dates), the matching studies a page at a time, and the series
 * of a study. Slide-microscopy series (SM) open in the viewer by their dicomweb:// address;
 * other series are listed dimmed so the study is shown as it is.
 *
 * The last search and the open study are kept per archive for this window, so coming back
 * from the viewer shows the same list instead of an empty form.
 */
import { useCallback, useEffect, useRef, useState, type FormEvent } from 'react';
import type { ApiError, DicomwebSeries, DicomwebSourceInfo, DicomwebStudy, DicomwebStudyQuery, StorageEntry } from '../../../main/api/contract.js';
import { api, asApiError } from '../api';
import { formatPersonName } from '../dicomweb-format';
import { ErrorPanel } from './ErrorPanel';

const PAGE = 50;

interface Remembered {
  query: DicomwebStudyQuery;
  studies: DicomwebStudy[];
  more: boolean;
  study?: DicomwebStudy;
}
/** Per archive name, for this window and this user only: a sign-out or another user forgets it. */
const memory = new Map<string, Remembered>();
let memoryOwner: string | undefined;
api.on('auth.changed', (state) => {
  const sub = state.status === 'signed-in' ? state.user?.sub : undefined;
  if (sub !== memoryOwner) memory.clear();
  memoryOwner = sub;
});

/** The study a dicomweb:// location names (dicomweb://<name>/studies/<uid>/…), if any. */
export function studyOf(uri: string | undefined): string | undefined {
  return uri ? /^dicomweb:\/\/[^/]+\/studies\/([0-9.]+)/i.exec(uri)?.[1] : undefined;
}

export function DicomwebBrowser(props: {
  source: DicomwebSourceInfo;
  /** Open this study's series at once (coming back from the viewer). */
  initialStudy?: string;
  onBack: () => void;
  onSignIn: () => void;
  onOpenSlide: (entry: StorageEntry) => void;
}) {
  const name = props.source.name;
  const remembered = memory.get(name);
  const [query, setQuery] = useState<DicomwebStudyQuery>(remembered?.query ?? {});
  const [studies, setStudies] = useState<DicomwebStudy[]>(remembered?.studies ?? []);
  const [more, setMore] = useState(remembered?.more ?? false);
  const [study, setStudy] = useState<DicomwebStudy | undefined>(() => {
    if (!props.initialStudy) return undefined;
    const known = remembered?.study?.studyInstanceUid === props.initialStudy ? remembered.study : remembered?.studies.find((s) => s.studyInstanceUid === props.initialStudy);
    return known ?? { studyInstanceUid: props.initialStudy, modalities: [] };
  });
  const [series, setSeries] = useState<DicomwebSeries[] | undefined>();
  const [error, setError] = useState<{ error: ApiError; retry: () => void } | undefined>();
  const [loading, setLoading] = useState(false);
  // Answers to an older search must not overwrite a newer one.
  const generation = useRef(0);

  const remember = useCallback((patch: Partial<Remembered>) => {
    const cur = memory.get(name) ?? { query: {}, studies: [], more: false };
    memory.set(name, { ...cur, ...patch });
  }, [name]);

  const search = useCallback(
    async (q: DicomwebStudyQuery, offset: number) => {
      const g = ++generation.current;
      setLoading(true);
      setError(undefined);
      try {
        const page = await api.call('dicomweb.searchStudies', { source: name, query: q, offset, limit: PAGE });
        if (g !== generation.current) return;
        setStudies((prev) => {
          // QIDO promises no order between requests: a study already listed is not listed twice.
          const known = new Set(prev.map((s) => s.studyInstanceUid));
          const next = offset === 0 ? page.studies : [...prev, ...page.studies.filter((s) => !known.has(s.studyInstanceUid))];
          remember({ query: q, studies: next, more: page.more });
          return next;
        });
        setMore(page.more);
      } catch (err) {
        if (g !== generation.current) return;
        setError({ error: asApiError(err), retry: () => void search(q, offset) });
        if (offset === 0) setStudies([]);
      } finally {
        if (g === generation.current) setLoading(false);
      }
    },
    [name, remember],
  );

  const openStudy = useCallback(
    async (s: DicomwebStudy) => {
      const g = ++generation.current;
      setStudy(s);
      setSeries(undefined);
      remember({ study: s });
      setLoading(true);
      setError(undefined);
      try {
        const list = await api.call('dicomweb.listSeries', { source: name, study: s.studyInstanceUid });
        if (g === generation.current) setSeries(list);
      } catch (err) {
        if (g === generation.current) setError({ error: asApiError(err), retry: () => void openStudy(s) });
      } finally {
        if (g === generation.current) setLoading(false);
      }
    },
    [name, remember],
  );

  // First view: the study coming back from the viewer, else the remembered or an open search.
  const started = useRef(false);
  useEffect(() => {
    if (started.current) return;
    started.current = true;
    if (study) void openStudy(study);
    else if (!remembered) void search({}, 0);
  }, [study, remembered, openStudy, search]);

  const submit = (e: FormEvent): void => {
    e.preventDefault();
    setStudy(undefined);
    remember({ study: undefined });
    void search(query, 0);
  };
  const field = (key: keyof DicomwebStudyQuery) => ({
    value: query[key] ?? '',
    onChange: (e: { currentTarget: { value: string } }) => {
      const value = e.currentTarget.value;
      setQuery((q) => ({ ...q, [key]: value }));
    },
  });
  const backToStudies = (): void => {
    setStudy(undefined);
    setSeries(undefined);
    setError(undefined);
    remember({ study: undefined });
    // Coming back from the viewer straight into a study: there is no list yet.
    if (!memory.get(name)?.studies.length) void search(query, 0);
  };

  const open = (s: DicomwebSeries): void => {
    const who = study?.patientName ? formatPersonName(study.patientName) : study?.patientId;
    const what = s.description ?? `Series ${s.seriesInstanceUid}`;
    props.onOpenSlide({ kind: 'file', name: who ? `${who} – ${what}` : what, uri: s.uri, slide: true });
  };

  return (
    <main className="browser" data-testid="dicomweb-browser" data-source={name}>
      <div className="toolbar">
        <nav className="breadcrumbs" aria-label="Location" data-testid="breadcrumbs">
          <button className="crumb" onClick={props.onBack}>
            Storage
          </button>
          <span className="crumb-wrap">
            <span className="crumb-sep">/</span>
            <button className="crumb" data-testid="dw-crumb-archive" onClick={backToStudies}>
              {props.source.label}
            </button>
          </span>
          {study ? (
            <span className="crumb-wrap">
              <span className="crumb-sep">/</span>
              <span className="crumb" data-testid="dw-crumb-study">
                {studyTitle(study)}
              </span>
            </span>
          ) : null}
        </nav>
      </div>

      {study ? null : (
        <form className="dw-search" data-testid="dw-search" onSubmit={submit} aria-label={`Search studies in ${props.source.label}`}>
          <label>
            Patient name
            <input data-testid="dw-patient-name" placeholder="e.g. Smith John" autoComplete="off" maxLength={64} {...field('patientName')} />
          </label>
          <label>
            Patient ID
            <input data-testid="dw-patient-id" autoComplete="off" maxLength={64} {...field('patientId')} />
          </label>
          <label>
            Accession number
            <input data-testid="dw-accession" autoComplete="off" maxLength={64} {...field('accessionNumber')} />
          </label>
          <label>
            Study date from
            <input type="date" data-testid="dw-date-from" {...field('studyDateFrom')} />
          </label>
          <label>
            to
            <input type="date" data-testid="dw-date-to" {...field('studyDateTo')} />
          </label>
          <div className="dw-search-actions">
            <button type="submit" className="btn btn-primary" data-testid="dw-search-button" disabled={loading}>
              Search
            </button>
            <button
              type="button"
              className="btn"
              onClick={() => {
                setQuery({});
                void search({}, 0);
              }}
            >
              Clear
            </button>
          </div>
        </form>
      )}

      {error ? <ErrorPanel error={error.error} onSignIn={props.onSignIn} onRetry={error.retry} testId="dicomweb-error" /> : null}

      {study ? (
        <SeriesTable study={study} series={series} loading={loading} error={error !== undefined} onOpen={open} />
      ) : error && studies.length === 0 ? null : (
        <table className="listing" data-testid="dw-studies" aria-busy={loading}>
          <thead>
            <tr>
              <th>Patient</th>
              <th>Patient ID</th>
              <th>Study date</th>
              <th>Accession</th>
              <th>Description</th>
              <th className="col-size">Series</th>
            </tr>
          </thead>
          <tbody>
            {studies.map((s) => (
              <tr key={s.studyInstanceUid} className="entry" data-testid="dw-study" data-uid={s.studyInstanceUid} data-patient-id={s.patientId ?? ''}>
                <td className="col-name">
                  <span className="icon icon-folder" aria-hidden="true" />
                  <button className="name link" data-testid="open-study" onClick={() => void openStudy(s)} title={`Study ${s.studyInstanceUid}`}>
                    {s.patientName ? formatPersonName(s.patientName) : '(no name)'}
                  </button>
                </td>
                <td>{s.patientId ?? ''}</td>
                <td className="dw-nowrap">{s.studyDate ?? ''}</td>
                <td>{s.accessionNumber ?? ''}</td>
                <td>{s.description ?? ''}</td>
                <td className="col-size">{s.seriesCount ?? ''}</td>
              </tr>
            ))}
            {!loading && studies.length === 0 && !error ? (
              <tr>
                <td colSpan={6} className="empty" data-testid="dw-empty">
                  No slide studies match this search.
                </td>
              </tr>
            ) : null}
          </tbody>
        </table>
      )}
      {loading ? (
        <div className="loading" data-testid="loading">
          Loading…
        </div>
      ) : null}
      {!study && more && !loading ? (
        <button className="btn" data-testid="dw-load-more" onClick={() => void search(memory.get(name)?.query ?? query, studies.length)}>
          Show more
        </button>
      ) : null}
    </main>
  );
}

function studyTitle(s: DicomwebStudy): string {
  const who = s.patientName ? formatPersonName(s.patientName) : s.patientId;
  const parts = [who, s.accessionNumber, s.studyDate].filter((p): p is string => !!p);
  return parts.length ? parts.join(' · ') : `Study ${s.studyInstanceUid}`;
}

function SeriesTable(props: { study: DicomwebStudy; series: DicomwebSeries[] | undefined; loading: boolean; error: boolean; onOpen: (s: DicomwebSeries) => void }) {
  if (props.error && !props.series) return null;
  const list = props.series ?? [];
  return (
    <table className="listing" data-testid="dw-series" data-study={props.study.studyInstanceUid} aria-busy={props.loading}>
      <thead>
        <tr>
          <th className="col-name">Series</th>
          <th>Modality</th>
          <th className="col-size">Instances</th>
        </tr>
      </thead>
      <tbody>
        {list.map((s) => (
          <tr key={s.seriesInstanceUid} className={`entry ${s.slide ? 'entry-slide' : 'entry-other'}`} data-testid="dw-series-row" data-uid={s.seriesInstanceUid} data-slide={s.slide ? 'true' : 'false'}>
            <td className="col-name">
              <span className={`icon ${s.slide ? 'icon-slide' : 'icon-other'}`} aria-hidden="true" />
              {s.slide ? (
                <button className="name link" data-testid="open-series" onClick={() => props.onOpen(s)} title={`Open ${s.uri}`}>
                  {s.description ?? `Series ${s.seriesInstanceUid}`}
                </button>
              ) : (
                <span className="name" title={`${s.modality ?? 'Unknown'} series: not a slide`}>
                  {s.description ?? `Series ${s.seriesInstanceUid}`}
                </span>
              )}
            </td>
            <td>{s.modality ?? ''}</td>
            <td className="col-size">{s.instanceCount ?? ''}</td>
          </tr>
        ))}
        {!props.loading && props.series && list.length === 0 ? (
          <tr>
            <td colSpan={3} className="empty" data-testid="dw-empty">
              This study has no series the archive will list.
            </td>
          </tr>
        ) : null}
      </tbody>
    </table>
  );
}
