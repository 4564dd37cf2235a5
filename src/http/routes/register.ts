// POST /register (spec: registration.yaml).
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { errors } from '../../errors.js';
import type { RegistrationService } from '../../services/registration.js';
import { bearerToken } from '../admin-auth.js';
import { requireObject } from '../body.js';
import { clientRoute, operationOf } from '../paths.js';
import { bucketAsWindow, createLimiter, ipLimit } from '../rate-limit.js';
import { parseWith } from '../validate.js';

export const APPSERVICE_LOGIN_TYPE = 'm.login.application_service';

const Query = z.object({ kind: z.enum(['user', 'guest']).default('user') }).loose();

// Device IDs are opaque to clients; bound them so they stay printable and indexable.
const DeviceId = z.string().min(1).max(255).regex(/^[\x21-\x7e]+$/, 'must be 1-255 printable ASCII characters');
// Postgres text cannot hold NUL: refuse it here rather than fail in the database.
const DisplayName = z.string().max(1024).refine((s) => !s.includes('\u0000'), 'must not contain NUL characters');
const opt = <T extends z.ZodType>(t: T) => t.nullish().transform((v) => v ?? undefined);

const Body = z
  .object({
    auth: opt(z.record(z.string(), z.unknown())),
    username: opt(z.string()),
    password: opt(z.string()),
    device_id: opt(DeviceId),
    initial_device_display_name: opt(DisplayName),
    inhibit_login: opt(z.boolean()),
    refresh_token: opt(z.boolean()),
  })
  .loose();

const userAgentOf = (h: string | string[] | undefined) => (Array.isArray(h) ? h.join(', ') : h);

export interface RegisterRouteDeps {
  registration: RegistrationService;
  limits: { registerPerSecond: number; registerBurst: number; registerRequestsPerMinute: number };
}

export function registerRoute(app: FastifyInstance, deps: RegisterRouteDeps): void {
  const { registration, limits } = deps;
  // Every request counts against a generous per-IP budget; a request that starts a new
  // registration (no UIA session yet) or creates a guest also spends Synapse's rc_registration
  // budget, so continuing an existing session is never what trips the limit.
  const bucket = bucketAsWindow(limits.registerPerSecond, limits.registerBurst);
  const startLimiter = createLimiter(app, 'register-start', bucket);
  const requestLimit = ipLimit(app, 'register', { max: limits.registerRequestsPerMinute, timeWindow: 60_000 });

  clientRoute(app, '/register', {
    method: 'POST',
    onRequest: requestLimit,
    handler: async (request, reply) => {
      const { kind } = parseWith(Query, request.query, 'query');
      const raw = requireObject(request.body);
      if (kind === 'guest') {
        // Every parameter but initial_device_display_name is ignored for guests (spec).
        const name = raw.initial_device_display_name;
        if (name !== undefined && name !== null && typeof name !== 'string') {
          throw errors.badJson('initial_device_display_name: expected string');
        }
        if (typeof name === 'string' && name.includes('\u0000')) {
          throw errors.badJson('initial_device_display_name: must not contain NUL characters');
        }
        await startLimiter(request);
        const body = await registration.registerGuest({
          ip: request.ip,
          userAgent: userAgentOf(request.headers['user-agent']),
          initialDeviceDisplayName: typeof name === 'string' ? name.slice(0, 1024) : undefined,
        });
        return reply.send(body);
      }
      const b = parseWith(Body, raw);

      // Application services (application-service API: server admin style permissions): the
      // as_token as a Bearer token and type m.login.application_service, no UIA. As in Synapse,
      // only that type makes the token matter: any other request is ordinary registration (a
      // stale token a client sends along is ignored). They are exempt from the rc_registration
      // budget (bridges create users in bulk) but not from the per-IP request budget.
      const type = raw.type ?? b.auth?.type;
      if (type === APPSERVICE_LOGIN_TYPE) {
        const asToken = bearerToken(request) ?? (typeof request.query === 'object' && request.query !== null
          ? ((request.query as Record<string, unknown>).access_token as string | undefined)
          : undefined);
        if (asToken === undefined) throw errors.missingToken();
        const appservice = registration.appserviceByToken(String(asToken));
        if (!appservice) throw errors.unknownToken();
        // The application-service API historically named the field "user".
        const username = b.username ?? (typeof raw.user === 'string' ? raw.user : undefined);
        if (username === undefined) throw errors.missingParam('username');
        const body = await registration.registerDirect({
          kind: 'appservice',
          appservice,
          username,
          inhibitLogin: b.inhibit_login ?? false,
          deviceId: b.device_id,
          initialDeviceDisplayName: b.initial_device_display_name,
          refreshToken: b.refresh_token ?? false,
        });
        return reply.send(body);
      }

      if (b.auth?.session === undefined) await startLimiter(request);
      const result = await registration.registerUser({
        operation: operationOf('POST', request.url),
        ip: request.ip,
        userAgent: userAgentOf(request.headers['user-agent']),
        auth: b.auth,
        username: b.username,
        password: b.password,
        deviceId: b.device_id,
        initialDeviceDisplayName: b.initial_device_display_name,
        inhibitLogin: b.inhibit_login ?? false,
        refreshToken: b.refresh_token ?? false,
      });
      return reply.code(result.status).send(result.body);
    },
  });
}
