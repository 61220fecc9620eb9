/**
 * A fluorescence slide's channel settings, remembered per slide in the renderer's own
 * storage: a researcher who set DAPI off and a tight TRITC window finds them again when
 * reopening the slide (today, or after a restart). Display settings only, no pixel data.
 */
import type { ChannelDisplay } from './channels';

const keyOf = (uri: string): string => `wsi.channels.v1.${uri}`;

const isDisplay = (d: unknown): d is ChannelDisplay =>
  typeof d === 'object' &&
  d !== null &&
  typeof (d as ChannelDisplay).visible === 'boolean' &&
  /^#[0-9a-f]{6}$/i.test(String((d as ChannelDisplay).color)) &&
  Number.isFinite((d as ChannelDisplay).min) &&
  Number.isFinite((d as ChannelDisplay).max);

/** The saved settings, when there are some for exactly this many channels. */
export function recallChannels(uri: string, channels: number, storage: Storage = localStorage): ChannelDisplay[] | undefined {
  try {
    const saved: unknown = JSON.parse(storage.getItem(keyOf(uri)) ?? 'null');
    if (Array.isArray(saved) && saved.length === channels && saved.every(isDisplay)) return saved;
  } catch {
    // A damaged entry falls back to the defaults.
  }
  return undefined;
}

export function rememberChannels(uri: string, display: ChannelDisplay[], storage: Storage = localStorage): void {
  try {
    storage.setItem(keyOf(uri), JSON.stringify(display));
  } catch {
    // Storage full or disabled: the settings simply are not kept.
  }
}

export function forgetChannels(uri: string, storage: Storage = localStorage): void {
  storage.removeItem(keyOf(uri));
}
