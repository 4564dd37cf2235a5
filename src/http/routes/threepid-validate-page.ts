// The page the validation email links to. It works without JavaScript. A GET only shows a
// confirmation button (mail scanners that prefetch links must not validate anything); the POST
// of that form validates, then redirects to the session's vetted next_link or shows the result.
// The URL carries a secret: the page is never cached, never framed and sends no Referer.
import type { FastifyInstance, FastifyReply } from 'fastify';
import { MatrixError } from '../../errors.js';
import { CLIENT_SECRET_GRAMMAR } from '../../domain/threepid.js';
import { escapeHtml } from '../../services/threepid-messages.js';
import { VALIDATE_PAGE_PATH, type ThreepidService } from '../../services/threepid.js';
import { FormBody } from '../body.js';
import { ipLimit } from '../rate-limit.js';

function page(reply: FastifyReply, status: number, title: string, body: string): FastifyReply {
  return reply
    .code(status)
    .header('content-type', 'text/html; charset=utf-8')
    .header('cache-control', 'no-store')
    .header('referrer-policy', 'no-referrer')
    .header('x-frame-options', 'DENY')
    .header('x-content-type-options', 'nosniff')
    .header('content-security-policy', "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'")
    .send(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)}</title>
<style>body{font-family:system-ui,sans-serif;max-width:32rem;margin:3rem auto;padding:0 1rem;line-height:1.5}
button{font-size:1.1rem;padding:.6rem 1.4rem;cursor:pointer}</style></head>
<body><h1>${escapeHtml(title)}</h1>
${body}
</body></html>`);
}

const field = (v: unknown) => (typeof v === 'string' ? v : undefined);

export function threepidValidatePage(app: FastifyInstance, deps: { threepids: ThreepidService; perMinute: number }): void {
  const { threepids } = deps;
  const limit = ipLimit(app, '3pid-validate-page', { max: deps.perMinute, timeWindow: 60_000 });

  app.route({
    method: 'GET',
    url: VALIDATE_PAGE_PATH,
    onRequest: limit,
    handler: async (request, reply) => {
      const q = request.query as Record<string, unknown>;
      const sid = field(q.sid);
      const secret = field(q.client_secret);
      const token = field(q.token);
      if (!sid || !secret || !token || !CLIENT_SECRET_GRAMMAR.test(sid) || !CLIENT_SECRET_GRAMMAR.test(secret) || token.length > 255) {
        return page(reply, 400, 'Invalid link', '<p>This link is incomplete or damaged. Open the link from the message again, or enter the code in your app.</p>');
      }
      return page(
        reply,
        200,
        'Confirm your address',
        `<p>Press the button to confirm that this address is yours.</p>
<form method="post" action="${escapeHtml(VALIDATE_PAGE_PATH)}">
<input type="hidden" name="sid" value="${escapeHtml(sid)}">
<input type="hidden" name="client_secret" value="${escapeHtml(secret)}">
<input type="hidden" name="token" value="${escapeHtml(token)}">
<button type="submit">Confirm</button>
</form>`,
      );
    },
  });

  // The form posts application/x-www-form-urlencoded (parsed as a FormBody for this route only).
  app.route({
    method: 'POST',
    url: VALIDATE_PAGE_PATH,
    config: { formBody: true },
    onRequest: limit,
    handler: async (request, reply) => {
      const form = request.body instanceof FormBody ? request.body.fields : new Map<string, string>();
      const sid = form.get('sid') ?? '';
      const secret = form.get('client_secret') ?? '';
      const token = form.get('token') ?? '';
      let nextLink: string | null;
      try {
        ({ nextLink } = await threepids.submitToken({ sid, clientSecret: secret, token, ip: request.ip }));
      } catch (err) {
        if (!(err instanceof MatrixError)) throw err;
        if (err.status === 429) {
          return page(reply, 429, 'Too many attempts', '<p>Too many attempts. Wait a while, or ask your app to send a new message.</p>');
        }
        return page(reply, 400, 'Validation failed', '<p>This link is wrong or has expired, or was already used. Ask your app to send a new message.</p>');
      }
      if (nextLink) return reply.code(303).header('cache-control', 'no-store').header('referrer-policy', 'no-referrer').redirect(nextLink, 303);
      return page(reply, 200, 'Address confirmed', '<p>Thank you: your address is confirmed. Return to your app to continue.</p>');
    },
  });
}
