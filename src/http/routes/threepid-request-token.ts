// POST /register/{email,msisdn}/requestToken and /account/password/{email,msisdn}/requestToken
// (spec: registration.yaml, password_management.yaml). id_server and id_access_token are accepted
// and ignored: this service validates addresses itself.
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { ThreepidPurpose } from '../../domain/threepid.js';
import type { ThreepidService, ThreepidTarget } from '../../services/threepid.js';
import { requireObject } from '../body.js';
import { clientRoute } from '../paths.js';
import { ipLimit } from '../rate-limit.js';
import { parseWith } from '../validate.js';

const common = {
  client_secret: z.string(),
  send_attempt: z.number().int(),
  next_link: z.string().max(2048).nullish().transform((v) => v ?? undefined),
  id_server: z.unknown().optional(),
  id_access_token: z.unknown().optional(),
};
const EmailBody = z.object({ ...common, email: z.string().max(512) }).loose();
const MsisdnBody = z.object({ ...common, country: z.string().max(8), phone_number: z.string().max(64) }).loose();

const userAgentOf = (h: string | string[] | undefined) => (Array.isArray(h) ? h.join(', ') : h);

export function threepidRequestTokenRoutes(app: FastifyInstance, deps: { threepids: ThreepidService; perMinute: number }): void {
  const { threepids } = deps;
  const limit = ipLimit(app, '3pid-request-token', { max: deps.perMinute, timeWindow: 60_000 });
  const routes: [string, ThreepidPurpose][] = [
    ['/register', 'registration'],
    ['/account/password', 'reset'],
  ];
  for (const [base, purpose] of routes) {
    clientRoute(app, `${base}/email/requestToken`, {
      method: 'POST',
      onRequest: limit,
      handler: async (request, reply) => {
        const b = parseWith(EmailBody, requireObject(request.body));
        const target: ThreepidTarget = { medium: 'email', email: b.email };
        return reply.send(
          await threepids.requestToken({ purpose, target, clientSecret: b.client_secret, sendAttempt: b.send_attempt, nextLink: b.next_link, ip: request.ip, userAgent: userAgentOf(request.headers['user-agent']) }),
        );
      },
    });
    clientRoute(app, `${base}/msisdn/requestToken`, {
      method: 'POST',
      onRequest: limit,
      handler: async (request, reply) => {
        const b = parseWith(MsisdnBody, requireObject(request.body));
        const target: ThreepidTarget = { medium: 'msisdn', country: b.country, phoneNumber: b.phone_number };
        return reply.send(
          await threepids.requestToken({ purpose, target, clientSecret: b.client_secret, sendAttempt: b.send_attempt, nextLink: b.next_link, ip: request.ip, userAgent: userAgentOf(request.headers['user-agent']) }),
        );
      },
    });
  }
}
