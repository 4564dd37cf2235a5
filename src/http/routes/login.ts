// GET and POST /login (spec: login.yaml).
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { LOGIN_TYPES, type AuthenticationService } from '../../services/authentication.js';
import { requireObject } from '../body.js';
import { clientRoute } from '../paths.js';
import { ipLimit } from '../rate-limit.js';
import { DeviceId, opt } from '../schemas.js';
import { parseWith } from '../validate.js';

const Body = z
  .object({
    type: z.string(),
    device_id: opt(DeviceId),
    initial_device_display_name: opt(z.string().max(1024)),
    refresh_token: opt(z.boolean()),
  })
  .loose();

export function loginRoutes(app: FastifyInstance, deps: { auth: AuthenticationService; requestsPerMinute: number }): void {
  clientRoute(app, '/login', {
    method: 'GET',
    handler: async (_request, reply) => reply.send({ flows: LOGIN_TYPES.map((type) => ({ type })) }),
  });

  // Every login attempt counts against a per-IP request budget (each one costs a hash); failed
  // attempts also spend the per-account and per-IP failure budgets in the password verifier.
  const limit = ipLimit(app, 'login', { max: deps.requestsPerMinute, timeWindow: 60_000 });
  clientRoute(app, '/login', {
    method: 'POST',
    onRequest: limit,
    handler: async (request, reply) => {
      const raw = requireObject(request.body);
      const b = parseWith(Body, raw);
      const body = await deps.auth.login({
        body: raw,
        ip: request.ip,
        deviceId: b.device_id,
        initialDeviceDisplayName: b.initial_device_display_name,
        refreshToken: b.refresh_token ?? false,
      });
      return reply.send(body);
    },
  });
}
