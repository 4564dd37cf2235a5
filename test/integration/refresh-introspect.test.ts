// POST /refresh (rotation as the spec describes, and the concurrent-refresh race) and the token
// introspection endpoint, against every test database.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DATABASE_KINDS, openTestDatabase, type TestDatabase } from '../helpers/databases.js';
import { startApp, uniqueName, type TestApp } from '../helpers/app.js';
import { expectMatrixError, expectSpec } from '../helpers/spec.js';
import { bearer, login, register, whoami } from '../helpers/accounts.js';

const SECRET = 'introspection-secret-0123456789abcdef0123456789';

describe.each(DATABASE_KINDS)('refresh and introspection (%s)', (kind) => {
  let database: TestDatabase;
  let t: TestApp;

  beforeAll(async () => {
    database = await openTestDatabase(kind);
    t = await startApp(database, { RATE_LIMIT_REGISTER_BURST: '1000', ALLOW_GUEST_ACCESS: 'true', INTROSPECTION_SECRET: SECRET });
  });
  afterAll(async () => {
    await t?.close();
    await database?.close();
  });

  const refresh = (token: string) =>
    t.app.inject({ method: 'POST', url: '/_matrix/client/v3/refresh', payload: { refresh_token: token } });
  const refreshed = async (token: string) => {
    const res = await refresh(token);
    expect(res.statusCode, res.body).toBe(200);
    const body = expectSpec(res, 'refresh.yaml', '/refresh', 'post');
    expect(body.expires_in_ms).toBe(300_000);
    return body as { access_token: string; refresh_token: string };
  };
  const expectRefreshRefused = async (token: string) => {
    const res = await refresh(token);
    expect(res.statusCode).toBe(401);
    expect(expectSpec(res, 'refresh.yaml', '/refresh', 'post').errcode).toBe('M_UNKNOWN_TOKEN');
  };
  const loginWithRefresh = async () => {
    const name = uniqueName('rot');
    await register(t, name);
    const res = await login(t, name, undefined, { refresh_token: true });
    return expectSpec(res, 'login.yaml', '/login', 'post') as { user_id: string; device_id: string; access_token: string; refresh_token: string };
  };
  const introspect = (payload: string | object, headers: Record<string, string> = { authorization: `Bearer ${SECRET}` }) =>
    t.app.inject({
      method: 'POST',
      url: '/_registration/v1/introspect',
      payload,
      headers: typeof payload === 'string' ? { 'content-type': 'application/x-www-form-urlencoded', ...headers } : headers,
    });

  it('rotates: the old refresh token works until the new access token is first used', async () => {
    const l = await loginWithRefresh();
    const first = await refreshed(l.refresh_token);
    // The answer was "lost": the old refresh token still works, and the unused tokens of the
    // first exchange are superseded.
    const second = await refreshed(l.refresh_token);
    expectMatrixError(await whoami(t, first.access_token), 401, 'M_UNKNOWN_TOKEN');
    await expectRefreshRefused(first.refresh_token);

    // The new access token is used: the old refresh token (and its access token) stop working.
    const me = expectSpec(await whoami(t, second.access_token), 'whoami.yaml', '/account/whoami', 'get');
    expect(me).toEqual({ user_id: l.user_id, device_id: l.device_id, is_guest: false });
    await expectRefreshRefused(l.refresh_token);
    expectMatrixError(await whoami(t, l.access_token), 401, 'M_UNKNOWN_TOKEN');

    // Using the new refresh token also retires the one it replaced.
    const third = await refreshed(second.refresh_token);
    const fourth = await refreshed(third.refresh_token);
    await expectRefreshRefused(second.refresh_token);
    expect((await whoami(t, fourth.access_token)).statusCode).toBe(200);
    await expectRefreshRefused(third.refresh_token);
  });

  it('refreshes an expired access token (soft logout) on the same device', async () => {
    const l = await loginWithRefresh();
    t.clock.advance(300_000);
    const expired = await whoami(t, l.access_token);
    expect(expectSpec(expired, 'whoami.yaml', '/account/whoami', 'get')).toMatchObject({ errcode: 'M_UNKNOWN_TOKEN', soft_logout: true });
    const next = await refreshed(l.refresh_token);
    expect(expectSpec(await whoami(t, next.access_token), 'whoami.yaml', '/account/whoami', 'get').device_id).toBe(l.device_id);
  });

  it('answers 401 M_UNKNOWN_TOKEN for an unknown refresh token, and for one whose device logged out', async () => {
    await expectRefreshRefused('mrt_unknown');
    const l = await loginWithRefresh();
    expect((await t.app.inject({ method: 'POST', url: '/_matrix/client/v3/logout', headers: bearer(l.access_token) })).statusCode).toBe(200);
    await expectRefreshRefused(l.refresh_token);
    expectMatrixError(await t.app.inject({ method: 'POST', url: '/_matrix/client/v3/refresh', payload: {} }), 400, 'M_MISSING_PARAM');
  });

  it('lets concurrent refreshes of one token leave exactly one live session', async () => {
    const l = await loginWithRefresh();
    const results = await Promise.all(Array.from({ length: 6 }, () => refresh(l.refresh_token)));
    const minted = results.filter((r) => r.statusCode === 200).map((r) => r.json() as { access_token: string; refresh_token: string });
    for (const r of results) expect([200, 401]).toContain(r.statusCode);
    expect(minted.length).toBeGreaterThanOrEqual(1);
    const live = [];
    for (const m of minted) if ((await whoami(t, m.access_token)).statusCode === 200) live.push(m);
    expect(live).toHaveLength(1);
    const rows = await t.db.query('SELECT count(*)::int AS n FROM refresh_tokens WHERE user_id = $1', [l.user_id]);
    // The winner's refresh token only: the presented one was retired when the winner was used.
    expect(rows.rows[0].n).toBe(1);
    await refreshed(live[0]!.refresh_token);
  });

  it('lets a repeated refresh race the first use of the new access token: one live session, no error', async () => {
    for (let i = 0; i < 3; i++) {
      const l = await loginWithRefresh();
      const next = await refreshed(l.refresh_token);
      const [used, retried] = await Promise.all([whoami(t, next.access_token), refresh(l.refresh_token)]);
      expect([200, 401]).toContain(used.statusCode);
      expect([200, 401]).toContain(retried.statusCode);
      const candidates = [next.access_token, ...(retried.statusCode === 200 ? [retried.json().access_token] : [])];
      let live = 0;
      for (const token of candidates) if ((await whoami(t, token)).statusCode === 200) live += 1;
      expect(live).toBe(1);
    }
  });

  it('lets a refresh race the logout of its device: no error, nothing left on the device', async () => {
    for (let i = 0; i < 3; i++) {
      const l = await loginWithRefresh();
      const [out, r] = await Promise.all([
        t.app.inject({ method: 'POST', url: '/_matrix/client/v3/logout', headers: bearer(l.access_token) }),
        refresh(l.refresh_token),
      ]);
      expect(out.statusCode).toBe(200);
      expect([200, 401]).toContain(r.statusCode);
      for (const table of ['access_tokens', 'refresh_tokens']) {
        const left = await t.db.query(`SELECT 1 FROM ${table} WHERE user_id = $1 AND device_id = $2`, [l.user_id, l.device_id]);
        expect(left.rowCount).toBe(0);
      }
    }
  });

  it('introspects live, revoked, expired, unknown and guest tokens (RFC 7662 shape)', async () => {
    const acct = await register(t, uniqueName('intro'));
    const live = await introspect(`token=${encodeURIComponent(acct.accessToken)}`);
    expect(live.statusCode).toBe(200);
    expect(live.headers['cache-control']).toBe('no-store');
    const body = live.json();
    expect(body).toMatchObject({ active: true, sub: acct.userId, user_id: acct.userId, username: acct.localpart, device_id: acct.deviceId, is_guest: false });
    expect(body.exp).toBeUndefined();
    expect(body.scope.split(' ')).toContain(`urn:matrix:client:device:${acct.deviceId}`);

    const l = await loginWithRefresh();
    const withExp = (await introspect({ token: l.access_token })).json();
    expect(withExp).toMatchObject({ active: true, device_id: l.device_id, exp: Math.floor((t.clock.now() + 300_000) / 1000) });
    t.clock.advance(300_000);
    expect((await introspect({ token: l.access_token })).json()).toEqual({ active: false });

    await t.app.inject({ method: 'POST', url: '/_matrix/client/v3/logout', headers: bearer(acct.accessToken) });
    expect((await introspect({ token: acct.accessToken })).json()).toEqual({ active: false });
    expect((await introspect({ token: 'mat_unknown' })).json()).toEqual({ active: false });

    const g = (await t.app.inject({ method: 'POST', url: '/_matrix/client/v3/register?kind=guest', payload: {} })).json();
    expect((await introspect({ token: g.access_token })).json()).toMatchObject({ active: true, sub: g.user_id, is_guest: true });
  });

  it('marks first use on introspection, which retires the replaced refresh token', async () => {
    const l = await loginWithRefresh();
    const next = await refreshed(l.refresh_token);
    expect((await introspect({ token: next.access_token })).json().active).toBe(true);
    await expectRefreshRefused(l.refresh_token);
  });

  it('accepts the secret as bearer, HTTP Basic password or client_secret, and refuses anything else', async () => {
    const acct = await register(t, uniqueName('sec'));
    const basic = `Basic ${Buffer.from(`homeserver:${SECRET}`).toString('base64')}`;
    expect((await introspect({ token: acct.accessToken }, { authorization: basic })).json().active).toBe(true);
    expect((await introspect(`token=${acct.accessToken}&client_id=hs&client_secret=${SECRET}`, {})).json().active).toBe(true);
    expectMatrixError(await introspect({ token: acct.accessToken }, {}), 401, 'M_MISSING_TOKEN');
    expectMatrixError(await introspect({ token: acct.accessToken }, { authorization: 'Bearer wrong' }), 401, 'M_UNKNOWN_TOKEN');
    expectMatrixError(await introspect({ token: acct.accessToken }, { authorization: acct.accessToken.replace(/^/, 'Bearer ') }), 401, 'M_UNKNOWN_TOKEN');
    expectMatrixError(await introspect({}), 400, 'M_MISSING_PARAM');
  });

  it('is off without INTROSPECTION_SECRET', async () => {
    const off = await startApp(database, {});
    try {
      const res = await off.app.inject({ method: 'POST', url: '/_registration/v1/introspect', payload: { token: 'x' }, headers: { authorization: `Bearer ${SECRET}` } });
      expectMatrixError(res, 403, 'M_FORBIDDEN');
    } finally {
      await off.close();
    }
  });
});
