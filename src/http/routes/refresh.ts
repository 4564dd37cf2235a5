// POST /refresh (spec: refresh.yaml). Authenticated by the refresh token in the body, not by an
// access token.
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { AuthenticationService } from '../../services/authentication.js';
import { requireObject } from '../body.js';
import { clientRoute } from '../paths.js';
import { parseWith } from '../validate.js';

const Body = z.object({ refresh_token: z.string().max(1024) }).loose();

export function refreshRoute(app: FastifyInstance, deps: { auth: AuthenticationService }): void {
  clientRoute(app, '/refresh', {
    method: 'POST',
    handler: async (request, reply) => {
      const { refresh_token } = parseWith(Body, requireObject(request.body));
      return reply.send(await deps.auth.refresh(refresh_token));
    },
  });
}
