/**
 * The small pages the loopback listener shows in the system browser. Self-contained
 * (no scripts, no external fonts or images) and served with a CSP that forbids both, so
 * the page works offline and cannot leak the callback URL (which holds the code) anywhere.
 */
export interface PageContent {
  ok: boolean;
  title: string;
  message: string;
  /** Shown small under the message, e.g. the error code for IT. */
  detail?: string;
}

export const PAGE_HEADERS: Record<string, string> = {
  'content-type': 'text/html; charset=utf-8',
  'cache-control': 'no-store',
  'content-security-policy': "default-src 'none'; style-src 'unsafe-inline'; form-action 'none'; frame-ancestors 'none'; base-uri 'none'",
  'referrer-policy': 'no-referrer',
  'x-content-type-options': 'nosniff',
};

function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] ?? c);
}

export function renderPage(p: PageContent, organisation: string): string {
  const colour = p.ok ? '#1b7f3b' : '#b3261e';
  const mark = p.ok ? '&#10003;' : '&#10007;';
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>${escapeHtml(p.title)}</title>
<style>
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;background:#f4f5f7;color:#1d1f23;margin:0;display:flex;min-height:100vh;align-items:center;justify-content:center}
main{background:#fff;border-radius:12px;box-shadow:0 2px 12px rgba(0,0,0,.08);padding:32px 40px;max-width:480px}
h1{font-size:1.3rem;margin:0 0 12px;color:${colour}}
.mark{font-size:2rem;color:${colour}}
p{line-height:1.5;margin:8px 0}
small{color:#5f6368}
</style></head>
<body><main><div class="mark" aria-hidden="true">${mark}</div>
<h1 id="title">${escapeHtml(p.title)}</h1>
<p id="message">${escapeHtml(p.message)}</p>
<p>You can close this tab and return to the workstation.</p>
${p.detail ? `<p><small id="detail">${escapeHtml(p.detail)}</small></p>` : ''}
<p><small>Slide workstation &middot; ${escapeHtml(organisation)}</small></p>
</main></body></html>`;
}

export function notFoundPage(organisation: string): string {
  return renderPage({ ok: false, title: 'Not found', message: 'This address is only used to finish signing in to the slide workstation.' }, organisation);
}
