// POST /account/password (spec: password_management.yaml). With an access token: a password
// change behind UIA m.login.password. Without one (no Authorization header), when email or phone
// validation is configured: a password reset behind m.login.email.identity / m.login.msisdn,
// for the account the validated identifier is bound to.
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { AccountService } from '../../services/account.js';
import type { AuthenticationService } from '../../services/authentication.js';
import type { PasswordResetService } from '../../services/password-reset.js';
import { requesterOf, requireAuth } from '../auth.js';
import { requireObject } from '../body.js';
import { clientRoute, operationOf } from '../paths.js';
import { opt } from '../schemas.js';
import { parseWith } from '../validate.js';

const Body = z
  .object({
    auth: opt(z.record(z.string(), z.unknown())),
    new_password: opt(z.string()),
    logout_devices: opt(z.boolean()),
  })
  .loose();

export function accountPasswordRoute(
  app: FastifyInstance,
  deps: { auth: AuthenticationService; account: AccountService; reset: PasswordResetService },
): void {
  const authenticate = requireAuth(deps.auth, { allowGuests: false });
  const isReset = (headers: Record<string, unknown>) => headers.authorization === undefined && deps.reset.available;
  clientRoute(app, '/account/password', {
    method: 'POST',
    preHandler: async (request, reply) => {
      if (!isReset(request.headers)) await authenticate(request, reply);
    },
    handler: async (request, reply) => {
      const b = parseWith(Body, requireObject(request.body));
      const common = {
        operation: operationOf('POST', request.url),
        ip: request.ip,
        auth: b.auth,
        newPassword: b.new_password,
        logoutDevices: b.logout_devices,
      };
      const result = isReset(request.headers)
        ? await deps.reset.reset(common)
        : await deps.account.changePasswordWithUia({ ...common, requester: requesterOf(request) });
      return reply.code(result.status).send(result.body);
    },
  });
}
