export function formatSize(bytes: number | undefined): string {
  if (bytes === undefined) return '';
  if (bytes < 1024) return `${bytes} B`;
  const units = ['KB', 'MB', 'GB', 'TB'];
  let v = bytes / 1024;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v >= 100 ? v.toFixed(0) : v.toFixed(1)} ${units[i]}`;
}

export function formatDate(iso: string | undefined): string {
  if (!iso) return '';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return '';
  return d.toLocaleString(undefined, { year: 'numeric', month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit' });
}

export function formatTime(ms: number | undefined): string {
  if (ms === undefined) return '';
  return new Date(ms).toLocaleTimeString(undefined, { hour: '2-digit', minute: '2-digit' });
}

/** s3://bucket/a/b/ → [{label:'bucket', uri:'s3://bucket/'}, {label:'a', uri:'s3://bucket/a/'}, …] */
export function crumbs(uri: string): { label: string; uri: string }[] {
  const m = /^s3:\/\/([^/]+)\/?(.*)$/.exec(uri);
  if (!m) return [{ label: uri, uri }];
  const bucket = m[1]!;
  const out = [{ label: bucket, uri: `s3://${bucket}/` }];
  let acc = '';
  for (const part of (m[2] ?? '').split('/').filter(Boolean)) {
    acc += `${part}/`;
    out.push({ label: part, uri: `s3://${bucket}/${acc}` });
  }
  return out;
}
