// GET /account/whoami (spec: whoami.yaml).
import type { FastifyInstance } from 'fastify';
import type { AuthenticationService } from '../../services/authentication.js';
import { requesterOf, requireAuth } from '../auth.js';
import { clientRoute } from '../paths.js';

export function whoamiRoute(app: FastifyInstance, deps: { auth: AuthenticationService }): void {
  clientRoute(app, '/account/whoami', {
    method: 'GET',
    preHandler: requireAuth(deps.auth, { allowGuests: true }),
    handler: async (request, reply) => {
      const r = requesterOf(request);
      return reply.send({ user_id: r.userId, device_id: r.deviceId, is_guest: r.isGuest });
    },
  });
}
