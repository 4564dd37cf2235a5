// Two instances behind one load balancer: one PostgreSQL database, one Redis. Any instance serves
// any request, rate limits hold across instances, and a registration token raced from both is
// never used more than uses_allowed times.
import { spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../helpers/process.js';
import { ADMIN_TOKEN, startApp, uniqueName, type TestApp } from '../helpers/app.js';
import { DATABASE_KINDS, openTestDatabase, type TestDatabase } from '../helpers/databases.js';
import { openTestRedis, type TestRedis } from '../helpers/redis.js';
import { expectMatrixError, expectSpec } from '../helpers/spec.js';

const REG = '/_matrix/client/v3/register';

describe.each(DATABASE_KINDS)('two instances on one database and one Redis (%s)', (kind) => {
  let database: TestDatabase;
  let redis: TestRedis;
  let a: TestApp;
  let b: TestApp;

  beforeAll(async () => {
    database = await openTestDatabase(kind);
    redis = await openTestRedis();
    const env = {
      REGISTRATION_REQUIRES_TOKEN: 'true',
      REDIS_URL: redis.url,
      REDIS_KEY_PREFIX: redis.prefix,
      RATE_LIMIT_REGISTER_BURST: '1000',
      RATE_LIMIT_REGISTER_REQUESTS_PER_MINUTE: '10000',
      RATE_LIMIT_TOKEN_FAILURES: '1000',
      RATE_LIMIT_AVAILABLE_PER_MINUTE: '4',
    };
    a = await startApp(database, env);
    b = await startApp(database, env);
  });
  afterAll(async () => {
    await a?.close();
    await b?.close();
    await redis?.close();
    await database?.close();
  });

  const newToken = async (usesAllowed: number) => {
    const res = await a.app.inject({
      method: 'POST',
      url: '/_synapse/admin/v1/registration_tokens/new',
      headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
      payload: { uses_allowed: usesAllowed },
    });
    expect(res.statusCode).toBe(200);
    return res.json().token as string;
  };

  it('completes on one instance a UIA session started on the other', async () => {
    const token = await newToken(1);
    const username = uniqueName();
    const first = await a.app.inject({ method: 'POST', url: REG, payload: { username, password: 'a good password' } });
    expect(first.statusCode).toBe(401);
    const session = expectSpec(first, 'registration.yaml', '/register', 'post').session;
    const done = await b.app.inject({ method: 'POST', url: REG, payload: { auth: { type: 'm.login.registration_token', token, session } } });
    expect(done.statusCode).toBe(200);
    expect(expectSpec(done, 'registration.yaml', '/register', 'post').user_id).toBe(`@${username}:test.example`);
    // And the spent session is refused by the first instance.
    const replay = await a.app.inject({ method: 'POST', url: REG, payload: { auth: { type: 'm.login.registration_token', token, session } } });
    expectMatrixError(replay, 403, 'M_FORBIDDEN');
  });

  it('enforces one rate limit across both instances through Redis', async () => {
    const check = (t: TestApp) => t.app.inject({ url: `/_matrix/client/v3/register/available?username=${uniqueName()}` });
    const statuses: number[] = [];
    for (const t of [a, b, a, b]) statuses.push((await check(t)).statusCode);
    expect(statuses).toEqual([200, 200, 200, 200]);
    expectMatrixError(await check(a), 429, 'M_LIMIT_EXCEEDED');
    expectMatrixError(await check(b), 429, 'M_LIMIT_EXCEEDED');
    // The counters are in Redis under this run's prefix, one key per limiter and client.
    const keys = await redis.keys();
    expect(keys.some((k) => k.startsWith(redis.prefix) && k.includes('available:127.0.0.1'))).toBe(true);
    expect(keys.some((k) => k.includes('register:127.0.0.1'))).toBe(true);
  });

  it('never lets a token raced from both instances exceed uses_allowed', async () => {
    const usesAllowed = 3;
    const token = await newToken(usesAllowed);
    const contenders = 10;
    const sessions: string[] = [];
    for (let i = 0; i < contenders; i++) {
      const t = i % 2 === 0 ? a : b;
      const res = await t.app.inject({ method: 'POST', url: REG, payload: { username: uniqueName('race'), password: 'a good password' } });
      sessions.push(res.json().session);
    }
    // Each session finishes on the other instance than the one it started on, all at once.
    const results = await Promise.all(
      sessions.map((session, i) =>
        (i % 2 === 0 ? b : a).app.inject({ method: 'POST', url: REG, payload: { auth: { type: 'm.login.registration_token', token, session } } }),
      ),
    );
    const ok = results.filter((r) => r.statusCode === 200);
    expect(ok).toHaveLength(usesAllowed);
    for (const r of results.filter((x) => x.statusCode !== 200)) {
      expect(r.statusCode).toBe(401);
      expect(expectSpec(r, 'registration.yaml', '/register', 'post').errcode).toBe('M_UNAUTHORIZED');
    }
    const row = await a.db.query('SELECT pending, completed FROM registration_tokens WHERE token = $1', [token]);
    expect(row.rows[0]).toEqual({ pending: 0, completed: usesAllowed });
    const users = await a.db.query('SELECT count(*)::int AS n FROM users WHERE registration_token = $1', [token]);
    expect(users.rows[0].n).toBe(usesAllowed);
  });
});

describe.each(DATABASE_KINDS)('rate-limit counters without Redis, or with Redis gone (%s)', (kind) => {
  let database: TestDatabase;
  beforeAll(async () => {
    database = await openTestDatabase(kind);
  });
  afterAll(async () => {
    await database?.close();
  });

  it('are counted by each instance alone without REDIS_URL, as README says', async () => {
    const env = { RATE_LIMIT_AVAILABLE_PER_MINUTE: '2' };
    const a = await startApp(database, env);
    const b = await startApp(database, env);
    try {
      const check = (t: TestApp) => t.app.inject({ url: `/_matrix/client/v3/register/available?username=${uniqueName()}` });
      expect([(await check(a)).statusCode, (await check(a)).statusCode, (await check(a)).statusCode]).toEqual([200, 200, 429]);
      expect((await check(b)).statusCode).toBe(200);
    } finally {
      await a.close();
      await b.close();
    }
  });

  it('let requests through while Redis is down, and count again when it returns', async () => {
    // A private redis-server of this test's own, so the shared one is never stopped.
    const port = await freePort();
    const startRedis = async () => {
      const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
      const { Redis } = await import('ioredis');
      for (let i = 0; i < 50; i++) {
        const probe = new Redis(`redis://127.0.0.1:${port}`, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
        probe.on('error', () => {});
        const up = await probe.connect().then(() => true, () => false);
        probe.disconnect();
        if (up) return child;
        await new Promise((r) => setTimeout(r, 100));
      }
      child.kill('SIGKILL');
      throw new Error('private redis-server did not start');
    };
    const stopRedis = (child: ReturnType<typeof spawn>) =>
      new Promise<void>((resolve) => {
        child.once('exit', () => resolve());
        child.kill('SIGKILL');
      });
    let redisChild = await startRedis();
    const t = await startApp(database, { REDIS_URL: `redis://127.0.0.1:${port}`, RATE_LIMIT_AVAILABLE_PER_MINUTE: '2' });
    try {
      const check = () => t.app.inject({ url: `/_matrix/client/v3/register/available?username=${uniqueName()}` });
      expect([(await check()).statusCode, (await check()).statusCode, (await check()).statusCode]).toEqual([200, 200, 429]);
      await stopRedis(redisChild);
      // Not enforced, never a 500: registration does not depend on Redis.
      expect([(await check()).statusCode, (await check()).statusCode, (await check()).statusCode]).toEqual([200, 200, 200]);
      redisChild = await startRedis();
      let status = 200;
      for (let i = 0; i < 100 && status !== 429; i++) {
        status = (await check()).statusCode;
        if (status !== 429) await new Promise((r) => setTimeout(r, 100));
      }
      expect(status).toBe(429);
    } finally {
      await t.close();
      await stopRedis(redisChild);
    }
  });

  it('stop start-up when REDIS_URL is unreachable', async () => {
    await expect(startApp(database, { REDIS_URL: 'redis://127.0.0.1:1' })).rejects.toThrow(/REDIS_URL: cannot connect/);
  });
});
