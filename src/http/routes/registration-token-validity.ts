// GET /_matrix/client/v1/register/m.login.registration_token/validity (spec: registration_tokens.yaml),
// and the unstable MSC3231 path older clients still call.
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { errors } from '../../errors.js';
import type { RegistrationTokenService } from '../../services/registration-tokens.js';
import { bucketAsWindow, ipLimit } from '../rate-limit.js';
import { parseWith } from '../validate.js';

const Query = z.object({ token: z.string() }).loose();

export const VALIDITY_PATHS = [
  '/_matrix/client/v1/register/m.login.registration_token/validity',
  '/_matrix/client/unstable/org.matrix.msc3231/register/org.matrix.msc3231.login.registration_token/validity',
];

export function registrationTokenValidityRoute(
  app: FastifyInstance,
  deps: { tokens: RegistrationTokenService; registrationEnabled: boolean; perSecond: number; burst: number },
): void {
  const limit = ipLimit(app, 'token-validity', bucketAsWindow(deps.perSecond, deps.burst));
  for (const url of VALIDITY_PATHS) {
    app.get(url, { onRequest: limit }, async (request, reply) => {
      if (!deps.registrationEnabled) throw errors.forbidden('Registration is not enabled on this homeserver.');
      const { token } = parseWith(Query, request.query, 'query');
      return reply.send({ valid: await deps.tokens.isValid(token) });
    });
  }
}
