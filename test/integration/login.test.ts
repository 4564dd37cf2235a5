// GET/POST /login, /logout, /logout/all, /account/whoami and request authentication, against
// every test database.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DATABASE_KINDS, openTestDatabase, type TestDatabase } from '../helpers/databases.js';
import { startApp, uniqueName, type TestApp } from '../helpers/app.js';
import { expectMatrixError, expectSpec } from '../helpers/spec.js';
import { bearer, countingHasher, login, PASSWORD, register, whoami } from '../helpers/accounts.js';

describe.each(DATABASE_KINDS)('login, logout, whoami (%s)', (kind) => {
  let database: TestDatabase;
  let t: TestApp;
  const hasher = countingHasher();

  beforeAll(async () => {
    database = await openTestDatabase(kind);
    t = await startApp(
      database,
      {
        RATE_LIMIT_REGISTER_BURST: '1000',
        ALLOW_GUEST_ACCESS: 'true',
        RATE_LIMIT_LOGIN_FAILURES_PER_ACCOUNT: '3',
        RATE_LIMIT_LOGIN_FAILURES_PER_IP: '1000',
        RATE_LIMIT_LOGIN_REQUESTS_PER_MINUTE: '1000',
      },
      { hasher },
    );
  });
  afterAll(async () => {
    await t?.close();
    await database?.close();
  });

  const loginSpec = (res: Parameters<typeof expectSpec>[0]) => expectSpec(res, 'login.yaml', '/login', 'post');

  it('GET /login lists m.login.password', async () => {
    for (const prefix of ['v3', 'r0']) {
      const res = await t.app.inject({ url: `/_matrix/client/${prefix}/login` });
      expect(res.statusCode).toBe(200);
      expect(expectSpec(res, 'login.yaml', '/login', 'get')).toEqual({ flows: [{ type: 'm.login.password' }] });
    }
  });

  it('logs in by localpart, full user ID in any case, and the deprecated user field', async () => {
    const name = uniqueName('login');
    const acct = await register(t, name);

    const byLocalpart = await login(t, name.toUpperCase(), PASSWORD, { initial_device_display_name: 'Phone' });
    expect(byLocalpart.statusCode).toBe(200);
    const b1 = loginSpec(byLocalpart);
    expect(b1.user_id).toBe(acct.userId);
    expect(b1.device_id).toMatch(/^[A-Z]{10}$/);
    expect(b1.device_id).not.toBe(acct.deviceId);
    expect(b1.refresh_token).toBeUndefined();
    const device = await t.db.query('SELECT display_name FROM devices WHERE user_id = $1 AND device_id = $2', [acct.userId, b1.device_id]);
    expect(device.rows[0].display_name).toBe('Phone');

    const byFullId = await login(t, `@${name.toUpperCase()}:TEST.example`, PASSWORD, { device_id: 'MYDEVICE', refresh_token: true });
    const b2 = loginSpec(byFullId);
    expect(b2).toMatchObject({ user_id: acct.userId, device_id: 'MYDEVICE', expires_in_ms: 300_000 });
    expect(b2.refresh_token).toMatch(/^mrt_/);

    const deprecated = await t.app.inject({
      method: 'POST',
      url: '/_matrix/client/r0/login',
      payload: { type: 'm.login.password', user: name, password: PASSWORD, device_id: 'MYDEVICE' },
    });
    const b3 = loginSpec(deprecated);
    expect(b3.device_id).toBe('MYDEVICE');
    // Logging in again on a device replaces its earlier token.
    expectMatrixError(await whoami(t, b2.access_token), 401, 'M_UNKNOWN_TOKEN');
    for (const token of [acct.accessToken, b1.access_token, b3.access_token]) {
      expect(expectSpec(await whoami(t, token), 'whoami.yaml', '/account/whoami', 'get').user_id).toBe(acct.userId);
    }
  });

  it('answers wrong password, unknown user and deactivated account alike, each costing one hash', async () => {
    const name = uniqueName('same');
    const acct = await register(t, name);
    const gone = uniqueName('gone');
    const goneAcct = await register(t, gone);
    // Deactivate through the API.
    const s = (await t.app.inject({ method: 'POST', url: '/_matrix/client/v3/account/deactivate', headers: bearer(goneAcct.accessToken), payload: {} })).json().session;
    const deact = await t.app.inject({
      method: 'POST',
      url: '/_matrix/client/v3/account/deactivate',
      headers: bearer(goneAcct.accessToken),
      payload: { auth: { type: 'm.login.password', identifier: { type: 'm.id.user', user: gone }, password: PASSWORD, session: s } },
    });
    expect(deact.statusCode).toBe(200);

    const bodies = [];
    for (const [user, password] of [
      [name, 'not the password'],
      [uniqueName('nobody'), PASSWORD],
      [gone, PASSWORD],
      ['@someone:other.server', PASSWORD],
    ] as const) {
      const before = hasher.verifies;
      const res = await login(t, user, password);
      expect(res.statusCode).toBe(403);
      expect(hasher.verifies - before).toBe(1);
      bodies.push(loginSpec(res));
    }
    expect(new Set(bodies.map((b) => JSON.stringify(b))).size).toBe(1);
    expect(bodies[0]).toEqual({ errcode: 'M_FORBIDDEN', error: 'Invalid username or password.' });
    expect(acct.userId).toBeTruthy();
  });

  it('refuses malformed logins with the spec errors', async () => {
    const post = (payload: unknown) => t.app.inject({ method: 'POST', url: '/_matrix/client/v3/login', payload: payload as object });
    expect(loginSpec(await post({ type: 'm.login.token', token: 'x' }))).toMatchObject({ errcode: 'M_UNKNOWN' });
    expect(loginSpec(await post({ type: 'm.login.password', identifier: { type: 'm.id.thirdparty', medium: 'email', address: 'a@b.c' }, password: 'x' }))).toMatchObject({ errcode: 'M_UNKNOWN' });
    expect(loginSpec(await post({ type: 'm.login.password', password: 'x' }))).toMatchObject({ errcode: 'M_MISSING_PARAM' });
    expect(loginSpec(await post({ type: 'm.login.password', identifier: { type: 'm.id.user', user: 'x' } }))).toMatchObject({ errcode: 'M_MISSING_PARAM' });
    expect(loginSpec(await post({ identifier: { type: 'm.id.user', user: 'x' }, password: 'x' }))).toMatchObject({ errcode: 'M_MISSING_PARAM' });
    expect(loginSpec(await post({ type: 'm.login.password', identifier: { type: 'm.id.user', user: 5 }, password: 'x' }))).toMatchObject({ errcode: 'M_BAD_JSON' });
    const notJson = await t.app.inject({ method: 'POST', url: '/_matrix/client/v3/login', payload: '{nope', headers: { 'content-type': 'application/json' } });
    expectMatrixError(notJson, 400, 'M_NOT_JSON');
  });

  it('rate-limits failed logins per account with 429 and retry_after_ms, before hashing', async () => {
    const name = uniqueName('limited');
    await register(t, name);
    for (let i = 0; i < 3; i++) expect((await login(t, name, 'wrong password')).statusCode).toBe(403);
    const before = hasher.verifies;
    const limited = await login(t, name, PASSWORD);
    expect(limited.statusCode).toBe(429);
    const body = loginSpec(limited);
    expect(body.errcode).toBe('M_LIMIT_EXCEEDED');
    expect(body.retry_after_ms).toBeGreaterThan(0);
    expect(hasher.verifies).toBe(before);
    // The window ends: the right password works again.
    t.clock.advance(10 * 60_000 + 1);
    expect((await login(t, name, PASSWORD)).statusCode).toBe(200);
  });

  it('authenticates only with a Bearer header: 401 M_MISSING_TOKEN and M_UNKNOWN_TOKEN', async () => {
    const url = '/_matrix/client/v3/account/whoami';
    const missing = await t.app.inject({ url });
    expect(missing.statusCode).toBe(401);
    expect(expectSpec(missing, 'whoami.yaml', '/account/whoami', 'get').errcode).toBe('M_MISSING_TOKEN');
    const acct = await register(t, uniqueName('hdr'));
    const query = await t.app.inject({ url: `${url}?access_token=${acct.accessToken}` });
    expect(expectSpec(query, 'whoami.yaml', '/account/whoami', 'get').errcode).toBe('M_MISSING_TOKEN');
    const unknown = await whoami(t, 'mat_nonsense');
    const body = expectSpec(unknown, 'whoami.yaml', '/account/whoami', 'get');
    expect(body.errcode).toBe('M_UNKNOWN_TOKEN');
    expect(body.soft_logout).toBeUndefined();
  });

  it('answers an expired access token with soft_logout: true', async () => {
    const acct = await register(t, uniqueName('exp'), PASSWORD, { refresh_token: true });
    expect(acct.refreshToken).toBeDefined();
    expect((await whoami(t, acct.accessToken)).statusCode).toBe(200);
    t.clock.advance(300_000);
    const res = await whoami(t, acct.accessToken);
    expect(res.statusCode).toBe(401);
    expect(expectSpec(res, 'whoami.yaml', '/account/whoami', 'get')).toMatchObject({ errcode: 'M_UNKNOWN_TOKEN', soft_logout: true });
    // A soft-logged-out client may still log out.
    const out = await t.app.inject({ method: 'POST', url: '/_matrix/client/v3/logout', headers: bearer(acct.accessToken) });
    expect(expectSpec(out, 'logout.yaml', '/logout', 'post')).toEqual({});
    const gone = expectMatrixError(await whoami(t, acct.accessToken), 401, 'M_UNKNOWN_TOKEN');
    expect(gone.soft_logout).toBeUndefined();
  });

  it('whoami tells guests apart, and guests may not change passwords or deactivate', async () => {
    const g = await t.app.inject({ method: 'POST', url: '/_matrix/client/v3/register?kind=guest', payload: {} });
    expect(g.statusCode).toBe(200);
    const { access_token, user_id, device_id } = g.json();
    const me = expectSpec(await whoami(t, access_token), 'whoami.yaml', '/account/whoami', 'get');
    expect(me).toEqual({ user_id, device_id, is_guest: true });
    for (const path of ['/account/password', '/account/deactivate']) {
      const res = await t.app.inject({ method: 'POST', url: `/_matrix/client/v3${path}`, headers: bearer(access_token), payload: { new_password: 'whatever password' } });
      expectMatrixError(res, 403, 'M_GUEST_ACCESS_FORBIDDEN');
    }
    const acct = await register(t, uniqueName('notguest'));
    expect(expectSpec(await whoami(t, acct.accessToken), 'whoami.yaml', '/account/whoami', 'get')).toEqual({
      user_id: acct.userId,
      device_id: acct.deviceId,
      is_guest: false,
    });
  });

  it('logout ends the device and its tokens; logout/all ends every device', async () => {
    const name = uniqueName('out');
    const a = await register(t, name);
    const b = (await login(t, name)).json();
    const c = (await login(t, name)).json();

    const out = await t.app.inject({ method: 'POST', url: '/_matrix/client/v3/logout', headers: bearer(b.access_token) });
    expect(out.statusCode).toBe(200);
    expect(expectSpec(out, 'logout.yaml', '/logout', 'post')).toEqual({});
    expectMatrixError(await whoami(t, b.access_token), 401, 'M_UNKNOWN_TOKEN');
    expect((await whoami(t, a.accessToken)).statusCode).toBe(200);
    expectMatrixError(await t.app.inject({ method: 'POST', url: '/_matrix/client/v3/logout', headers: bearer(b.access_token) }), 401, 'M_UNKNOWN_TOKEN');
    expectMatrixError(await t.app.inject({ method: 'POST', url: '/_matrix/client/v3/logout' }), 401, 'M_MISSING_TOKEN');
    const devices = await t.db.query('SELECT device_id FROM devices WHERE user_id = $1 ORDER BY device_id', [a.userId]);
    expect(devices.rows.map((r) => r.device_id).sort()).toEqual([a.deviceId, c.device_id].sort());

    const all = await t.app.inject({ method: 'POST', url: '/_matrix/client/r0/logout/all', headers: bearer(c.access_token) });
    expect(all.statusCode).toBe(200);
    expect(expectSpec(all, 'logout.yaml', '/logout/all', 'post')).toEqual({});
    for (const token of [a.accessToken, c.access_token]) expectMatrixError(await whoami(t, token), 401, 'M_UNKNOWN_TOKEN');
    expect((await t.db.query('SELECT 1 FROM devices WHERE user_id = $1', [a.userId])).rowCount).toBe(0);
    expect((await t.db.query('SELECT 1 FROM access_tokens WHERE user_id = $1', [a.userId])).rowCount).toBe(0);
    // The account itself is untouched: logging in again works.
    expect((await login(t, name)).statusCode).toBe(200);
  });
});

describe.each(DATABASE_KINDS)('failed-login budget per IP (%s)', (kind) => {
  let database: TestDatabase;
  let t: TestApp;
  beforeAll(async () => {
    database = await openTestDatabase(kind);
    t = await startApp(database, { RATE_LIMIT_LOGIN_FAILURES_PER_IP: '2', RATE_LIMIT_LOGIN_FAILURES_PER_ACCOUNT: '100' });
  });
  afterAll(async () => {
    await t?.close();
    await database?.close();
  });

  it('counts failures for any account from one IP, and another IP is unaffected', async () => {
    const name = uniqueName('ip');
    await register(t, name);
    const from = (ip: string, user: string, password: string) =>
      t.app.inject({ method: 'POST', url: '/_matrix/client/v3/login', remoteAddress: ip, payload: { type: 'm.login.password', user, password } });
    expect((await from('192.0.2.1', uniqueName('x'), 'wrong password')).statusCode).toBe(403);
    expect((await from('192.0.2.1', uniqueName('y'), 'wrong password')).statusCode).toBe(403);
    const limited = await from('192.0.2.1', name, PASSWORD);
    expect(limited.statusCode).toBe(429);
    expect(expectSpec(limited, 'login.yaml', '/login', 'post').retry_after_ms).toBeGreaterThan(0);
    expect(limited.headers['retry-after']).toBeDefined();
    expect((await from('192.0.2.2', name, PASSWORD)).statusCode).toBe(200);
  });
});
