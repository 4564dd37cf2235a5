// Admin API for the registration audit log (this service's extension):
//   GET /_synapse/admin/v1/registration_attempts?limit=&from=&outcome=&ip=&since=
// Newest first; `next_token` pages on.
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { RegistrationAuditService } from '../../services/registration-audit.js';
import type { AdminGuard } from '../admin-auth.js';
import { parseWith } from '../validate.js';

const Query = z
  .object({
    from: z.string().regex(/^\d{1,15}$/, 'must be a next_token').transform(Number).optional(),
    limit: z.string().regex(/^\d{1,4}$/, 'must be an integer from 1 to 1000').transform(Number)
      .refine((n) => n >= 1 && n <= 1000, 'must be an integer from 1 to 1000').optional(),
    outcome: z.enum(['registered', 'pending_approval', 'refused']).optional(),
    ip: z.string().min(1).max(64).optional(),
    since: z.string().regex(/^\d{1,15}$/, 'must be a time in milliseconds').transform(Number).optional(),
  })
  .loose();

export function adminRegistrationAttemptRoutes(app: FastifyInstance, deps: { audit: RegistrationAuditService; requireAdmin: AdminGuard }): void {
  app.get('/_synapse/admin/v1/registration_attempts', { preHandler: deps.requireAdmin }, async (request) => {
    const q = parseWith(Query, request.query, 'query');
    return deps.audit.list({ before: q.from, limit: q.limit ?? 100, outcome: q.outcome, ip: q.ip, since: q.since });
  });
}
