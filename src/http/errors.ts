// The one error handler: every failure leaves as a Matrix error body with the right status;
// internal failures are logged and answered M_UNKNOWN, never with a stack trace.
import type { FastifyError, FastifyInstance } from 'fastify';
import { errors, MatrixError } from '../errors.js';
import { isConnectionError } from '../store/db.js';

function toMatrixError(err: FastifyError | MatrixError | Error): MatrixError | undefined {
  if (err instanceof MatrixError) return err;
  const code = (err as FastifyError).code;
  switch (code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return errors.tooLarge();
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      return errors.notJson();
    case 'FST_ERR_BAD_URL':
    case 'FST_ERR_ASYNC_CONSTRAINT':
      return errors.unrecognized();
  }
  if (isConnectionError(err)) return errors.unavailable();
  const status = (err as FastifyError).statusCode;
  if (status !== undefined && status >= 400 && status < 500) {
    return new MatrixError(status, 'M_UNKNOWN', 'Bad request.');
  }
  return undefined;
}

export function registerErrorHandling(app: FastifyInstance): void {
  app.setErrorHandler((err, request, reply) => {
    const known = toMatrixError(err as Error);
    if (!known) {
      request.log.error({ err }, 'internal error');
    } else if (known.status >= 500) {
      request.log.warn({ err: { message: (err as Error).message, code: (err as FastifyError).code } }, 'service unavailable');
    }
    const e = known ?? errors.unknown();
    if (e.status === 429 && !reply.hasHeader('retry-after')) {
      reply.header('retry-after', Math.max(1, Math.ceil(Number(e.extra.retry_after_ms ?? 1000) / 1000)));
    }
    return reply.code(e.status).send(e.body());
  });

  // Unknown paths are 404 M_UNRECOGNIZED; a known path with the wrong method is 405.
  const patterns: { re: RegExp; methods: Set<string> }[] = [];
  app.addHook('onRoute', (route) => {
    if (route.url === '*' || route.url === '/*') return;
    const re = new RegExp(`^${route.url.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/:[^/]+/g, '[^/]+')}$`);
    const methods = ([] as string[]).concat(route.method);
    const existing = patterns.find((p) => p.re.source === re.source);
    if (existing) methods.forEach((m) => existing.methods.add(m));
    else patterns.push({ re, methods: new Set(methods) });
  });
  app.setNotFoundHandler((request, reply) => {
    const path = request.url.split('?')[0]!;
    const known = patterns.some((p) => p.re.test(path) && !p.methods.has(request.method));
    const e = known ? errors.methodNotAllowed() : errors.unrecognized();
    return reply.code(e.status).send(e.body());
  });
}
