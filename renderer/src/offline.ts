/**
 * The renderer's view of the offline state and the pins: the state comes from a call at
 * mount and then from main's events (`connectivity.changed`, `pins.changed`), so every
 * component that uses these hooks shows the same thing without polling.
 */
import { useCallback, useEffect, useRef, useState } from 'react';
import type { CacheUsage, ConnectivityState, PinInfo } from '../../main/api/contract.js';
import { api } from './api';

export { pinExtentText, pinPercent, pinStateText } from './offline-format';

export function useConnectivity(): ConnectivityState | undefined {
  const [state, setState] = useState<ConnectivityState | undefined>();
  useEffect(() => {
    let live = true;
    const off = api.on('connectivity.changed', (s) => {
      if (live) setState(s);
    });
    // An event may arrive before the answer: the answer only fills an empty state.
    api.call('offline.state').then(
      (s) => {
        if (live) setState((prev) => prev ?? s);
      },
      () => undefined,
    );
    return () => {
      live = false;
      off();
    };
  }, []);
  return state;
}

export function usePins(): { pins: PinInfo[] | undefined; refresh: () => void } {
  const [pins, setPins] = useState<PinInfo[] | undefined>();
  const refresh = useCallback(() => {
    api.call('pins.list').then(setPins, () => undefined);
  }, []);
  useEffect(() => {
    const off = api.on('pins.changed', setPins);
    refresh();
    return off;
  }, [refresh]);
  return { pins, refresh };
}

/** How often a running download may refresh the usage figures (each asks main to sum the pinned tiles). */
const USAGE_REFRESH_MS = 2000;

/** Cache usage, fetched again when the pins change (their downloads fill the cache), at most every 2 s. */
export function useCacheUsage(pins: PinInfo[] | undefined): { usage: CacheUsage | undefined; setUsage: (u: CacheUsage) => void; refresh: () => void } {
  const [usage, setUsage] = useState<CacheUsage | undefined>();
  const last = useRef(0);
  const timer = useRef<ReturnType<typeof setTimeout> | undefined>(undefined);
  const refresh = useCallback(() => {
    last.current = Date.now();
    api.call('cache.usage').then(setUsage, () => undefined);
  }, []);
  useEffect(() => {
    if (timer.current) return;
    const wait = Math.max(0, last.current + USAGE_REFRESH_MS - Date.now());
    timer.current = setTimeout(() => {
      timer.current = undefined;
      refresh();
    }, wait);
  }, [refresh, pins]);
  useEffect(
    () => () => {
      if (timer.current) clearTimeout(timer.current);
      timer.current = undefined;
    },
    [],
  );
  return { usage, setUsage, refresh };
}
