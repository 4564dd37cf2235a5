// GET /register/available (spec: registration.yaml).
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { errors } from '../../errors.js';
import type { RegistrationService } from '../../services/registration.js';
import { clientRoute } from '../paths.js';
import { ipLimit } from '../rate-limit.js';
import { parseWith } from '../validate.js';

const Query = z.object({ username: z.string() }).loose();

export function registerAvailableRoute(
  app: FastifyInstance,
  deps: { registration: RegistrationService; registrationEnabled: boolean; perMinute: number },
): void {
  const limit = ipLimit(app, 'available', { max: deps.perMinute, timeWindow: 60_000 });
  clientRoute(app, '/register/available', {
    method: 'GET',
    onRequest: limit,
    handler: async (request, reply) => {
      if (!deps.registrationEnabled) throw errors.registrationDisabled();
      const { username } = parseWith(Query, request.query, 'query');
      await deps.registration.checkAvailable(username);
      return reply.send({ available: true });
    },
  });
}
