// GET /_matrix/client/v1/register/m.login.registration_token/validity: valid, unknown, expired,
// used up, pending holds counting, 403 when registration is disabled, a missing token, and its
// own rate limit. Validated against registration_tokens.yaml.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_TOKEN, startApp, uniqueName, type TestApp } from '../helpers/app.js';
import { DATABASE_KINDS, openTestDatabase, type TestDatabase } from '../helpers/databases.js';
import { expectMatrixError, expectSpec } from '../helpers/spec.js';

const VALIDITY = '/_matrix/client/v1/register/m.login.registration_token/validity';
const SPEC_PATH = '/register/m.login.registration_token/validity';
const AUTH = { authorization: `Bearer ${ADMIN_TOKEN}` };
const TOKEN_ENV = { REGISTRATION_REQUIRES_TOKEN: 'true', ENABLE_REGISTRATION_WITHOUT_VERIFICATION: 'false' };

let counter = 0;
const uniqueToken = (p = 'v') => `${p}${process.pid}_${++counter}_${Math.floor(Math.random() * 1e6)}`;

describe.each(DATABASE_KINDS)('token validity check (%s)', (kind) => {
  let database: TestDatabase;
  let t: TestApp;

  beforeAll(async () => {
    database = await openTestDatabase(kind);
    t = await startApp(database, {
      ...TOKEN_ENV,
      RATE_LIMIT_TOKEN_VALIDITY_BURST: '100000',
      RATE_LIMIT_REGISTER_BURST: '1000',
    });
  });
  afterAll(async () => {
    await t?.close();
    await database?.close();
  });

  const newToken = async (body: Record<string, unknown>) => {
    const res = await t.app.inject({ method: 'POST', url: '/_synapse/admin/v1/registration_tokens/new', headers: AUTH, payload: body });
    expect(res.statusCode, res.body).toBe(200);
    return res.json().token as string;
  };
  const adminGet = async (token: string) => {
    const res = await t.app.inject({ url: `/_synapse/admin/v1/registration_tokens/${token}`, headers: AUTH });
    expect(res.statusCode, res.body).toBe(200);
    return res.json() as { pending: number; completed: number };
  };
  const check = async (token: string, url = VALIDITY): Promise<boolean> => {
    const res = await t.app.inject({ url: `${url}?token=${encodeURIComponent(token)}` });
    expect(res.statusCode, res.body).toBe(200);
    const body = expectSpec(res, 'registration_tokens.yaml', SPEC_PATH, 'get');
    expect(Object.keys(body)).toEqual(['valid']);
    return body.valid;
  };
  const register = (payload: Record<string, unknown>) =>
    t.app.inject({ method: 'POST', url: '/_matrix/client/v3/register', payload });

  it('a valid token is valid', async () => {
    expect(await check(await newToken({}))).toBe(true);
    expect(await check(await newToken({ uses_allowed: 1, expiry_time: t.clock.now() + 60_000 }))).toBe(true);
  });

  it('the unstable MSC3231 path answers the same', async () => {
    const token = await newToken({});
    const unstable =
      '/_matrix/client/unstable/org.matrix.msc3231/register/org.matrix.msc3231.login.registration_token/validity';
    expect(await check(token, unstable)).toBe(true);
    expect(await check(uniqueToken('unknown'), unstable)).toBe(false);
  });

  it('an unknown token is not valid, nor is one outside the token grammar', async () => {
    expect(await check(uniqueToken('unknown'))).toBe(false);
    expect(await check('a b')).toBe(false);
    expect(await check('x'.repeat(65))).toBe(false);
    expect(await check('tökén')).toBe(false);
    expect(await check('')).toBe(false);
  });

  it('is case-sensitive', async () => {
    const token = await newToken({ token: uniqueToken('CaseSensitive') });
    expect(await check(token)).toBe(true);
    expect(await check(token.toLowerCase())).toBe(false);
  });

  it('an expired token is not valid, from exactly its expiry_time', async () => {
    const token = await newToken({ expiry_time: t.clock.now() + 5000 });
    expect(await check(token)).toBe(true);
    t.clock.advance(4999);
    expect(await check(token)).toBe(true);
    t.clock.advance(1);
    expect(await check(token)).toBe(false);
  });

  it('uses_allowed 0 is not valid', async () => {
    expect(await check(await newToken({ uses_allowed: 0 }))).toBe(false);
  });

  it('a used-up token is not valid', async () => {
    const token = await newToken({ uses_allowed: 1 });
    const session = (await register({ username: uniqueName(), password: 'a good password' })).json().session;
    const done = await register({ auth: { type: 'm.login.registration_token', token, session } });
    expect(done.statusCode, done.body).toBe(200);
    expect(await adminGet(token)).toMatchObject({ pending: 0, completed: 1 });
    expect(await check(token)).toBe(false);
  });

  it('uses held by unfinished sessions count: pending makes the last use unavailable', async () => {
    const token = await newToken({ uses_allowed: 2 });
    // A session that passes the token stage but never finishes (no password given yet).
    const hold = async () => {
      const session = (await register({})).json().session;
      const res = await register({ auth: { type: 'm.login.registration_token', token, session } });
      expect(expectSpec(res, 'registration.yaml', '/register', 'post').errcode).toBe('M_MISSING_PARAM');
    };
    await hold();
    expect(await adminGet(token)).toMatchObject({ pending: 1, completed: 0 });
    expect(await check(token)).toBe(true);
    await hold();
    expect(await adminGet(token)).toMatchObject({ pending: 2, completed: 0 });
    expect(await check(token)).toBe(false);
    // The holds lapse after REGISTRATION_TOKEN_HOLD and the uses come back.
    t.clock.advance(t.config.registration.tokenHoldMs);
    expect(await check(token)).toBe(true);
    expect(await adminGet(token)).toMatchObject({ pending: 0, completed: 0 });
  });

  it('a token deleted by the admin is no longer valid', async () => {
    const token = await newToken({});
    const del = await t.app.inject({ method: 'DELETE', url: `/_synapse/admin/v1/registration_tokens/${token}`, headers: AUTH });
    expect(del.statusCode).toBe(200);
    expect(await check(token)).toBe(false);
  });

  it('without a token: 400 M_MISSING_PARAM (the spec defines no 400 body, so the standard error schema)', async () => {
    const res = await t.app.inject({ url: VALIDITY });
    expectMatrixError(res, 400, 'M_MISSING_PARAM');
  });

  it('is not offered under the v3 or r0 prefixes', async () => {
    for (const prefix of ['v3', 'r0']) {
      const res = await t.app.inject({ url: `/_matrix/client/${prefix}/register/m.login.registration_token/validity?token=x` });
      expectMatrixError(res, 404, 'M_UNRECOGNIZED');
    }
  });

  it('does not put the token in the response headers', async () => {
    const token = await newToken({});
    const res = await t.app.inject({ url: `${VALIDITY}?token=${token}` });
    expect(JSON.stringify(res.headers)).not.toContain(token);
  });
});

describe.each(DATABASE_KINDS)('token validity check: registration disabled and rate limit (%s)', (kind) => {
  let database: TestDatabase;
  let disabled: TestApp;
  let limited: TestApp;

  beforeAll(async () => {
    database = await openTestDatabase(kind);
    disabled = await startApp(database, { ENABLE_REGISTRATION: 'false', ENABLE_REGISTRATION_WITHOUT_VERIFICATION: 'false' });
    limited = await startApp(database, { ...TOKEN_ENV, RATE_LIMIT_TOKEN_VALIDITY_BURST: '3', RATE_LIMIT_TOKEN_VALIDITY_PER_SECOND: '0.01' });
  });
  afterAll(async () => {
    await disabled?.close();
    await limited?.close();
    await database?.close();
  });

  it('403 M_FORBIDDEN when registration is disabled, even for a token that exists', async () => {
    const created = await disabled.app.inject({
      method: 'POST',
      url: '/_synapse/admin/v1/registration_tokens/new',
      headers: AUTH,
      payload: {},
    });
    expect(created.statusCode).toBe(200);
    for (const token of [created.json().token, 'unknown']) {
      const res = await disabled.app.inject({ url: `${VALIDITY}?token=${token}` });
      expect(res.statusCode).toBe(403);
      expect(expectSpec(res, 'registration_tokens.yaml', SPEC_PATH, 'get').errcode).toBe('M_FORBIDDEN');
    }
  });

  it('429 M_LIMIT_EXCEEDED with retry_after_ms and Retry-After once the per-IP budget is spent', async () => {
    const ask = (remoteAddress: string) => limited.app.inject({ url: `${VALIDITY}?token=guess${Math.random().toString(36).slice(2)}`, remoteAddress });
    for (let i = 0; i < 3; i++) {
      const ok = await ask('10.9.0.1');
      expect(ok.statusCode).toBe(200);
      expectSpec(ok, 'registration_tokens.yaml', SPEC_PATH, 'get');
    }
    const res = await ask('10.9.0.1');
    expect(res.statusCode).toBe(429);
    const body = expectSpec(res, 'registration_tokens.yaml', SPEC_PATH, 'get');
    expect(body.errcode).toBe('M_LIMIT_EXCEEDED');
    expect(Number.isInteger(body.retry_after_ms) && body.retry_after_ms > 0).toBe(true);
    // 3 requests per 300 s: the wait is bounded by the window.
    expect(body.retry_after_ms).toBeLessThanOrEqual(300_000);
    const header = Number(res.headers['retry-after']);
    expect(Number.isInteger(header) && header >= 1).toBe(true);
    expect(header).toBeLessThanOrEqual(300);
    // Another client's budget is its own.
    expect((await ask('10.9.0.2')).statusCode).toBe(200);
  });
});
