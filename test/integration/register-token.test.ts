// POST /register through m.login.registration_token (REGISTRATION_REQUIRES_TOKEN=true): the full
// flow, wrong tokens and their per-IP failure budget, the pending/completed counters, an abandoned
// session's hold lapsing and giving its use back, uses_allowed 0, and twenty clients racing for a
// token's last use.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_TOKEN, startApp, uniqueName, type TestApp } from '../helpers/app.js';
import { DATABASE_KINDS, openTestDatabase, type TestDatabase } from '../helpers/databases.js';
import { expectSpec } from '../helpers/spec.js';

const REG = '/register';
const TOKEN_STAGE = 'm.login.registration_token';
const AUTH = { authorization: `Bearer ${ADMIN_TOKEN}` };
const PASSWORD = 'a good password';

let counter = 0;
const uniqueToken = (p = 'r') => `${p}${process.pid}_${++counter}_${Math.floor(Math.random() * 1e6)}`;
let ipCounter = 0;
/** A fresh client address per test, so per-IP budgets never leak between tests. */
const nextIp = () => `10.20.${Math.floor(++ipCounter / 250)}.${(ipCounter % 250) + 1}`;

describe.each(DATABASE_KINDS)('registration with m.login.registration_token (%s)', (kind) => {
  let database: TestDatabase;
  let t: TestApp;

  beforeAll(async () => {
    database = await openTestDatabase(kind);
    t = await startApp(database, {
      REGISTRATION_REQUIRES_TOKEN: 'true',
      ENABLE_REGISTRATION_WITHOUT_VERIFICATION: 'false',
      REGISTRATION_TOKEN_HOLD: '2m',
      RATE_LIMIT_TOKEN_FAILURES: '3',
      RATE_LIMIT_TOKEN_FAILURES_WINDOW: '10m',
      RATE_LIMIT_REGISTER_BURST: '1000',
      RATE_LIMIT_REGISTER_REQUESTS_PER_MINUTE: '100000',
      RATE_LIMIT_TOKEN_VALIDITY_BURST: '100000',
    });
  });
  afterAll(async () => {
    await t?.close();
    await database?.close();
  });

  const register = (payload: Record<string, unknown>, remoteAddress = '127.0.0.1') =>
    t.app.inject({ method: 'POST', url: '/_matrix/client/v3/register', payload, remoteAddress });
  const newToken = async (body: Record<string, unknown>) => {
    const res = await t.app.inject({ method: 'POST', url: '/_synapse/admin/v1/registration_tokens/new', headers: AUTH, payload: body });
    expect(res.statusCode, res.body).toBe(200);
    return res.json().token as string;
  };
  const counts = async (token: string) => {
    const res = await t.app.inject({ url: `/_synapse/admin/v1/registration_tokens/${token}`, headers: AUTH });
    expect(res.statusCode, res.body).toBe(200);
    const { pending, completed } = res.json();
    return { pending, completed };
  };
  const valid = async (token: string) => {
    const res = await t.app.inject({ url: `/_matrix/client/v1/register/m.login.registration_token/validity?token=${token}` });
    return expectSpec(res, 'registration_tokens.yaml', '/register/m.login.registration_token/validity', 'get').valid as boolean;
  };
  const available = async (username: string) => {
    const res = await t.app.inject({ url: `/_matrix/client/v3/register/available?username=${username}`, remoteAddress: nextIp() });
    const body = expectSpec(res, 'registration.yaml', '/register/available', 'get');
    return res.statusCode === 200 ? true : body.errcode;
  };
  /** Starts a registration with a username and password: the 401 challenge's session. */
  const start = async (username: string, ip?: string) => {
    const res = await register({ username, password: PASSWORD }, ip);
    expect(res.statusCode, res.body).toBe(401);
    const body = expectSpec(res, 'registration.yaml', REG, 'post');
    expect(body.flows).toEqual([{ stages: [TOKEN_STAGE] }]);
    expect(body.completed).toBeUndefined();
    expect(body.errcode).toBeUndefined();
    return body.session as string;
  };
  const submit = (session: string, token: unknown, ip?: string) => register({ auth: { type: TOKEN_STAGE, token, session } }, ip);
  /** A session that passes the token stage but does not finish (no password given yet): a hold. */
  const holdOnly = async (token: string, ip?: string) => {
    const first = await register({}, ip);
    expect(first.statusCode).toBe(401);
    const session = expectSpec(first, 'registration.yaml', REG, 'post').session as string;
    const res = await submit(session, token, ip);
    expect(res.statusCode, res.body).toBe(400);
    expect(expectSpec(res, 'registration.yaml', REG, 'post').errcode).toBe('M_MISSING_PARAM');
    return session;
  };
  const pendingInDb = async (token: string) =>
    (await t.db.query<{ pending: number }>('SELECT pending FROM registration_tokens WHERE token = $1', [token])).rows[0]!.pending;

  it('the full token flow: 401 challenge, then 200 with the token, counted as completed', async () => {
    const token = await newToken({ uses_allowed: 5 });
    const username = uniqueName('tok');
    const session = await start(username);
    const done = await submit(session, token);
    expect(done.statusCode, done.body).toBe(200);
    const body = expectSpec(done, 'registration.yaml', REG, 'post');
    expect(body.user_id).toBe(`@${username}:test.example`);
    expect(body.access_token).toEqual(expect.any(String));
    expect(await counts(token)).toEqual({ pending: 0, completed: 1 });
    expect(await available(username)).toBe('M_USER_IN_USE');
  });

  it('the flow also works under the r0 prefix', async () => {
    const token = await newToken({});
    const username = uniqueName('tokr0');
    const first = await t.app.inject({ method: 'POST', url: '/_matrix/client/r0/register', payload: { username, password: PASSWORD } });
    const session = expectSpec(first, 'registration.yaml', REG, 'post').session;
    const done = await t.app.inject({
      method: 'POST',
      url: '/_matrix/client/r0/register',
      payload: { auth: { type: TOKEN_STAGE, token, session } },
    });
    expect(done.statusCode, done.body).toBe(200);
    expect(expectSpec(done, 'registration.yaml', REG, 'post').user_id).toBe(`@${username}:test.example`);
  });

  it('m.login.dummy is not offered and does not bypass the token', async () => {
    const username = uniqueName('bypass');
    const session = await start(username);
    const res = await register({ auth: { type: 'm.login.dummy', session } });
    expect(res.statusCode).toBe(401);
    const body = expectSpec(res, 'registration.yaml', REG, 'post');
    expect(body.errcode).toBe('M_FORBIDDEN');
    expect(body.completed).toBeUndefined();
    expect(await available(username)).toBe(true);
  });

  it('a wrong token: 401 UIA body with errcode, the session continues, then the right token passes', async () => {
    const ip = nextIp();
    const token = await newToken({ uses_allowed: 1 });
    const username = uniqueName('wrong');
    const session = await start(username, ip);
    for (const wrong of [uniqueToken('nosuch'), 'not a token!']) {
      const res = await submit(session, wrong, ip);
      expect(res.statusCode).toBe(401);
      const body = expectSpec(res, 'registration.yaml', REG, 'post');
      expect(body.errcode).toBe('M_UNAUTHORIZED');
      expect(body.error).toEqual(expect.any(String));
      expect(body.session).toBe(session);
      expect(body.flows).toEqual([{ stages: [TOKEN_STAGE] }]);
      expect(body.completed).toBeUndefined();
    }
    expect(await counts(token)).toEqual({ pending: 0, completed: 0 });
    // Two failures of a budget of three: the right token still passes.
    const done = await submit(session, token, ip);
    expect(done.statusCode, done.body).toBe(200);
    expect(expectSpec(done, 'registration.yaml', REG, 'post').user_id).toBe(`@${username}:test.example`);
  });

  it('a token of the wrong type is a failed stage, not a crash', async () => {
    const session = await start(uniqueName('type'));
    for (const bad of [123, null, { a: 1 }, 'x'.repeat(65), '']) {
      // A fresh address each time, so the failure budget does not interfere.
      const res = await submit(session, bad, nextIp());
      expect(res.statusCode).toBe(401);
      expect(expectSpec(res, 'registration.yaml', REG, 'post').errcode).toBe('M_UNAUTHORIZED');
    }
  });

  it('wrong tokens spend a per-IP failure budget: then 429 M_LIMIT_EXCEEDED, even for the right token', async () => {
    const ip = nextIp();
    const token = await newToken({});
    const username = uniqueName('budget');
    const session = await start(username, ip);
    for (let i = 0; i < 3; i++) {
      const res = await submit(session, uniqueToken('guess'), ip);
      expect(res.statusCode).toBe(401);
      expect(expectSpec(res, 'registration.yaml', REG, 'post').errcode).toBe('M_UNAUTHORIZED');
    }
    for (const attempt of [uniqueToken('guess'), token]) {
      const res = await submit(session, attempt, ip);
      expect(res.statusCode).toBe(429);
      const body = expectSpec(res, 'registration.yaml', REG, 'post');
      expect(body.errcode).toBe('M_LIMIT_EXCEEDED');
      expect(body.retry_after_ms).toBeGreaterThan(0);
      expect(body.retry_after_ms).toBeLessThanOrEqual(600_000);
      const header = Number(res.headers['retry-after']);
      expect(header).toBe(Math.ceil(body.retry_after_ms / 1000));
    }
    expect(await counts(token)).toEqual({ pending: 0, completed: 0 });

    // Another address has its own budget.
    const other = await start(uniqueName('other'), nextIp());
    expect((await submit(other, uniqueToken('guess'), nextIp())).statusCode).toBe(401);

    // The budget is shared by every session from that address, and ends with its window.
    const second = await start(uniqueName('budget2'), ip);
    expect((await submit(second, token, ip)).statusCode).toBe(429);
    t.clock.advance(10 * 60_000);
    const fresh = await start(uniqueName('budget3'), ip);
    const done = await submit(fresh, token, ip);
    expect(done.statusCode, done.body).toBe(200);
    expectSpec(done, 'registration.yaml', REG, 'post');
  });

  it('pending rises when the stage is passed, and turns into completed when the registration finishes', async () => {
    const ip = nextIp();
    const token = await newToken({ uses_allowed: 2 });
    const session = await holdOnly(token, ip);
    expect(await counts(token)).toEqual({ pending: 1, completed: 0 });
    expect(await valid(token)).toBe(true);

    // The same session passing the stage again does not take a second use.
    const again = await submit(session, token, ip);
    expect(expectSpec(again, 'registration.yaml', REG, 'post').errcode).toBe('M_MISSING_PARAM');
    expect(await counts(token)).toEqual({ pending: 1, completed: 0 });

    const username = uniqueName('pending');
    const done = await register({ auth: { session }, username, password: PASSWORD }, ip);
    expect(done.statusCode, done.body).toBe(200);
    expect(expectSpec(done, 'registration.yaml', REG, 'post').user_id).toBe(`@${username}:test.example`);
    expect(await counts(token)).toEqual({ pending: 0, completed: 1 });
    expect(await valid(token)).toBe(true);
  });

  it('an abandoned session\'s hold lapses after REGISTRATION_TOKEN_HOLD and gives its use back', async () => {
    const ip = nextIp();
    const token = await newToken({ uses_allowed: 1 });
    const abandoned = await holdOnly(token, ip);
    expect(await counts(token)).toEqual({ pending: 1, completed: 0 });
    expect(await valid(token)).toBe(false);

    // While the hold lasts, nobody else gets the token's only use.
    const otherName = uniqueName('waiting');
    const other = await start(otherName, ip);
    const refused = await submit(other, token, ip);
    expect(refused.statusCode).toBe(401);
    expect(expectSpec(refused, 'registration.yaml', REG, 'post').errcode).toBe('M_UNAUTHORIZED');

    // One millisecond before the hold ends, the maintenance job leaves it alone.
    t.clock.advance(t.config.registration.tokenHoldMs - 1);
    await (t.app as any).maintenance.runOnce();
    expect(await pendingInDb(token)).toBe(1);
    t.clock.advance(1);
    expect(await pendingInDb(token)).toBe(1);
    await (t.app as any).maintenance.runOnce();
    expect(await pendingInDb(token)).toBe(0);
    expect(await counts(token)).toEqual({ pending: 0, completed: 0 });
    expect(await valid(token)).toBe(true);

    // The use is back: the waiting client now passes. (The earlier wrong answer spent one of
    // this address's failures; two remain.)
    const done = await submit(other, token, ip);
    expect(done.statusCode, done.body).toBe(200);
    expect(expectSpec(done, 'registration.yaml', REG, 'post').user_id).toBe(`@${otherName}:test.example`);
    expect(await counts(token)).toEqual({ pending: 0, completed: 1 });

    // The abandoned session comes back too late: its hold is gone and no use is left, so the
    // token stage is required again and refused; no second account.
    const late = await register({ auth: { session: abandoned }, username: uniqueName('late'), password: PASSWORD }, ip);
    expect(late.statusCode).toBe(401);
    const lateBody = expectSpec(late, 'registration.yaml', REG, 'post');
    expect(lateBody.errcode).toBe('M_UNAUTHORIZED');
    expect(lateBody.completed ?? []).not.toContain(TOKEN_STAGE);
    expect(await counts(token)).toEqual({ pending: 0, completed: 1 });
  });

  it('uses_allowed 0 admits nobody', async () => {
    const ip = nextIp();
    const token = await newToken({ uses_allowed: 0 });
    const username = uniqueName('zero');
    const session = await start(username, ip);
    const res = await submit(session, token, ip);
    expect(res.statusCode).toBe(401);
    expect(expectSpec(res, 'registration.yaml', REG, 'post').errcode).toBe('M_UNAUTHORIZED');
    expect(await counts(token)).toEqual({ pending: 0, completed: 0 });
    expect(await available(username)).toBe(true);
  });

  it('an expired token admits nobody', async () => {
    const ip = nextIp();
    const token = await newToken({ expiry_time: t.clock.now() + 1000 });
    const session = await start(uniqueName('expired'), ip);
    t.clock.advance(1000);
    const res = await submit(session, token, ip);
    expect(res.statusCode).toBe(401);
    expect(expectSpec(res, 'registration.yaml', REG, 'post').errcode).toBe('M_UNAUTHORIZED');
    expect(await counts(token)).toEqual({ pending: 0, completed: 0 });
  });

  it('twenty clients race for a token\'s last use: exactly one passes and exactly one account is created', async () => {
    const token = await newToken({ uses_allowed: 2 });
    // Spend one use so exactly one is left.
    const first = await submit(await start(uniqueName('first'), nextIp()), token);
    expect(first.statusCode, first.body).toBe(200);
    expect(await counts(token)).toEqual({ pending: 0, completed: 1 });

    const clients = await Promise.all(
      Array.from({ length: 20 }, async () => {
        const ip = nextIp();
        const username = uniqueName('race');
        return { ip, username, session: await start(username, ip) };
      }),
    );
    expect(new Set(clients.map((c) => c.session)).size).toBe(20);

    const results = await Promise.all(clients.map((c) => submit(c.session, token, c.ip)));
    const statuses = results.map((r) => r.statusCode).sort();
    expect(statuses, results.map((r) => r.body).join('\n')).toEqual([200, ...Array(19).fill(401)]);
    for (const r of results) {
      const body = expectSpec(r, 'registration.yaml', REG, 'post');
      if (r.statusCode === 401) {
        expect(body.errcode).toBe('M_UNAUTHORIZED');
        expect(body.completed).toBeUndefined();
      }
    }
    const winner = clients[results.findIndex((r) => r.statusCode === 200)]!;
    expect(results.find((r) => r.statusCode === 200)!.json().user_id).toBe(`@${winner.username}:test.example`);

    const taken = await Promise.all(clients.map((c) => available(c.username)));
    expect(taken.filter((x) => x === 'M_USER_IN_USE')).toHaveLength(1);
    expect(taken.filter((x) => x === true)).toHaveLength(19);
    const users = await t.db.query<{ n: number }>(
      'SELECT count(*)::int AS n FROM users WHERE registration_token = $1',
      [token],
    );
    expect(users.rows[0]!.n).toBe(2);
    expect(await counts(token)).toEqual({ pending: 0, completed: 2 });
    expect(await valid(token)).toBe(false);
  });
});
