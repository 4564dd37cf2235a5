// Request authentication, in one place: the access token comes only from the
// `Authorization: Bearer` header; the service resolves it. Routes attach `requireAuth(...)` as a
// preHandler and read the result with `requesterOf(request)`.
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { AuthenticationService, AuthOptions, Requester } from '../services/authentication.js';
import { bearerToken } from './admin-auth.js';

const requesters = new WeakMap<FastifyRequest, Requester>();

export type AuthHook = (request: FastifyRequest, reply: FastifyReply) => Promise<void>;

export function requireAuth(auth: AuthenticationService, opts: AuthOptions): AuthHook {
  return async (request) => {
    requesters.set(request, await auth.authenticate(bearerToken(request), opts));
  };
}

/** The authenticated requester of a route that has requireAuth as a preHandler. */
export function requesterOf(request: FastifyRequest): Requester {
  const r = requesters.get(request);
  if (!r) throw new Error('requesterOf called on a route without requireAuth');
  return r;
}
