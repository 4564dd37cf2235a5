// POST /account/deactivate (spec: account_deactivation), with an access token and UIA
// m.login.password.
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
    id_server: opt(z.string()),
    erase: opt(z.boolean()),
  })
  .loose();

export function accountDeactivateRoute(app: FastifyInstance, deps: { auth: AuthenticationService; account: AccountService }): void {
  clientRoute(app, '/account/deactivate', {
    method: 'POST',
    preHandler: requireAuth(deps.auth, { allowGuests: false }),
    handler: async (request, reply) => {
      // An empty body is allowed: every field is optional.
      const b = parseWith(Body, request.body === undefined ? {} : requireObject(request.body));
      const result = await deps.account.deactivateWithUia({
        operation: operationOf('POST', request.url),
        requester: requesterOf(request),
        ip: request.ip,
        auth: b.auth,
        erase: b.erase,
      });
      return reply.code(result.status).send(result.body);
    },
  });
}
