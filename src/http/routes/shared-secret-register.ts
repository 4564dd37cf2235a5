// Synapse-compatible shared-secret registration: GET and POST /_synapse/admin/v1/register.
// Both calls are rate-limited per client IP, through one budget.
import type { FastifyInstance } from 'fastify';
import type { SharedSecretRegistration } from '../../services/shared-secret-registration.js';
import { requireObject } from '../body.js';
import { ipLimit } from '../rate-limit.js';

export const SHARED_SECRET_PATH = '/_synapse/admin/v1/register';

export function sharedSecretRegisterRoutes(
  app: FastifyInstance,
  deps: { sharedSecret: SharedSecretRegistration; perMinute: number },
): void {
  const limit = ipLimit(app, 'shared-secret', { max: deps.perMinute, timeWindow: 60_000 });
  app.get(SHARED_SECRET_PATH, { onRequest: limit }, async () => ({ nonce: await deps.sharedSecret.newNonce() }));
  app.post(SHARED_SECRET_PATH, { onRequest: limit }, async (request) =>
    deps.sharedSecret.register(requireObject(request.body)),
  );
}
