// POST /register in depth: UIA session binding, expiry, spending, races, the one password hash,
// usernames, devices, refresh tokens, guests and configuration branches.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';
import { FixedClock } from '../../src/lib/clock.js';
import { createPasswordHasher } from '../../src/lib/secrets.js';
import { BASE_ENV, startApp, uniqueName, type TestApp } from '../helpers/app.js';
import { DATABASE_KINDS, openTestDatabase, type TestDatabase } from '../helpers/databases.js';
import { expectSpec } from '../helpers/spec.js';

const PW = 'a good password';

describe.each(DATABASE_KINDS)('POST /register (%s)', (kind) => {
  let database: TestDatabase;
  let t: TestApp;

  beforeAll(async () => {
    database = await openTestDatabase(kind);
    t = await startApp(database, { RATE_LIMIT_REGISTER_BURST: '10000', RATE_LIMIT_REGISTER_REQUESTS_PER_MINUTE: '100000' });
  });
  afterAll(async () => {
    await t?.close();
    await database?.close();
  });

  const post = (app: TestApp, payload: unknown, url = '/_matrix/client/v3/register') =>
    app.app.inject({ method: 'POST', url, payload: payload as object });
  const spec = (res: Awaited<ReturnType<typeof post>>) => expectSpec(res, 'registration.yaml', '/register', 'post');
  const start = async (body: Record<string, unknown>, app = t) => {
    const res = await post(app, body);
    expect(res.statusCode).toBe(401);
    return spec(res).session as string;
  };
  const dummy = (session: string, extra: Record<string, unknown> = {}, app = t, url?: string) =>
    post(app, { ...extra, auth: { type: 'm.login.dummy', session } }, url);
  const countUsers = async (where = 'TRUE', params: unknown[] = []) =>
    Number((await t.db.query(`SELECT count(*)::int AS n FROM users WHERE ${where}`, params)).rows[0].n);

  describe('UIA', () => {
    it('answers 401 without auth, and never registers without it', async () => {
      const username = uniqueName();
      const res = await post(t, { username, password: PW });
      expect(res.statusCode).toBe(401);
      const body = spec(res);
      expect(body).toEqual({ flows: [{ stages: ['m.login.dummy'] }], params: {}, session: expect.any(String) });
      expect(await countUsers('localpart = $1', [username])).toBe(0);
    });

    it('accepts a stage submitted without a session on the first request', async () => {
      const username = uniqueName();
      const res = await post(t, { username, password: PW, auth: { type: 'm.login.dummy' } });
      expect(res.statusCode).toBe(200);
      expect(spec(res).user_id).toBe(`@${username}:test.example`);
    });

    it('refuses a stage the flows do not offer, with the UIA body and an error', async () => {
      const session = await start({ username: uniqueName(), password: PW });
      const res = await post(t, { auth: { type: 'm.login.registration_token', token: 'x', session } });
      expect(res.statusCode).toBe(401);
      const body = spec(res);
      expect(body.errcode).toBe('M_FORBIDDEN');
      expect(body.session).toBe(session);
    });

    it('answers M_BAD_JSON for a malformed auth dict', async () => {
      for (const auth of [[], 'x', { type: 5 }, { session: 7 }]) {
        const res = await post(t, { username: uniqueName(), password: PW, auth });
        expect(res.statusCode, JSON.stringify(auth)).toBe(400);
        expect(spec(res).errcode).toBe('M_BAD_JSON');
      }
    });

    it('answers an unknown session with a clear 400', async () => {
      const res = await dummy('nosuchsessionnosuchsessio');
      expect(res.statusCode).toBe(400);
      expect(spec(res).errcode).toBe('M_UNKNOWN');
    });

    it('lets a client send the password in every round or only the first', async () => {
      const username = uniqueName();
      const s1 = await start({ username, password: PW });
      expect((await dummy(s1, { username, password: PW })).statusCode).toBe(200);
      const other = uniqueName();
      const s2 = await start({ username: other, password: PW });
      expect((await dummy(s2)).statusCode).toBe(200);
    });

    it('accepts the same session across the r0 and v3 prefixes and with ?kind=user', async () => {
      const username = uniqueName();
      const session = await start({ username, password: PW });
      const res = await dummy(session, { username }, t, '/_matrix/client/r0/register?kind=user');
      expect(res.statusCode).toBe(200);
    });

    it('refuses to finish a session with another username or password', async () => {
      const username = uniqueName();
      const session = await start({ username, password: PW });
      const otherName = await dummy(session, { username: uniqueName(), password: PW });
      expect(otherName.statusCode).toBe(403);
      expect(spec(otherName).errcode).toBe('M_FORBIDDEN');
      const otherPassword = await dummy(session, { username, password: 'another good password' });
      expect(otherPassword.statusCode).toBe(403);
      expect(await countUsers('localpart = $1', [username])).toBe(0);
      // The legitimate client can still finish it.
      expect((await dummy(session, { username, password: PW })).statusCode).toBe(200);
    });

    it('freezes a username first sent in a later round', async () => {
      const session = await start({});
      const username = uniqueName();
      const r2 = await post(t, { username, password: PW, auth: { session } });
      expect(r2.statusCode).toBe(401);
      const swap = await dummy(session, { username: uniqueName() });
      expect(swap.statusCode).toBe(403);
      const ok = await dummy(session);
      expect(spec(ok).user_id).toBe(`@${username}:test.example`);
    });

    it('asks for a password when the flow completes without one, and keeps the session usable', async () => {
      const username = uniqueName();
      const session = await start({ username });
      const res = await dummy(session);
      expect(res.statusCode).toBe(400);
      expect(spec(res).errcode).toBe('M_MISSING_PARAM');
      expect((await dummy(session, { password: PW })).statusCode).toBe(200);
    });

    it('spends a completed session: a replay mints no second account, device or token', async () => {
      const username = uniqueName();
      const session = await start({ username, password: PW });
      const first = await dummy(session);
      expect(first.statusCode).toBe(200);
      const replay = await dummy(session);
      expect(replay.statusCode).toBe(403);
      expect(spec(replay).errcode).toBe('M_FORBIDDEN');
      const userId = `@${username}:test.example`;
      const devices = await t.db.query('SELECT count(*)::int AS n FROM devices WHERE user_id = $1', [userId]);
      const tokens = await t.db.query('SELECT count(*)::int AS n FROM access_tokens WHERE user_id = $1', [userId]);
      expect([devices.rows[0].n, tokens.rows[0].n]).toEqual([1, 1]);
    });

    it('expires sessions after UIA_SESSION_LIFETIME', async () => {
      const clock = new FixedClock(Date.now());
      const short = await startApp(database, { UIA_SESSION_LIFETIME: '10m' }, { clock });
      try {
        const session = await start({ username: uniqueName(), password: PW }, short);
        clock.advance(10 * 60_000 + 1);
        const res = await dummy(session, {}, short);
        expect(res.statusCode).toBe(400);
        expect(spec(res).errcode).toBe('M_UNKNOWN');
        // A session within its lifetime still works.
        const fresh = await start({ username: uniqueName(), password: PW }, short);
        clock.advance(9 * 60_000);
        expect((await dummy(fresh, {}, short)).statusCode).toBe(200);
      } finally {
        await short.close();
      }
    });

    it('never stores the password, and drops the hash from the spent session', async () => {
      const password = 'a very distinctive password 123';
      const username = uniqueName();
      const session = await start({ username, password });
      const mid = await t.db.query('SELECT binding::text, password_hash FROM uia_sessions WHERE session_id = $1', [session]);
      expect(mid.rows[0].binding).not.toContain(password);
      expect(mid.rows[0].password_hash).toMatch(/^\$argon2id\$v=19\$m=19456,p=1,t=2\$/);
      await dummy(session);
      const after = await t.db.query('SELECT binding::text, password_hash FROM uia_sessions WHERE session_id = $1', [session]);
      expect(after.rows[0].password_hash).toBeNull();
      expect(after.rows[0].binding).not.toContain('password_digest');
      const user = await t.db.query('SELECT password_hash FROM users WHERE localpart = $1', [username]);
      expect(user.rows[0].password_hash).toMatch(/^\$argon2id\$/);
    });
  });

  describe('one password hash per registration', () => {
    it('hashes once whether the password comes in every round or only the first', async () => {
      let hashes = 0;
      const config = loadConfig({ ...BASE_ENV, RATE_LIMIT_REGISTER_BURST: '1000' });
      const hasher = createPasswordHasher(config.argon2, () => hashes++);
      const app = await buildApp({ config, db: database.connect(), hasher, logger: false, maintenanceIntervalMs: 0 });
      try {
        const post2 = (payload: object) => app.inject({ method: 'POST', url: '/_matrix/client/v3/register', payload });
        const u1 = uniqueName();
        const s1 = (await post2({ username: u1, password: PW })).json().session;
        await post2({ username: u1, password: PW, auth: { session: s1 } });
        expect((await post2({ username: u1, password: PW, auth: { type: 'm.login.dummy', session: s1 } })).statusCode).toBe(200);
        expect(hashes).toBe(1);
        const u2 = uniqueName();
        const s2 = (await post2({ username: u2, password: PW })).json().session;
        expect((await post2({ auth: { type: 'm.login.dummy', session: s2 } })).statusCode).toBe(200);
        expect(hashes).toBe(2);
      } finally {
        await app.close();
      }
    });
  });

  describe('races', () => {
    it('twenty concurrent registrations of one name create exactly one account', async () => {
      const username = uniqueName('race');
      const results = await Promise.all(
        Array.from({ length: 20 }, () => post(t, { username, password: PW, auth: { type: 'm.login.dummy' } })),
      );
      const codes = results.map((r) => r.statusCode);
      expect(codes.filter((c) => c === 200)).toHaveLength(1);
      for (const r of results.filter((x) => x.statusCode !== 200)) {
        expect(r.statusCode).toBe(400);
        expect(spec(r).errcode).toBe('M_USER_IN_USE');
      }
      expect(await countUsers('localpart = $1', [username])).toBe(1);
    });

    it('two final requests racing on one session give one account and no M_USER_IN_USE', async () => {
      const username = uniqueName('race');
      const session = await start({ username, password: PW });
      const results = await Promise.all(Array.from({ length: 5 }, () => dummy(session)));
      const ok = results.filter((r) => r.statusCode === 200);
      expect(ok).toHaveLength(1);
      for (const r of results.filter((x) => x.statusCode !== 200)) {
        expect(r.statusCode).toBe(403);
        expect(spec(r).errcode).toBe('M_FORBIDDEN');
      }
      expect(await countUsers('localpart = $1', [username])).toBe(1);
      const tokens = await t.db.query('SELECT count(*)::int AS n FROM access_tokens WHERE user_id = $1', [`@${username}:test.example`]);
      expect(tokens.rows[0].n).toBe(1);
    });
  });

  describe('usernames', () => {
    it('answers M_INVALID_USERNAME before any UIA stage', async () => {
      const long = 'a'.repeat(255 - '@:test.example'.length + 1);
      for (const username of ['', 'has space', 'émile', 'a:b', '_underscore', long, 'x\u0000']) {
        const res = await post(t, { username, password: PW });
        expect(res.statusCode, username).toBe(400);
        expect(spec(res).errcode).toBe('M_INVALID_USERNAME');
      }
    });

    it('accepts a user ID of exactly 255 bytes', async () => {
      const username = 'b'.repeat(255 - '@:test.example'.length);
      const res = await post(t, { username, password: PW, auth: { type: 'm.login.dummy' } });
      expect(res.statusCode).toBe(200);
      expect(Buffer.byteLength(spec(res).user_id)).toBe(255);
    });

    it('refuses reserved names in both /register and /register/available', async () => {
      const res = await post(t, { username: 'Admin', password: PW });
      expect(spec(res).errcode).toBe('M_INVALID_USERNAME');
      const avail = await t.app.inject({ url: '/_matrix/client/v3/register/available?username=postmaster' });
      expect(expectSpec(avail, 'registration.yaml', '/register/available', 'get').errcode).toBe('M_INVALID_USERNAME');
    });

    it('answers M_USER_IN_USE before any UIA stage', async () => {
      const username = uniqueName();
      await post(t, { username, password: PW, auth: { type: 'm.login.dummy' } });
      const res = await post(t, { username: username.toUpperCase(), password: PW });
      expect(res.statusCode).toBe(400);
      expect(spec(res).errcode).toBe('M_USER_IN_USE');
    });

    it('generates random, non-sequential localparts when the username is omitted', async () => {
      const ids: string[] = [];
      for (let i = 0; i < 3; i++) {
        const res = await post(t, { password: PW, auth: { type: 'm.login.dummy' } });
        ids.push(spec(res).user_id);
      }
      for (const id of ids) expect(id).toMatch(/^@_user\.[a-z0-9]{12}:test\.example$/);
      expect(new Set(ids).size).toBe(3);
      // Random, not counters: no two generated localparts share a 6-character prefix.
      expect(new Set(ids.map((id) => id.slice(0, 13))).size).toBe(3);
    });

    it('answers M_WEAK_PASSWORD by the policy, before any stage', async () => {
      const strict = await startApp(database, { RATE_LIMIT_REGISTER_BURST: '100', PASSWORD_MIN_LENGTH: '12', PASSWORD_REQUIRE_DIGIT: 'true', PASSWORD_REQUIRE_SYMBOL: 'true' });
      try {
        for (const password of ['short1!', 'long enough but no digit!', 'long enough 123 no symbol'.replace(/ /g, 'x')]) {
          const res = await post(strict, { username: uniqueName(), password });
          expect(res.statusCode, password).toBe(400);
          expect(spec(res).errcode).toBe('M_WEAK_PASSWORD');
        }
        expect((await post(strict, { username: uniqueName(), password: 'long enough 123!' })).statusCode).toBe(401);
      } finally {
        await strict.close();
      }
    });
  });

  describe('devices and tokens', () => {
    it('uses the client device_id and display name, and returns refresh tokens on request', async () => {
      const username = uniqueName();
      const res = await post(t, {
        username, password: PW, device_id: 'MYPHONE', initial_device_display_name: 'Jungle Phone', refresh_token: true,
        auth: { type: 'm.login.dummy' },
      });
      const body = spec(res);
      expect(body.device_id).toBe('MYPHONE');
      expect(body.refresh_token).toMatch(/^mrt_/);
      expect(body.expires_in_ms).toBe(300_000);
      const dev = await t.db.query('SELECT display_name FROM devices WHERE user_id = $1', [body.user_id]);
      expect(dev.rows[0].display_name).toBe('Jungle Phone');
      // Only hashes are stored.
      const stored = await t.db.query('SELECT token_hash, expires_at FROM access_tokens WHERE user_id = $1', [body.user_id]);
      expect(stored.rows[0].token_hash).toHaveLength(32);
      expect(stored.rows[0].token_hash.toString()).not.toContain(body.access_token);
      expect(Number(stored.rows[0].expires_at)).toBe(t.clock.now() + 300_000);
    });

    it('returns no token or device with inhibit_login', async () => {
      const res = await post(t, { username: uniqueName(), password: PW, inhibit_login: true, auth: { type: 'm.login.dummy' } });
      const body = spec(res);
      expect(Object.keys(body).sort()).toEqual(['home_server', 'user_id']);
      const devices = await t.db.query('SELECT count(*)::int AS n FROM devices WHERE user_id = $1', [body.user_id]);
      expect(devices.rows[0].n).toBe(0);
    });

    it('type- and length-checks device_id and the flags', async () => {
      for (const extra of [{ device_id: 7 }, { device_id: '' }, { device_id: 'x'.repeat(256) }, { device_id: 'has space' },
        { inhibit_login: 'yes' }, { refresh_token: 1 }, { username: 5 }, { password: ['x'] }]) {
        const res = await post(t, { username: uniqueName(), password: PW, ...extra });
        expect(res.statusCode, JSON.stringify(extra)).toBe(400);
        expect(spec(res).errcode).toBe('M_BAD_JSON');
      }
    });
  });

  describe('configuration branches', () => {
    it('answers 403 when registration is disabled, for /register and /register/available', async () => {
      const off = await startApp(database, { ENABLE_REGISTRATION: 'false' });
      try {
        const res = await post(off, { username: uniqueName(), password: PW });
        expect(res.statusCode).toBe(403);
        expect(spec(res).errcode).toBe('M_FORBIDDEN');
        const avail = await off.app.inject({ url: '/_matrix/client/v3/register/available?username=someone' });
        expect(avail.statusCode).toBe(403);
        expect(JSON.parse(avail.body).errcode).toBe('M_FORBIDDEN');
      } finally {
        await off.close();
      }
    });

    it('offers the token flow when REGISTRATION_REQUIRES_TOKEN', async () => {
      const tok = await startApp(database, { REGISTRATION_REQUIRES_TOKEN: 'true', ENABLE_REGISTRATION_WITHOUT_VERIFICATION: 'false' });
      try {
        const res = await post(tok, { username: uniqueName(), password: PW });
        expect(spec(res).flows).toEqual([{ stages: ['m.login.registration_token'] }]);
        const d = await post(tok, { username: uniqueName(), password: PW, auth: { type: 'm.login.dummy' } });
        expect(d.statusCode).toBe(401);
      } finally {
        await tok.close();
      }
    });

    it('refuses guests unless ALLOW_GUEST_ACCESS, and ignores every guest parameter but the display name', async () => {
      const guestOff = await post(t, {}, '/_matrix/client/v3/register?kind=guest');
      expect(guestOff.statusCode).toBe(403);
      expect(spec(guestOff).errcode).toBe('M_FORBIDDEN');

      const g = await startApp(database, { ALLOW_GUEST_ACCESS: 'true', ENABLE_REGISTRATION: 'false' });
      try {
        const res = await post(g, {
          username: 'chosen', password: 7, device_id: 'MINE', inhibit_login: true, refresh_token: true,
          auth: { type: 'nonsense' }, initial_device_display_name: 'Guest phone',
        }, '/_matrix/client/r0/register?kind=guest');
        expect(res.statusCode).toBe(200);
        const body = spec(res);
        expect(body.user_id).toMatch(/^@_guest\.[a-z0-9]{12}:test\.example$/);
        expect(body.device_id).not.toBe('MINE');
        expect(body.access_token).toMatch(/^mat_/);
        expect(body.refresh_token).toBeUndefined();
        const row = await g.db.query('SELECT u.is_guest, d.display_name FROM users u JOIN devices d USING (user_id) WHERE u.user_id = $1', [body.user_id]);
        expect(row.rows[0]).toEqual({ is_guest: true, display_name: 'Guest phone' });
        const bad = await post(g, { initial_device_display_name: 5 }, '/_matrix/client/v3/register?kind=guest');
        expect(spec(bad).errcode).toBe('M_BAD_JSON');
      } finally {
        await g.close();
      }
    });

    it('answers M_INVALID_PARAM for an unknown kind', async () => {
      const res = await post(t, {}, '/_matrix/client/v3/register?kind=admin');
      expect(res.statusCode).toBe(400);
      expect(spec(res).errcode).toBe('M_INVALID_PARAM');
    });
  });
});
