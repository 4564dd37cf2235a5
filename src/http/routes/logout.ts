// POST /logout and POST /logout/all (spec: logout.yaml). A token past its lifetime may still log
// out: the client is ending the session anyway.
import type { FastifyInstance } from 'fastify';
import type { AuthenticationService } from '../../services/authentication.js';
import { requesterOf, requireAuth } from '../auth.js';
import { clientRoute } from '../paths.js';

export function logoutRoutes(app: FastifyInstance, deps: { auth: AuthenticationService }): void {
  const preHandler = requireAuth(deps.auth, { allowGuests: true, allowExpired: true });
  clientRoute(app, '/logout', {
    method: 'POST',
    preHandler,
    handler: async (request, reply) => {
      await deps.auth.logout(requesterOf(request));
      return reply.send({});
    },
  });
  clientRoute(app, '/logout/all', {
    method: 'POST',
    preHandler,
    handler: async (request, reply) => {
      await deps.auth.logoutAll(requesterOf(request));
      return reply.send({});
    },
  });
}
