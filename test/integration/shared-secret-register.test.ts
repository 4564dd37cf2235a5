// Synapse-compatible shared-secret registration: GET/POST /_synapse/admin/v1/register.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sharedSecretMac } from '../../src/services/shared-secret-registration.js';
import { findUser } from '../../src/store/users.js';
import { startApp, uniqueName, type TestApp } from '../helpers/app.js';
import { DATABASE_KINDS, openTestDatabase, type TestDatabase } from '../helpers/databases.js';
import { expectMatrixError, expectSpec } from '../helpers/spec.js';

const SECRET = 'a-shared-secret-of-some-length';
const PATH = '/_synapse/admin/v1/register';

describe.each(DATABASE_KINDS)('shared-secret registration (%s)', (kind) => {
  let database: TestDatabase;
  let a: TestApp;
  let b: TestApp;

  beforeAll(async () => {
    database = await openTestDatabase(kind);
    const env = { REGISTRATION_SHARED_SECRET: SECRET, RATE_LIMIT_SHARED_SECRET_PER_MINUTE: '1000', ENABLE_REGISTRATION: 'false' };
    a = await startApp(database, env);
    b = await startApp(database, env);
  });
  afterAll(async () => {
    await a?.close();
    await b?.close();
    await database?.close();
  });

  const nonce = async (t: TestApp) => {
    const res = await t.app.inject({ method: 'GET', url: PATH });
    expect(res.statusCode).toBe(200);
    const n = res.json().nonce;
    expect(n).toMatch(/^[a-z0-9]{32}$/);
    return n as string;
  };
  const hashes = async (t: TestApp) => {
    const m = (await t.app.metrics.registry.getSingleMetric('mrs_password_hash_duration_seconds')!.get()) as {
      values: { metricName?: string; value: number }[];
    };
    return m.values.find((v) => v.metricName === 'mrs_password_hash_duration_seconds_count')?.value ?? 0;
  };

  it('registers an admin with a nonce from another instance, even with registration closed', async () => {
    const n = await nonce(a);
    const username = uniqueName('Admin');
    const password = 'the admin password';
    const mac = sharedSecretMac(SECRET, { nonce: n, username, password, admin: true });
    const res = await b.app.inject({
      method: 'POST',
      url: PATH,
      payload: { nonce: n, username, password, admin: true, displayname: 'The Admin', mac },
    });
    expect(res.statusCode).toBe(200);
    // Synapse answers with the same body as /register.
    const body = expectSpec(res, 'registration.yaml', '/register', 'post');
    expect(body.user_id).toBe(`@${username.toLowerCase()}:test.example`);
    expect(body.access_token).toMatch(/^mat_/);
    const row = await findUser(a.db, body.user_id);
    expect(row?.admin).toBe(true);
    expect(row?.password_hash).toMatch(/^\$argon2id\$/);
    const extra = await a.db.query('SELECT displayname, user_type FROM users WHERE user_id = $1', [body.user_id]);
    expect(extra.rows[0]).toEqual({ displayname: 'The Admin', user_type: null });
  });

  it('covers user_type in the MAC and stores it', async () => {
    const n = await nonce(a);
    const username = uniqueName('bot');
    const mac = sharedSecretMac(SECRET, { nonce: n, username, password: 'pw', admin: false, userType: 'bot' });
    const res = await a.app.inject({ method: 'POST', url: PATH, payload: { nonce: n, username, password: 'pw', user_type: 'bot', mac } });
    expect(res.statusCode).toBe(200);
    const r = await a.db.query('SELECT admin, user_type FROM users WHERE localpart = $1', [username]);
    expect(r.rows[0]).toEqual({ admin: false, user_type: 'bot' });
  });

  it('refuses a wrong MAC with 403 before hashing any password, and burns the nonce', async () => {
    const n = await nonce(a);
    const username = uniqueName();
    const before = await hashes(a);
    const wrong = sharedSecretMac('not-the-secret-at-all', { nonce: n, username, password: 'pw', admin: false });
    const res = await a.app.inject({ method: 'POST', url: PATH, payload: { nonce: n, username, password: 'pw', mac: wrong } });
    expect(expectMatrixError(res, 403, 'M_FORBIDDEN').error).toBe('HMAC incorrect');
    expect(await hashes(a)).toBe(before);
    // A MAC for admin=true does not register a non-admin (the flag is covered by the MAC).
    const n2 = await nonce(a);
    const asAdmin = sharedSecretMac(SECRET, { nonce: n2, username, password: 'pw', admin: true });
    const res2 = await a.app.inject({ method: 'POST', url: PATH, payload: { nonce: n2, username, password: 'pw', admin: false, mac: asAdmin } });
    expectMatrixError(res2, 403, 'M_FORBIDDEN');
    // The nonce was spent by the failed attempt.
    const good = sharedSecretMac(SECRET, { nonce: n, username, password: 'pw', admin: false });
    const again = await a.app.inject({ method: 'POST', url: PATH, payload: { nonce: n, username, password: 'pw', mac: good } });
    expect(expectMatrixError(again, 400, 'M_UNKNOWN').error).toBe('unrecognised nonce');
    expect(await findUser(a.db, `@${username}:test.example`)).toBeUndefined();
  });

  it('accepts each nonce once, even when two instances race with it', async () => {
    const n = await nonce(a);
    const payload = (username: string) => ({
      nonce: n,
      username,
      password: 'pw',
      mac: sharedSecretMac(SECRET, { nonce: n, username, password: 'pw', admin: false }),
    });
    const results = await Promise.all([
      a.app.inject({ method: 'POST', url: PATH, payload: payload(uniqueName()) }),
      b.app.inject({ method: 'POST', url: PATH, payload: payload(uniqueName()) }),
    ]);
    expect(results.map((r) => r.statusCode).sort()).toEqual([200, 400]);
  });

  it('refuses expired nonces', async () => {
    const n = await nonce(a);
    a.clock.advance(a.config.sharedSecret.nonceLifetimeMs + 1);
    const username = uniqueName();
    const mac = sharedSecretMac(SECRET, { nonce: n, username, password: 'pw', admin: false });
    const res = await a.app.inject({ method: 'POST', url: PATH, payload: { nonce: n, username, password: 'pw', mac } });
    expectMatrixError(res, 400, 'M_UNKNOWN');
    // Unused expired nonces are swept by the maintenance job.
    const stale = await nonce(a);
    a.clock.advance(a.config.sharedSecret.nonceLifetimeMs + 1);
    const count = async () => (await a.db.query('SELECT count(*)::int AS n FROM shared_secret_nonces WHERE nonce = $1', [stale])).rows[0].n;
    expect(await count()).toBe(1);
    await (a.app as unknown as { maintenance: { runOnce(): Promise<void> } }).maintenance.runOnce();
    expect(await count()).toBe(0);
  });

  it('checks the fields as Synapse does', async () => {
    const post = (payload: object) => a.app.inject({ method: 'POST', url: PATH, payload });
    expectMatrixError(await post({ username: 'x' }), 400, 'M_BAD_JSON');
    expectMatrixError(await post({ nonce: 'nope', username: 'x', password: 'y', mac: 'z' }), 400, 'M_UNKNOWN');
    expectMatrixError(await post({ nonce: await nonce(a), password: 'y', mac: 'z' }), 400, 'M_BAD_JSON');
    expectMatrixError(await post({ nonce: await nonce(a), username: 'a\u0000b', password: 'y', mac: 'z' }), 400, 'M_UNKNOWN');
    expectMatrixError(await post({ nonce: await nonce(a), username: 'x', password: 'y', user_type: 'wizard', mac: 'z' }), 400, 'M_UNKNOWN');
    // A taken name is M_USER_IN_USE; an invalid one M_INVALID_USERNAME (after a valid MAC).
    const n = await nonce(a);
    const mac = sharedSecretMac(SECRET, { nonce: n, username: 'bad name', password: 'pw', admin: false });
    expectMatrixError(await post({ nonce: n, username: 'bad name', password: 'pw', mac }), 400, 'M_INVALID_USERNAME');
  });
});

describe.each(DATABASE_KINDS)('shared-secret registration limits and switches (%s)', (kind) => {
  let database: TestDatabase;
  beforeAll(async () => {
    database = await openTestDatabase(kind);
  });
  afterAll(async () => {
    await database?.close();
  });

  it('is off without REGISTRATION_SHARED_SECRET', async () => {
    const t = await startApp(database);
    try {
      expectMatrixError(await t.app.inject({ method: 'GET', url: PATH }), 400, 'M_UNKNOWN');
      expectMatrixError(await t.app.inject({ method: 'POST', url: PATH, payload: {} }), 400, 'M_UNKNOWN');
    } finally {
      await t.close();
    }
  });

  it('rate-limits GET and POST through one per-IP budget', async () => {
    const t = await startApp(database, { REGISTRATION_SHARED_SECRET: SECRET, RATE_LIMIT_SHARED_SECRET_PER_MINUTE: '3' });
    try {
      expect((await t.app.inject({ method: 'GET', url: PATH })).statusCode).toBe(200);
      expect((await t.app.inject({ method: 'GET', url: PATH })).statusCode).toBe(200);
      expect((await t.app.inject({ method: 'POST', url: PATH, payload: { nonce: 'x' } })).statusCode).toBe(400);
      expectMatrixError(await t.app.inject({ method: 'POST', url: PATH, payload: { nonce: 'x' } }), 429, 'M_LIMIT_EXCEEDED');
      expectMatrixError(await t.app.inject({ method: 'GET', url: PATH }), 429, 'M_LIMIT_EXCEEDED');
    } finally {
      await t.close();
    }
  });
});
