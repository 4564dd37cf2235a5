// POST /account/password (spec: password_management.yaml), with an access token and UIA
// m.login.password. (A reset without an access token, by email or phone, is a later issue.)
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { AccountService } from '../../services/account.js';
import type { AuthenticationService } from '../../services/authentication.js';
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

export function accountPasswordRoute(app: FastifyInstance, deps: { auth: AuthenticationService; account: AccountService }): void {
  clientRoute(app, '/account/password', {
    method: 'POST',
    preHandler: requireAuth(deps.auth, { allowGuests: false }),
    handler: async (request, reply) => {
      const b = parseWith(Body, requireObject(request.body));
      const result = await deps.account.changePasswordWithUia({
        operation: operationOf('POST', request.url),
        requester: requesterOf(request),
        ip: request.ip,
        auth: b.auth,
        newPassword: b.new_password,
        logoutDevices: b.logout_devices,
      });
      return reply.code(result.status).send(result.body);
    },
  });
}
