// Synapse-compatible admin API for registration tokens: /_synapse/admin/v1/registration_tokens.
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { RegistrationTokenService } from '../../services/registration-tokens.js';
import { requireObject } from '../body.js';
import { parseWith } from '../validate.js';
import type { AdminGuard } from '../admin-auth.js';

const BASE = '/_synapse/admin/v1/registration_tokens';
const ListQuery = z.object({ valid: z.enum(['true', 'false']).optional() }).loose();
const TokenParam = z.object({ token: z.string() });
// Field types are checked by the service (Synapse's messages and M_INVALID_PARAM).
const NewBody = z.object({
  token: z.unknown().optional(),
  length: z.unknown().optional(),
  uses_allowed: z.unknown().optional(),
  expiry_time: z.unknown().optional(),
}).loose();

export function adminRegistrationTokenRoutes(
  app: FastifyInstance,
  deps: { tokens: RegistrationTokenService; requireAdmin: AdminGuard },
): void {
  const { tokens, requireAdmin } = deps;
  const opts = { preHandler: requireAdmin };

  app.get(BASE, opts, async (request) => {
    const { valid } = parseWith(ListQuery, request.query, 'query');
    return { registration_tokens: await tokens.list(valid === undefined ? undefined : valid === 'true') };
  });

  app.post(`${BASE}/new`, opts, async (request) => {
    const body = parseWith(NewBody, requireObject(request.body ?? {}));
    return tokens.create(body as Parameters<RegistrationTokenService['create']>[0]);
  });

  app.get(`${BASE}/:token`, opts, async (request) => tokens.get(parseWith(TokenParam, request.params).token));

  app.put(`${BASE}/:token`, opts, async (request) => {
    const { token } = parseWith(TokenParam, request.params);
    const body = requireObject(request.body ?? {});
    const changes: { uses_allowed?: number | null; expiry_time?: number | null } = {};
    if ('uses_allowed' in body) changes.uses_allowed = body.uses_allowed as number | null;
    if ('expiry_time' in body) changes.expiry_time = body.expiry_time as number | null;
    return tokens.update(token, changes);
  });

  app.delete(`${BASE}/:token`, opts, async (request) => {
    await tokens.remove(parseWith(TokenParam, request.params).token);
    return {};
  });
}

