// The admin API is authorised by `Authorization: Bearer <ADMIN_TOKEN>`, compared in constant
// time. With no ADMIN_TOKEN configured the admin API is off.
import type { FastifyReply, FastifyRequest } from 'fastify';
import { errors } from '../errors.js';
import { safeEqual } from '../lib/secrets.js';

export type AdminGuard = (request: FastifyRequest, reply: FastifyReply) => Promise<void>;

export function bearerToken(request: FastifyRequest): string | undefined {
  const h = request.headers.authorization;
  if (typeof h !== 'string') return undefined;
  const m = /^Bearer\s+(\S+)\s*$/i.exec(h);
  return m?.[1];
}

export function createAdminGuard(adminToken: string | undefined): AdminGuard {
  return async (request) => {
    if (adminToken === undefined) throw errors.forbidden('The admin API is disabled: set ADMIN_TOKEN to enable it.');
    const presented = bearerToken(request);
    if (presented === undefined) throw errors.missingToken();
    if (!safeEqual(presented, adminToken)) throw errors.unknownToken('Unrecognised admin token.');
  };
}
