// submit_url: POST {sid, client_secret, token} for clients that collect the code themselves
// (the identity service API's submitToken shape). Answers {"success": true}, or
// 400 M_THREEPID_AUTH_FAILED for a wrong, expired or unknown code (one answer for all).
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { SUBMIT_TOKEN_PATH, type ThreepidService } from '../../services/threepid.js';
import { requireObject } from '../body.js';
import { ipLimit } from '../rate-limit.js';
import { parseWith } from '../validate.js';

const Body = z.object({ sid: z.string(), client_secret: z.string(), token: z.string() }).loose();

export function threepidSubmitTokenRoute(app: FastifyInstance, deps: { threepids: ThreepidService; perMinute: number }): void {
  const limit = ipLimit(app, '3pid-submit-token', { max: deps.perMinute, timeWindow: 60_000 });
  app.route({
    method: 'POST',
    url: SUBMIT_TOKEN_PATH,
    onRequest: limit,
    handler: async (request, reply) => {
      const b = parseWith(Body, requireObject(request.body));
      await deps.threepids.submitToken({ sid: b.sid, clientSecret: b.client_secret, token: b.token, ip: request.ip });
      return reply.send({ success: true });
    },
  });
}
