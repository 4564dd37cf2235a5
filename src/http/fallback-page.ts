// HTML of the UIA fallback pages: small template functions, every interpolated value escaped.
// Pages are self-contained (inline style and script allowed by a per-response nonce); the only
// external resource is a captcha provider's widget, whose origins the CSP lists on that page only.
import type { FallbackView } from '../services/fallback.js';
import { CSRF_FIELD } from '../services/fallback.js';
import type { FallbackField } from '../uia/stage.js';

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** Escapes text for HTML element content and quoted attribute values. */
export function esc(value: string): string {
  return value.replace(/[&<>"']/g, (c) => ESCAPES[c]!);
}

/** Only http(s) links are rendered as links (no javascript: or data: URLs from configuration). */
const safeHref = (url: string) => (/^https?:\/\//i.test(url) ? url : '#');

/**
 * The spec's completion script, plus the parent frame for clients that embed the page in an
 * iframe (allowed only for the origins in FALLBACK_FRAME_ANCESTORS).
 */
export const AUTH_DONE_SCRIPT = `
if (window.onAuthDone) {
    window.onAuthDone();
} else if (window.opener && window.opener.postMessage) {
    window.opener.postMessage("authDone", "*");
} else if (window.parent && window.parent !== window && window.parent.postMessage) {
    window.parent.postMessage("authDone", "*");
}
`;

const STYLE = `
:root { color-scheme: light; }
* { box-sizing: border-box; }
body { margin: 0; padding: 1rem; font: 1rem/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif;
  color: #1a1a1a; background: #ffffff; }
main { max-width: 32rem; margin: 0 auto; }
h1 { font-size: 1.5rem; line-height: 1.25; margin: 0.5rem 0 1rem; }
p { margin: 0 0 1rem; }
label { display: block; font-weight: 600; margin-bottom: 0.25rem; }
.field { margin: 0 0 1.25rem; }
.check { display: flex; gap: 0.75rem; align-items: flex-start; }
.check input { width: 1.5rem; height: 1.5rem; margin: 0.1rem 0 0; flex: none; }
.check label { font-weight: 400; margin: 0; }
.hint { color: #4a4a4a; font-size: 0.9375rem; margin: 0.25rem 0 0; }
input[type=text] { width: 100%; font: inherit; padding: 0.75rem; border: 2px solid #595959; border-radius: 0.375rem;
  color: #1a1a1a; background: #ffffff; }
button { font: inherit; font-weight: 600; width: 100%; min-height: 3rem; padding: 0.75rem 1rem; border: 0;
  border-radius: 0.375rem; color: #ffffff; background: #0b57d0; cursor: pointer; }
button:hover { background: #0842a0; }
a { color: #0b57d0; }
:focus-visible { outline: 3px solid #1a1a1a; outline-offset: 2px; }
.problem { border-left: 4px solid #b3261e; background: #fdecea; color: #5f1410; padding: 0.75rem 1rem; margin: 0 0 1rem; }
.done { border-left: 4px solid #146c2e; background: #e7f5ec; color: #0d3d1b; padding: 0.75rem 1rem; }
`;

export interface RenderedPage {
  status: number;
  html: string;
  /** Origins the page loads from besides itself (a captcha widget), for the CSP. */
  externalSources: readonly string[];
}

function layout(nonce: string, title: string, body: string, head = ''): string {
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="same-origin">
<link rel="icon" href="data:,">
<title>${esc(title)}</title>
<style nonce="${esc(nonce)}">${STYLE}</style>
${head}</head>
<body>
<main>
${body}
</main>
</body>
</html>
`;
}

function fieldHtml(f: FallbackField, index: number, nonce: string): { html: string; head: string } {
  const id = `f${index}`;
  switch (f.kind) {
    case 'text': {
      const hintId = `${id}-hint`;
      return {
        head: '',
        html: `<div class="field">
<label for="${id}">${esc(f.label)}</label>
<input type="text" id="${id}" name="${esc(f.name)}" required${index === 0 ? ' autofocus' : ''}${
          f.autocomplete ? ` autocomplete="${esc(f.autocomplete)}"` : ''
        }${f.maxLength ? ` maxlength="${f.maxLength}"` : ''}${f.hint ? ` aria-describedby="${hintId}"` : ''} spellcheck="false" autocapitalize="none">
${f.hint ? `<p class="hint" id="${hintId}">${esc(f.hint)}</p>\n` : ''}</div>`,
      };
    }
    case 'checkbox':
      return {
        head: '',
        html: `<div class="field">
${f.link ? `<p><a href="${esc(safeHref(f.link.href))}" target="_blank" rel="noopener noreferrer">${esc(f.link.text)}</a></p>\n` : ''}<div class="check">
<input type="checkbox" id="${id}" name="${esc(f.name)}" required>
<label for="${id}">${esc(f.label)}</label>
</div>
</div>`,
      };
    case 'captcha':
      return {
        head: `<script nonce="${esc(nonce)}" src="${esc(f.scriptUrl)}" async defer></script>\n`,
        html: `<div class="field">
<div class="${esc(f.widgetClass)}" data-sitekey="${esc(f.siteKey)}"></div>
<noscript><p class="problem">The captcha needs JavaScript. Enable it for this page, or finish registering in an app that shows the captcha itself.</p></noscript>
</div>`,
      };
  }
}

/** The HTML for a fallback view. `nonce` must be fresh per response (it is in the CSP). */
export function renderFallback(view: FallbackView, nonce: string): RenderedPage {
  switch (view.kind) {
    case 'error':
      return {
        status: view.status,
        externalSources: [],
        html: layout(
          nonce,
          view.title,
          `<h1>${esc(view.title)}</h1>
<p role="alert">${esc(view.message)}</p>`,
        ),
      };
    case 'done':
      return {
        status: 200,
        externalSources: [],
        html: layout(
          nonce,
          'Step complete',
          `<h1>Step complete</h1>
<p class="done" role="status">Thank you. This step is done: return to your app to continue.</p>
<script nonce="${esc(nonce)}">${AUTH_DONE_SCRIPT}</script>`,
        ),
      };
    case 'form': {
      const parts = view.fields.map((f, i) => fieldHtml(f, i, nonce));
      const external = view.fields.flatMap((f) => (f.kind === 'captcha' ? f.sources : []));
      const action = `web?session=${encodeURIComponent(view.sessionId)}`;
      return {
        status: view.status,
        externalSources: external,
        html: layout(
          nonce,
          view.page.title,
          `<h1>${esc(view.page.title)}</h1>
${view.problem !== undefined ? `<p class="problem" role="alert" id="problem">${esc(view.problem)}</p>\n` : ''}<p>${esc(view.page.instructions)}</p>
<form method="post" action="${esc(action)}">
<input type="hidden" name="${CSRF_FIELD}" value="${esc(view.csrf)}">
${parts.map((p) => p.html).join('\n')}
<button type="submit">${esc(view.page.submitLabel)}</button>
</form>`,
          parts.map((p) => p.head).join(''),
        ),
      };
    }
  }
}

/**
 * The page's Content-Security-Policy: nothing by default; its own inline style and scripts by
 * nonce; forms post only to this origin; framing only by FALLBACK_FRAME_ANCESTORS; a captcha
 * widget's origins only on the captcha page.
 */
export function contentSecurityPolicy(nonce: string, externalSources: readonly string[], frameAncestors: readonly string[]): string {
  const ext = externalSources.length > 0 ? ` ${externalSources.join(' ')}` : '';
  return [
    "default-src 'none'",
    `script-src 'nonce-${nonce}'${ext}`,
    `style-src 'nonce-${nonce}'${ext}`,
    `img-src 'self' data:${ext}`,
    ...(ext ? [`frame-src${ext}`, `connect-src${ext}`] : []),
    "form-action 'self'",
    "base-uri 'none'",
    `frame-ancestors ${frameAncestors.length > 0 ? frameAncestors.join(' ') : "'none'"}`,
  ].join('; ');
}
