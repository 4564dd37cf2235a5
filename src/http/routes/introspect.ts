// POST /_registration/v1/introspect: token introspection for the homeserver behind the same
// proxy, in the shape of RFC 7662. The homeserver authenticates with the shared secret
// INTROSPECTION_SECRET as a bearer token, or as OAuth client credentials (HTTP Basic password
// or a `client_secret` field); with no secret configured the endpoint is off. The token comes in
// the body field `token`, form-encoded (or JSON, with Content-Type: application/json). The answer
// is {"active": false} for an unknown, revoked or expired token, else the token's user, device,
// expiry and guest flag.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { errors } from '../../errors.js';
import { safeEqual } from '../../lib/secrets.js';
import type { AuthenticationService } from '../../services/authentication.js';
import { bearerToken } from '../admin-auth.js';
import { FormBody, requireObject } from '../body.js';
import { parseWith } from '../validate.js';

export const INTROSPECTION_PATH = '/_registration/v1/introspect';

const Body = z.object({ token: z.string().max(1024), client_secret: z.string().max(1024).optional() }).loose();

/** The secret the caller presented: bearer token, HTTP Basic password, or client_secret field. */
function presentedSecret(request: FastifyRequest, body: Record<string, unknown>): string | undefined {
  const bearer = bearerToken(request);
  if (bearer !== undefined) return bearer;
  const basic = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(request.headers.authorization ?? '');
  if (basic) {
    const decoded = Buffer.from(basic[1]!, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon >= 0) return decodeURIComponent(decoded.slice(colon + 1).replace(/\+/g, ' '));
  }
  return typeof body.client_secret === 'string' ? body.client_secret : undefined;
}

/** The body as plain fields: an RFC 7662 form post, or a JSON object. */
function fieldsOf(body: unknown): Record<string, unknown> {
  return body instanceof FormBody ? Object.fromEntries(body.fields) : requireObject(body);
}

export function introspectionRoute(app: FastifyInstance, deps: { auth: AuthenticationService; secret: string | undefined }): void {
  app.route({
    method: 'POST',
    url: INTROSPECTION_PATH,
    // RFC 7662 callers send application/x-www-form-urlencoded (see http/body.ts).
    config: { formBody: true },
    handler: async (request, reply) => {
      if (deps.secret === undefined) throw errors.introspectionDisabled();
      const raw = fieldsOf(request.body);
      const presented = presentedSecret(request, raw);
      if (presented === undefined) throw errors.missingToken();
      if (!safeEqual(presented, deps.secret)) throw errors.unknownToken('Unrecognised introspection secret.');
      const { token } = parseWith(Body, raw);
      reply.header('cache-control', 'no-store');
      return reply.send(await deps.auth.introspect(token));
    },
  });
}
