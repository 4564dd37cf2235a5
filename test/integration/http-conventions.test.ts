// The API conventions of cs-api-standards.md, over a real listening server: error bodies and
// statuses, unknown endpoints and methods, CORS, body limits, rate limits, and whose address a
// rate limit counts (TRUST_PROXY).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApp, uniqueName, type TestApp } from '../helpers/app.js';
import { DATABASE_KINDS, openTestDatabase, type TestDatabase } from '../helpers/databases.js';
import { expectMatrixError, expectSpec } from '../helpers/spec.js';

describe.each(DATABASE_KINDS)('HTTP conventions (%s)', (kind) => {
  let database: TestDatabase;
  let t: TestApp;
  let base: string;

  beforeAll(async () => {
    database = await openTestDatabase(kind);
    t = await startApp(database, { RATE_LIMIT_REGISTER_BURST: '1000', BODY_LIMIT_BYTES: '2048' });
    base = await t.app.listen({ host: '127.0.0.1', port: 0 });
  });
  afterAll(async () => {
    await t?.close();
    await database?.close();
  });

  const raw = async (path: string, init: { method?: string; body?: string | Buffer; headers?: Record<string, string> } = {}) => {
    const res = await fetch(`${base}${path}`, init);
    const body = await res.text();
    return { statusCode: res.status, body, headers: Object.fromEntries(res.headers.entries()) };
  };
  const register = (body: string | Buffer, headers: Record<string, string> = { 'content-type': 'application/json' }) =>
    raw('/_matrix/client/v3/register', { method: 'POST', body, headers });

  it('answers unparseable JSON with M_NOT_JSON', async () => {
    for (const body of ['{bad', '{"a":', 'nul', '']) {
      const res = await register(body);
      expect(res.statusCode, body).toBe(400);
      expectSpec(res, 'registration.yaml', '/register', 'post');
      expect(JSON.parse(res.body).errcode).toBe('M_NOT_JSON');
    }
  });

  it('answers invalid UTF-8 with M_NOT_JSON', async () => {
    const res = await register(Buffer.from([0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0xff, 0xfe, 0x22, 0x7d]));
    expect(res.statusCode).toBe(400);
    expect(expectSpec(res, 'registration.yaml', '/register', 'post').errcode).toBe('M_NOT_JSON');
  });

  it('answers absurdly deep nesting with a clean 4xx, never a 500', async () => {
    const res = await register('['.repeat(1000) + ']'.repeat(1000));
    expect(res.statusCode).toBe(400);
    expect(['M_NOT_JSON', 'M_BAD_JSON']).toContain(JSON.parse(res.body).errcode);
  });

  it('parses JSON bodies whatever the declared content type (clients omit it)', async () => {
    const res = await register(JSON.stringify({ username: uniqueName(), password: 'a good password' }), { 'content-type': 'text/plain' });
    expect(res.statusCode).toBe(401);
    expectSpec(res, 'registration.yaml', '/register', 'post');
  });

  it('answers a JSON body that is not an object with M_BAD_JSON', async () => {
    for (const body of ['[]', '"x"', '42', 'null', 'true']) {
      const res = await register(body);
      expect(res.statusCode, body).toBe(400);
      expect(expectSpec(res, 'registration.yaml', '/register', 'post').errcode).toBe('M_BAD_JSON');
    }
  });

  it('answers a missing required query parameter with M_MISSING_PARAM', async () => {
    const res = await raw('/_matrix/client/v3/register/available');
    expect(res.statusCode).toBe(400);
    expect(expectSpec(res, 'registration.yaml', '/register/available', 'get').errcode).toBe('M_MISSING_PARAM');
    const repeated = await raw('/_matrix/client/v3/register/available?username=a&username=b');
    expect(expectSpec(repeated, 'registration.yaml', '/register/available', 'get').errcode).toBe('M_INVALID_PARAM');
  });

  it('answers a body over the limit with 413 M_TOO_LARGE', async () => {
    const res = await register(JSON.stringify({ username: 'x'.repeat(5000) }));
    expectMatrixError(res, 413, 'M_TOO_LARGE');
  });

  it('answers unknown endpoints with 404 M_UNRECOGNIZED and wrong methods with 405 M_UNRECOGNIZED', async () => {
    expectMatrixError(await raw('/_matrix/client/v3/nonexistent'), 404, 'M_UNRECOGNIZED');
    expectMatrixError(await raw('/_matrix/client/v3/register'), 405, 'M_UNRECOGNIZED');
    expectMatrixError(await raw('/_matrix/client/v3/register/available?username=x', { method: 'POST', body: '{}' }), 405, 'M_UNRECOGNIZED');
    expectMatrixError(await raw('/_synapse/admin/v1/registration_tokens/abc', { method: 'POST', body: '{}' }), 405, 'M_UNRECOGNIZED');
  });

  it('sends CORS headers on every response and answers preflight without running the endpoint', async () => {
    const ok = await raw('/_matrix/client/v3/register/available?username=corsuser');
    const err = await raw('/_matrix/client/v3/nonexistent');
    for (const res of [ok, err]) {
      expect(res.headers['access-control-allow-origin']).toBe('*');
      expect(res.headers['access-control-allow-methods']).toBe('GET, POST, PUT, DELETE, OPTIONS');
      expect(res.headers['access-control-allow-headers']).toBe('X-Requested-With, Content-Type, Authorization');
    }
    const before = (await t.db.query('SELECT count(*)::int AS n FROM uia_sessions')).rows[0].n;
    const pre = await raw('/_matrix/client/v3/register', {
      method: 'OPTIONS',
      headers: { origin: 'https://app.element.io', 'access-control-request-method': 'POST' },
    });
    expect(pre.statusCode).toBe(204);
    expect(pre.headers['access-control-allow-origin']).toBe('*');
    const after = (await t.db.query('SELECT count(*)::int AS n FROM uia_sessions')).rows[0].n;
    expect(after).toBe(before);
  });

  it('answers an internal failure with 500 M_UNKNOWN and no stack trace', async () => {
    const broken = await startApp(database);
    try {
      await broken.db.close(); // the pool is gone: every query now throws a programming error
      const res = await broken.app.inject({ method: 'GET', url: '/_matrix/client/v3/register/available?username=someone' });
      expect(res.statusCode).toBe(500);
      expect(JSON.parse(res.body)).toEqual({ errcode: 'M_UNKNOWN', error: 'Internal server error.' });
      expect(res.body).not.toMatch(/at .*\.ts|Error:/);
    } finally {
      await broken.app.close();
    }
  });
});

describe('rate limits', () => {
  let database: TestDatabase;
  beforeAll(async () => {
    database = await openTestDatabase(DATABASE_KINDS[DATABASE_KINDS.length - 1]!);
  });
  afterAll(async () => database?.close());

  const expect429 = (res: { statusCode: number; body: string; headers: Record<string, unknown> }, specFile?: string, path?: string, method?: string) => {
    expect(res.statusCode).toBe(429);
    const body = specFile ? expectSpec(res, specFile, path!, method!) : JSON.parse(res.body);
    expect(body.errcode).toBe('M_LIMIT_EXCEEDED');
    expect(body.retry_after_ms).toBeGreaterThan(0);
    expect(Number(res.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    expect(Number(res.headers['retry-after'])).toBe(Math.ceil(body.retry_after_ms / 1000));
    return body;
  };

  it('limits registrations started per IP (rc_registration: burst 3), but never a session in progress', async () => {
    const t = await startApp(database, {});
    try {
      const post = (payload: object) => t.app.inject({ method: 'POST', url: '/_matrix/client/v3/register', payload, remoteAddress: '203.0.113.7' });
      const sessions: string[] = [];
      for (let i = 0; i < 3; i++) {
        const res = await post({ username: uniqueName(), password: 'a good password' });
        expect(res.statusCode).toBe(401);
        sessions.push(res.json().session);
      }
      const body = expect429(await post({ username: uniqueName(), password: 'a good password' }), 'registration.yaml', '/register', 'post');
      expect(body.retry_after_ms).toBeLessThanOrEqual(Math.ceil((3 / 0.17) * 1000));
      // Continuing an existing session is not what trips the limit.
      const done = await post({ auth: { type: 'm.login.dummy', session: sessions[0] } });
      expect(done.statusCode).toBe(200);
      // Another address has its own budget.
      const other = await t.app.inject({ method: 'POST', url: '/_matrix/client/r0/register', payload: {}, remoteAddress: '203.0.113.8' });
      expect(other.statusCode).toBe(401);
      // Switching to the r0 prefix does not give a second budget.
      const r0 = await t.app.inject({ method: 'POST', url: '/_matrix/client/r0/register', payload: {}, remoteAddress: '203.0.113.7' });
      expect(r0.statusCode).toBe(429);
    } finally {
      await t.close();
    }
  });

  it('limits /register/available generously: 120 a minute by default', async () => {
    const t = await startApp(database, {});
    try {
      const get = () => t.app.inject({ url: '/_matrix/client/v3/register/available?username=typing', remoteAddress: '198.51.100.1' });
      for (let i = 0; i < 120; i++) {
        const ok = await get();
        expect(ok.statusCode).toBe(200);
        // The budget headers come only with a 429, as from Synapse.
        expect(Object.keys(ok.headers).filter((h) => h.startsWith('x-ratelimit-'))).toEqual([]);
      }
      const limited = await get();
      expect429(limited, 'registration.yaml', '/register/available', 'get');
      expect(limited.headers['x-ratelimit-limit']).toBe('120');
      expect(limited.headers['x-ratelimit-remaining']).toBe('0');
    } finally {
      await t.close();
    }
  });

  it('believes X-Forwarded-For only from proxies listed in TRUST_PROXY', async () => {
    const t = await startApp(database, { TRUST_PROXY: '10.0.0.0/8', RATE_LIMIT_AVAILABLE_PER_MINUTE: '2' });
    try {
      const get = (remoteAddress: string, xff: string) =>
        t.app.inject({ url: '/_matrix/client/v3/register/available?username=proxied', remoteAddress, headers: { 'x-forwarded-for': xff } });
      // Through the trusted proxy, each client address has its own budget.
      expect((await get('10.1.2.3', '192.0.2.1')).statusCode).toBe(200);
      expect((await get('10.1.2.3', '192.0.2.1')).statusCode).toBe(200);
      expect((await get('10.1.2.3', '192.0.2.1')).statusCode).toBe(429);
      expect((await get('10.1.2.3', '192.0.2.2')).statusCode).toBe(200);
      // From an untrusted peer the header is ignored: rotating it gains nothing.
      expect((await get('198.51.100.9', '192.0.2.10')).statusCode).toBe(200);
      expect((await get('198.51.100.9', '192.0.2.11')).statusCode).toBe(200);
      expect((await get('198.51.100.9', '192.0.2.12')).statusCode).toBe(429);
    } finally {
      await t.close();
    }
  });
});
