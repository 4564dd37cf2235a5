// Admin API for registration bans (this service's extension, next to Synapse's admin paths):
//   GET    /_synapse/admin/v1/registration_bans        configured and added bans
//   POST   /_synapse/admin/v1/registration_bans        {"kind": "ip"|"user_agent", "value", "reason"?}
//   DELETE /_synapse/admin/v1/registration_bans/<id>   lifts a ban added through this API
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { RegistrationBanService } from '../../services/registration-bans.js';
import type { AdminGuard } from '../admin-auth.js';
import { requireObject } from '../body.js';
import { parseWith } from '../validate.js';

const BASE = '/_synapse/admin/v1/registration_bans';
const NewBan = z.object({
  kind: z.enum(['ip', 'user_agent']),
  value: z.string().min(1).max(256),
  reason: z.string().max(1000).nullish(),
});
const IdParam = z.object({ id: z.string().regex(/^\d{1,15}$/, 'must be a ban id').transform(Number) });

export function adminRegistrationBanRoutes(app: FastifyInstance, deps: { bans: RegistrationBanService; requireAdmin: AdminGuard }): void {
  const { bans, requireAdmin } = deps;
  const opts = { preHandler: requireAdmin };
  app.get(BASE, opts, async () => bans.list());
  app.post(BASE, opts, async (request, reply) => {
    const body = parseWith(NewBan, requireObject(request.body ?? {}));
    const { ban, created } = await bans.add({ kind: body.kind, value: body.value, reason: body.reason ?? null });
    return reply.code(created ? 201 : 200).send(ban);
  });
  app.delete(`${BASE}/:id`, opts, async (request) => {
    await bans.remove(parseWith(IdParam, request.params, 'query').id);
    return {};
  });
}
