// HTTP side of the metrics: every response is counted by route pattern (never the raw URL, which
// would carry user input and explode label cardinality), and /metrics is served either on its own
// listener (METRICS_PORT, bound to METRICS_HOST) or on the main port behind METRICS_TOKEN.
import { createServer, type Server } from 'node:http';
import type { FastifyInstance } from 'fastify';
import { errors } from '../errors.js';
import type { Metrics } from '../lib/metrics.js';
import { safeEqual } from '../lib/secrets.js';
import { bearerToken } from './admin-auth.js';

export function registerMetricsHooks(app: FastifyInstance, metrics: Metrics): void {
  // A callback hook (no promise per request), as in cors.ts.
  app.addHook('onResponse', (request, reply, done) => {
    const route = request.routeOptions.url ?? 'unmatched';
    metrics.httpRequest(route, request.method, reply.statusCode, reply.elapsedTime / 1000);
    done();
  });
}

/** /metrics on the main port, for deployments without a separate metrics port. */
export function metricsRoute(app: FastifyInstance, deps: { metrics: Metrics; token: string }): void {
  app.get('/metrics', { logLevel: 'silent' }, async (request, reply) => {
    const presented = bearerToken(request);
    if (presented === undefined) throw errors.missingToken();
    if (!safeEqual(presented, deps.token)) throw errors.unknownToken('Unrecognised metrics token.');
    return reply.type(deps.metrics.registry.contentType).send(await deps.metrics.registry.metrics());
  });
}

/** A minimal listener that answers GET /metrics and nothing else. */
export async function startMetricsServer(metrics: Metrics, host: string, port: number): Promise<Server> {
  const server = createServer((req, res) => {
    if (req.method !== 'GET' || req.url?.split('?')[0] !== '/metrics') {
      res.writeHead(404, { 'content-type': 'application/json' }).end(JSON.stringify(errors.unrecognized().body()));
      return;
    }
    metrics.registry.metrics().then(
      (text) => res.writeHead(200, { 'content-type': metrics.registry.contentType }).end(text),
      () => res.writeHead(500).end(),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  return server;
}
