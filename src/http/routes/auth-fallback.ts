// GET/POST /auth/{authType}/fallback/web?session=… (spec: UIA Fallback): the HTML page that
// completes one stage of a UIA session in a browser. Every answer, errors included, is an HTML
// page: a person is reading it, not a client.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { errors, MatrixError } from '../../errors.js';
import type { Random } from '../../lib/clock.js';
import { isConnectionError } from '../../store/db.js';
import { errorView, type FallbackService, type FallbackView } from '../../services/fallback.js';
import { FormBody } from '../body.js';
import { contentSecurityPolicy, renderFallback } from '../fallback-page.js';
import { clientRoute } from '../paths.js';
import { createLimiter } from '../rate-limit.js';

const Params = z.object({ authType: z.string().max(255) });
const Query = z.object({ session: z.string().optional() }).loose();
const NONCE_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

export interface FallbackRouteDeps {
  fallback: FallbackService;
  random: Random;
  publicBaseUrl: string;
  frameAncestors: readonly string[];
  perMinute: number;
}

export function authFallbackRoutes(app: FastifyInstance, deps: FallbackRouteDeps): void {
  const { fallback, random, frameAncestors } = deps;
  const limiter = createLimiter(app, 'auth-fallback', { max: deps.perMinute, timeWindow: 60_000 });
  const publicOrigin = new URL(deps.publicBaseUrl).origin;

  function send(reply: FastifyReply, view: FallbackView) {
    const nonce = random.string(24, NONCE_ALPHABET);
    const page = renderFallback(view, nonce);
    // A page is never read cross-origin: no CORS headers, whatever the API's defaults.
    for (const h of ['access-control-allow-origin', 'access-control-allow-methods', 'access-control-allow-headers']) {
      reply.removeHeader(h);
    }
    reply.headers({
      'content-type': 'text/html; charset=utf-8',
      'content-security-policy': contentSecurityPolicy(nonce, page.externalSources, frameAncestors),
      'x-content-type-options': 'nosniff',
      // The URL carries the session ID: never sent to another origin (a policy link, the captcha
      // provider). Not no-referrer: browsers then send `Origin: null` with the form post.
      'referrer-policy': 'same-origin',
      'cache-control': 'no-store',
    });
    // X-Frame-Options cannot name several origins; when framing is allowed, the CSP decides.
    if (frameAncestors.length === 0) reply.header('x-frame-options', 'DENY');
    return reply.code(page.status).send(page.html);
  }

  /** Same-origin form posts only: Origin (or, without it, Sec-Fetch-Site) must not be foreign. */
  function crossSite(request: FastifyRequest): boolean {
    const origin = request.headers.origin;
    if (origin !== undefined) {
      const own = `${request.protocol}://${request.host}`;
      return origin !== own && origin !== publicOrigin;
    }
    const site = request.headers['sec-fetch-site'];
    return site !== undefined && site !== 'same-origin' && site !== 'none';
  }

  async function guarded(request: FastifyRequest, reply: FastifyReply, run: () => Promise<FallbackView>) {
    let view: FallbackView;
    try {
      await limiter(request);
      view = await run();
    } catch (err) {
      // A person reads this: even internal failures are pages (logged like the error handler does).
      if (!(err instanceof MatrixError)) request.log.error({ err }, 'internal error on a fallback page');
      if (!(err instanceof MatrixError) && isConnectionError(err)) err = errors.unavailable();
      if (!(err instanceof MatrixError)) err = errors.unknown();
      const e = err as MatrixError;
      view = errorView(e);
      if (e.status === 429) reply.header('retry-after', Math.max(1, Math.ceil(Number(e.extra.retry_after_ms ?? 1000) / 1000)));
    }
    return send(reply, view);
  }

  const input = (request: FastifyRequest) => {
    const params = Params.safeParse(request.params);
    const query = Query.safeParse(request.query);
    return {
      type: params.success ? params.data.authType : '',
      sessionId: query.success ? query.data.session : undefined,
    };
  };

  clientRoute(app, '/auth/:authType/fallback/web', {
    method: 'GET',
    handler: async (request, reply) =>
      guarded(request, reply, async () => {
        const { type, sessionId } = input(request);
        return fallback.show(type, sessionId);
      }),
  });

  clientRoute(app, '/auth/:authType/fallback/web', {
    method: 'POST',
    config: { formBody: true },
    handler: async (request, reply) =>
      guarded(request, reply, async () => {
        if (crossSite(request)) {
          return { kind: 'error', status: 403, title: 'Refused', message: 'This form can only be sent from its own page.' };
        }
        if (!(request.body instanceof FormBody)) {
          return { kind: 'error', status: 415, title: 'Not a form', message: 'Send this page as an HTML form.' };
        }
        const { type, sessionId } = input(request);
        return fallback.submit({ type, sessionId, form: request.body.fields, ip: request.ip });
      }),
  });
}
