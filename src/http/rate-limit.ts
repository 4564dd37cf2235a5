// Rate limiting with @fastify/rate-limit, keyed by client IP. Fastify takes the IP from
// X-Forwarded-For only when the connection comes from a proxy listed in TRUST_PROXY.
// Each limiter has its own key prefix and is shared by every path of its endpoint (v3 and r0),
// so switching prefixes does not double a budget.
//
// Counters live in each instance's memory unless a Redis client is given (REDIS_URL): then every
// instance counts in the same Redis keys, so a limit holds across instances. With a Redis store,
// limiters made with app.rateLimit()/createRateLimit() all get the child key prefix
// `${nameSpace}undefinedundefined-`; the limiter's name is therefore part of every key
// (keyGenerator below), which keeps limiters apart. If Redis is unreachable, requests are let
// through (skipOnError) and the failure is logged: an outage of Redis must not stop registration.
import rateLimit, { normalizeIP } from '@fastify/rate-limit';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Redis } from 'ioredis';
import { errors } from '../errors.js';

export async function registerRateLimit(
  app: FastifyInstance,
  shared?: { redis: Redis; nameSpace: string },
): Promise<void> {
  await app.register(rateLimit, {
    global: false,
    errorResponseBuilder: (_req, ctx) => errors.limitExceeded(ctx.ttl),
    // The x-ratelimit-* headers only on a 429 (with Retry-After), as Synapse: Matrix clients
    // read retry_after_ms from the error, and three more headers on every other answer were
    // work on every request for nobody.
    addHeadersOnExceeding: { 'x-ratelimit-limit': false, 'x-ratelimit-remaining': false, 'x-ratelimit-reset': false },
    ...(shared ? { redis: shared.redis, nameSpace: shared.nameSpace, skipOnError: true } : {}),
  });
}

const keyFor = (name: string) => (req: FastifyRequest) => `${name}:${normalizeIP(req.ip, 64)}`;

/** An onRequest hook that counts every request of the routes it is attached to. */
export function ipLimit(
  app: FastifyInstance,
  name: string,
  limit: { max: number; timeWindow: number },
): (req: FastifyRequest, reply: FastifyReply) => Promise<void> {
  return app.rateLimit({ ...limit, keyGenerator: keyFor(name) }) as (req: FastifyRequest, reply: FastifyReply) => Promise<void>;
}

export type Limiter = (req: FastifyRequest) => Promise<void>;

/** A limiter called from inside a handler, for when only some requests should count. */
export function createLimiter(app: FastifyInstance, name: string, limit: { max: number; timeWindow: number }): Limiter {
  const check = app.createRateLimit({ ...limit, keyGenerator: keyFor(name) });
  return async (req) => {
    const r = await check(req);
    if (!r.isAllowed && r.isExceeded) throw errors.limitExceeded(r.ttl);
  };
}

/**
 * Synapse describes limits as a token bucket (per_second, burst_count); @fastify/rate-limit
 * counts in fixed windows. `burst` requests per burst/per_second seconds gives the same burst and
 * the same long-run rate.
 */
export function bucketAsWindow(perSecond: number, burst: number): { max: number; timeWindow: number } {
  return { max: burst, timeWindow: Math.ceil((burst / perSecond) * 1000) };
}
