// The one error handler: every failure leaves as a Matrix error body with the right status;
// internal failures are logged and answered M_UNKNOWN, never with a stack trace.
import type { Socket } from 'node:net';
import { STATUS_CODES, type IncomingMessage, type ServerResponse } from 'node:http';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
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
    case 'FST_ERR_MAX_PARAM_LENGTH':
      return errors.uriTooLong();
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

/**
 * Fastify's `frameworkErrors` option: errors its router raises before any route or hook runs
 * (a URL that is not valid percent-encoded UTF-8, an over-long path parameter). Without it they
 * leave as Fastify's own JSON, not a Matrix error.
 */
export function frameworkErrors(err: FastifyError, _request: FastifyRequest, reply: FastifyReply): void {
  const e = toMatrixError(err) ?? errors.unrecognized();
  void reply.code(e.status).send(e.body());
}

/**
 * Fastify's `clientErrorHandler` option: requests Node's HTTP parser refuses (bad request line,
 * invalid header, broken chunked framing, headers over the size limit, a timed-out request) are
 * answered on the raw socket with a Matrix error, then the connection is closed.
 */
export function clientErrorHandler(err: NodeJS.ErrnoException, socket: Socket): void {
  if (err.code === 'ECONNRESET' || socket.destroyed) return;
  const e =
    err.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? errors.requestTimeout()
    : err.code === 'HPE_HEADER_OVERFLOW' ? errors.headersTooLarge()
    : errors.malformedHttp();
  const body = JSON.stringify(e.body());
  if (socket.writable) {
    socket.write(
      `HTTP/1.1 ${e.status} ${STATUS_CODES[e.status]}\r\nContent-Type: application/json\r\n` +
        `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
    );
  }
  socket.destroy(err);
}

/**
 * Node answers a request whose Expect header is not 100-continue with a bare 417 unless the
 * server listens for 'checkExpectation'; this sends the same status as a Matrix error.
 */
export function registerExpectationHandler(app: FastifyInstance): void {
  app.server.on('checkExpectation', (_req: IncomingMessage, res: ServerResponse) => {
    const e = errors.expectationFailed();
    const body = JSON.stringify(e.body());
    res.writeHead(e.status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), connection: 'close' });
    res.end(body);
  });
}
