// Synapse-shaped admin user API for account approval (MSC3866):
//   GET /_synapse/admin/v2/users?approved=false   the pending queue (registration IP, user agent,
//                                                 time, 3PIDs and token of each account)
//   GET /_synapse/admin/v2/users/<user_id>        one account, with `approved`
//   PUT /_synapse/admin/v2/users/<user_id>        {"approved": true} approves;
//                                                 {"deactivated": true} rejects (deactivates)
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { AccountApprovalService } from '../../services/account-approval.js';
import type { AdminGuard } from '../admin-auth.js';
import { requireObject } from '../body.js';
import { parseWith } from '../validate.js';

const BASE = '/_synapse/admin/v2/users';
const boolParam = z.enum(['true', 'false']).transform((v) => v === 'true');
const ListQuery = z
  .object({
    approved: boolParam.optional(),
    deactivated: boolParam.optional(),
    from: z.string().regex(/^\d{1,9}$/, 'must be a non-negative integer').transform(Number).optional(),
    limit: z.string().regex(/^\d{1,4}$/, 'must be an integer from 1 to 1000').transform(Number)
      .refine((n) => n >= 1 && n <= 1000, 'must be an integer from 1 to 1000').optional(),
  })
  .loose();
const UserParam = z.object({ userId: z.string().min(1).max(255) });
const UpdateBody = z
  .object({ approved: z.boolean().optional(), deactivated: z.boolean().optional() })
  .loose();

export function adminUserRoutes(app: FastifyInstance, deps: { approvals: AccountApprovalService; requireAdmin: AdminGuard }): void {
  const { approvals, requireAdmin } = deps;
  const opts = { preHandler: requireAdmin };

  app.get(BASE, opts, async (request) => {
    const q = parseWith(ListQuery, request.query, 'query');
    return approvals.list({ approved: q.approved, deactivated: q.deactivated ?? false, from: q.from ?? 0, limit: q.limit ?? 100 });
  });

  app.get(`${BASE}/:userId`, opts, async (request) => approvals.get(parseWith(UserParam, request.params).userId));

  app.put(`${BASE}/:userId`, opts, async (request) => {
    const { userId } = parseWith(UserParam, request.params);
    const body = parseWith(UpdateBody, requireObject(request.body ?? {}));
    return approvals.update(userId, { approved: body.approved, deactivated: body.deactivated });
  });
}
