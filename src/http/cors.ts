// CORS as the spec recommends for web clients: the headers on every response, and OPTIONS
// answered without running any endpoint logic.
import type { FastifyInstance } from 'fastify';

const HEADERS = {
  'access-control-allow-origin': '*',
  'access-control-allow-methods': 'GET, POST, PUT, DELETE, OPTIONS',
  'access-control-allow-headers': 'X-Requested-With, Content-Type, Authorization',
} as const;

export function registerCors(app: FastifyInstance): void {
  // A callback hook, not an async one: no promise and no microtask on every request.
  app.addHook('onRequest', (_request, reply, done) => {
    reply.headers(HEADERS);
    done();
  });
  app.options('*', async (_request, reply) => reply.code(204).send());
}
