/**
 * The name a slide is shown by when nothing better is known: the last segment of its
 * address, percent-decoded. One function for the open slide, the pins and the offline
 * errors, so they never disagree about what a slide is called.
 */

/** The address's last segment, decoded; as written when it is not valid percent-encoding (a stray `%`). */
export function slideName(uri: string): string {
  const path = uri.replace(/\/+$/, '');
  const last = path.slice(path.lastIndexOf('/') + 1);
  try {
    return decodeURIComponent(last);
  } catch {
    // A key such as `100%.svs` is a legal S3 key and file name: show it as it is rather than fail the open.
    return last;
  }
}
