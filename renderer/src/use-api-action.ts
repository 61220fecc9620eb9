import { useCallback, useState } from 'react';
import type { ApiError } from '../../main/api/contract.js';
import { asApiError } from './api';

/**
 * One user action that calls main: `busy` while it runs (buttons disable), `error` in
 * words when it failed, cleared when the next one starts.
 */
export function useApiAction(): { busy: boolean; error: ApiError | undefined; run: (call: () => Promise<unknown>) => void } {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<ApiError | undefined>();
  const run = useCallback((call: () => Promise<unknown>) => {
    setBusy(true);
    setError(undefined);
    call()
      .catch((err: unknown) => setError(asApiError(err)))
      .finally(() => setBusy(false));
  }, []);
  return { busy, error, run };
}
