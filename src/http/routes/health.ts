// GET /health (the process is alive and serving) and GET /ready (it can do useful work: the
// database answers and migrations are applied). Neither is rate-limited or logged per request.
import type { FastifyInstance } from 'fastify';
import { MatrixError } from '../../errors.js';
import type { Readiness } from '../../services/readiness.js';

export function healthRoutes(app: FastifyInstance, deps: { readiness: Readiness }): void {
  app.get('/health', { logLevel: 'silent' }, async () => ({ status: 'ok' }));
  app.get('/ready', { logLevel: 'silent' }, async (_request, reply) => {
    const r = await deps.readiness.check();
    if (r.ready) return { status: 'ready' };
    const e = new MatrixError(503, 'M_UNKNOWN', `Not ready: ${r.reason}`);
    return reply.code(503).send(e.body());
  });
}
