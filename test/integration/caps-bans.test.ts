// Registration caps (per hour, per day; across instances) and bans (IP/CIDR, user agent; from
// configuration and the admin API), each off and on, against every test database. Bans and full
// caps are answered before any password hash: a counting hasher proves it.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { FixedClock } from '../../src/lib/clock.js';
import { BAN_REFRESH_MS } from '../../src/services/registration-gates.js';
import { createPasswordHasher, type PasswordHasher } from '../../src/lib/secrets.js';
import { ADMIN_TOKEN, BASE_ENV, startApp, uniqueName, type TestApp } from '../helpers/app.js';
import { DATABASE_KINDS, openTestDatabase, type TestDatabase } from '../helpers/databases.js';
import { expectMatrixError, expectSpec } from '../helpers/spec.js';

const PW = 'a good password';
const LIMITS = { RATE_LIMIT_REGISTER_BURST: '10000', RATE_LIMIT_REGISTER_REQUESTS_PER_MINUTE: '100000' };
const admin = { authorization: `Bearer ${ADMIN_TOKEN}` };
const HOUR = 3_600_000;

function countingHasher(): { hasher: PasswordHasher; count: () => number } {
  let n = 0;
  const hasher = createPasswordHasher(loadConfig(BASE_ENV).argon2, () => n++);
  return { hasher, count: () => n };
}

/** One-round registration: the dummy stage submitted with the first request. */
const registerOnce = (t: TestApp, opts: { username?: string; ip?: string; ua?: string } = {}) =>
  t.app.inject({
    method: 'POST',
    url: '/_matrix/client/v3/register',
    payload: { username: opts.username ?? uniqueName(), password: PW, auth: { type: 'm.login.dummy' } },
    headers: opts.ua ? { 'user-agent': opts.ua } : {},
    ...(opts.ip ? { remoteAddress: opts.ip } : {}),
  });
const spec = (res: Awaited<ReturnType<typeof registerOnce>>) => expectSpec(res, 'registration.yaml', '/register', 'post');

describe.each(DATABASE_KINDS)('caps and bans (%s)', (kind) => {
  let database: TestDatabase;
  beforeAll(async () => {
    database = await openTestDatabase(kind);
  });
  afterAll(async () => {
    await database?.close();
  });

  /** Runs fn with an app of this configuration; apps run one after another on the file's database. */
  async function withApp(env: Record<string, string>, clock: FixedClock, fn: (t: TestApp, hashes: () => number) => Promise<void>) {
    const { hasher, count } = countingHasher();
    const t = await startApp(database, { ...LIMITS, ...env }, { clock, deps: { hasher } });
    try {
      await fn(t, count);
    } finally {
      await t.close();
      await t.db.close();
    }
  }

  describe('caps', () => {
    it('off: registrations are not counted', async () => {
      await withApp({}, new FixedClock(Date.UTC(2026, 0, 1, 5)), async (t) => {
        for (let i = 0; i < 3; i++) expect((await registerOnce(t)).statusCode).toBe(200);
        expect((await t.db.query('SELECT count(*)::int AS n FROM registration_caps')).rows[0].n).toBe(0);
      });
    });

    it('per hour: over the cap answers 403 M_FORBIDDEN before hashing, and the next hour admits again', async () => {
      const clock = new FixedClock(Date.UTC(2026, 0, 2, 5, 0, 1));
      await withApp({ REGISTRATION_MAX_PER_HOUR: '2', REGISTRATION_CAP_SHORT_WAIT: '1m' }, clock, async (t, hashes) => {
        expect((await registerOnce(t)).statusCode).toBe(200);
        expect((await registerOnce(t)).statusCode).toBe(200);
        expect(hashes()).toBe(2);
        const over = await registerOnce(t);
        expect(over.statusCode).toBe(403);
        const body = spec(over);
        expect(body.errcode).toBe('M_FORBIDDEN');
        expect(body.error).toMatch(/limit of new accounts for this hour; try again in 60 minutes/);
        expect(hashes()).toBe(2);
        clock.advance(HOUR);
        expect((await registerOnce(t)).statusCode).toBe(200);
      });
    });

    it('answers 429 with retry_after_ms when the wait is short', async () => {
      const clock = new FixedClock(Date.UTC(2026, 0, 3, 5, 50));
      await withApp({ REGISTRATION_MAX_PER_HOUR: '1', REGISTRATION_CAP_SHORT_WAIT: '15m' }, clock, async (t) => {
        expect((await registerOnce(t)).statusCode).toBe(200);
        const over = await registerOnce(t);
        expect(over.statusCode).toBe(429);
        const body = spec(over);
        expect(body).toMatchObject({ errcode: 'M_LIMIT_EXCEEDED', retry_after_ms: 10 * 60_000 });
        expect(over.headers['retry-after']).toBe('600');
      });
    });

    it('per day: counts across the hours of the day', async () => {
      const clock = new FixedClock(Date.UTC(2026, 0, 4, 1));
      await withApp({ REGISTRATION_MAX_PER_DAY: '2' }, clock, async (t) => {
        expect((await registerOnce(t)).statusCode).toBe(200);
        clock.advance(5 * HOUR);
        expect((await registerOnce(t)).statusCode).toBe(200);
        clock.advance(5 * HOUR);
        const over = await registerOnce(t);
        expect(over.statusCode).toBe(403);
        expect(spec(over).error).toMatch(/for this day/);
        clock.advance(14 * HOUR);
        expect((await registerOnce(t)).statusCode).toBe(200);
      });
    });

    it('applies to guests too', async () => {
      const clock = new FixedClock(Date.UTC(2026, 0, 5, 1));
      await withApp({ REGISTRATION_MAX_PER_HOUR: '1', ALLOW_GUEST_ACCESS: 'true' }, clock, async (t) => {
        const guest = () => t.app.inject({ method: 'POST', url: '/_matrix/client/v3/register?kind=guest', payload: {} });
        expect((await guest()).statusCode).toBe(200);
        const over = await guest();
        expect(over.statusCode).toBe(403);
        expect(spec(over).errcode).toBe('M_FORBIDDEN');
      });
    });

    // Two instances need two connection pools: real Postgres only (the embedded database is
    // served to one pool; see shared/notes/embedded-postgres.md).
    if (kind === 'postgres') it('holds across two instances on one database under concurrency', async () => {
      const clock = new FixedClock(Date.UTC(2026, 0, 6, 1));
      const env = { ...LIMITS, REGISTRATION_MAX_PER_HOUR: '5', REGISTRATION_CAP_SHORT_WAIT: '0s' };
      const a = await startApp(database, env, { clock });
      const b = await startApp(database, env, { clock });
      try {
        const results = await Promise.all(Array.from({ length: 12 }, (_, i) => registerOnce(i % 2 ? a : b)));
        const statuses = results.map((r) => r.statusCode).sort();
        expect(statuses.filter((s) => s === 200)).toHaveLength(5);
        expect(statuses.filter((s) => s === 403)).toHaveLength(7);
        for (const r of results.filter((x) => x.statusCode === 403)) expect(spec(r).errcode).toBe('M_FORBIDDEN');
        const slots = await a.db.query(`SELECT count FROM registration_caps WHERE period = 'hour' AND window_start = $1`, [clock.now()]);
        expect(slots.rows[0].count).toBe(5);
      } finally {
        await a.close();
        await b.close();
      }
    });
  });

  describe('bans', () => {
    it('off: any address and client may register', async () => {
      await withApp({}, new FixedClock(), async (t) => {
        expect((await registerOnce(t, { ip: '203.0.113.9', ua: 'python-requests/2.31' })).statusCode).toBe(200);
      });
    });

    it('configured IP/CIDR and user-agent bans refuse with 403 before any password hash', async () => {
      const env = { REGISTRATION_BANNED_IPS: '203.0.113.0/24,2001:db8::1', REGISTRATION_BANNED_USER_AGENTS: 'python-requests/*,*SpamBot*' };
      await withApp(env, new FixedClock(), async (t, hashes) => {
        for (const opts of [{ ip: '203.0.113.9' }, { ip: '2001:db8::1' }, { ip: '198.51.100.1', ua: 'python-requests/2.31' }, { ip: '198.51.100.1', ua: 'Mozilla (spambot 1)' }]) {
          const res = await registerOnce(t, opts);
          expect(res.statusCode, JSON.stringify(opts)).toBe(403);
          expect(spec(res)).toMatchObject({ errcode: 'M_FORBIDDEN', error: 'Registration is not allowed from your network or client.' });
        }
        // A banned client's first request (no auth yet) is refused too, before its password is
        // hashed and before a UIA session is opened.
        const sessions = async () => (await t.db.query(`SELECT count(*)::int AS n FROM uia_sessions`)).rows[0].n;
        const before = await sessions();
        const first = await t.app.inject({ method: 'POST', url: '/_matrix/client/v3/register', payload: { username: uniqueName(), password: PW }, remoteAddress: '203.0.113.10' });
        expect(first.statusCode).toBe(403);
        expect(hashes()).toBe(0);
        expect(await sessions()).toBe(before);
        // Everyone else registers, with exactly one hash.
        expect((await registerOnce(t, { ip: '198.51.100.1', ua: 'Element/1.11' })).statusCode).toBe(200);
        expect(hashes()).toBe(1);
      });
    });

    it('bans added through the admin API apply at once, and can be lifted', async () => {
      await withApp({}, new FixedClock(), async (t, hashes) => {
        const add = (payload: object) => t.app.inject({ method: 'POST', url: '/_synapse/admin/v1/registration_bans', headers: admin, payload });
        const ipBan = await add({ kind: 'ip', value: '192.0.2.77/24', reason: 'spam wave' });
        expect(ipBan.statusCode).toBe(201);
        expect(ipBan.json()).toMatchObject({ kind: 'ip', value: '192.0.2.0/24', reason: 'spam wave' });
        expect((await add({ kind: 'ip', value: '192.0.2.0/24' })).statusCode).toBe(200);
        const uaBan = await add({ kind: 'user_agent', value: 'curl/*' });
        expect(uaBan.statusCode).toBe(201);

        expect((await registerOnce(t, { ip: '192.0.2.8' })).statusCode).toBe(403);
        expect((await registerOnce(t, { ip: '198.51.100.2', ua: 'curl/8.4.0' })).statusCode).toBe(403);
        expect(hashes()).toBe(0);

        const list = await t.app.inject({ url: '/_synapse/admin/v1/registration_bans', headers: admin });
        expect(list.statusCode).toBe(200);
        expect(list.json().bans.map((b: { value: string }) => b.value)).toEqual(['192.0.2.0/24', 'curl/*']);
        expect(list.json().configured).toEqual({ ips: [], user_agents: [] });

        const lift = await t.app.inject({ method: 'DELETE', url: `/_synapse/admin/v1/registration_bans/${ipBan.json().id}`, headers: admin });
        expect(lift.statusCode).toBe(200);
        expect((await registerOnce(t, { ip: '192.0.2.8' })).statusCode).toBe(200);
        const again = await t.app.inject({ method: 'DELETE', url: `/_synapse/admin/v1/registration_bans/${ipBan.json().id}`, headers: admin });
        expectMatrixError(again, 404, 'M_NOT_FOUND');

        expectMatrixError(await add({ kind: 'ip', value: 'not-an-ip' }), 400, 'M_INVALID_PARAM');
        expectMatrixError(await add({ kind: 'user_agent', value: 'bad\u0001' }), 400, 'M_INVALID_PARAM');
        expectMatrixError(await add({ kind: 'country', value: 'x' }), 400, 'M_BAD_JSON');
        expectMatrixError(await t.app.inject({ url: '/_synapse/admin/v1/registration_bans' }), 401, 'M_MISSING_TOKEN');
        // Tidy up for the next test on this database.
        await t.app.inject({ method: 'DELETE', url: `/_synapse/admin/v1/registration_bans/${uaBan.json().id}`, headers: admin });
      });
    });

    if (kind === 'postgres') it('a ban added on one instance applies on another within BAN_REFRESH_MS', async () => {
      const a = await startApp(database, LIMITS);
      const b = await startApp(database, LIMITS);
      try {
        // b reads the list (no bans yet) before a adds one.
        expect((await registerOnce(b, { ip: '198.51.100.7' })).statusCode).toBe(200);
        const ban = await a.app.inject({ method: 'POST', url: '/_synapse/admin/v1/registration_bans', headers: admin, payload: { kind: 'ip', value: '198.18.0.0/15' } });
        expect(ban.statusCode).toBe(201);
        // b reuses the list it read for up to BAN_REFRESH_MS; the ban holds there once that passed.
        b.clock.advance(BAN_REFRESH_MS);
        expect((await registerOnce(b, { ip: '198.19.1.1' })).statusCode).toBe(403);
        await a.app.inject({ method: 'DELETE', url: `/_synapse/admin/v1/registration_bans/${ban.json().id}`, headers: admin });
        b.clock.advance(BAN_REFRESH_MS);
        expect((await registerOnce(b, { ip: '198.19.1.1' })).statusCode).toBe(200);
      } finally {
        await a.close();
        await b.close();
      }
    });

    it('guests from a banned address are refused', async () => {
      await withApp({ REGISTRATION_BANNED_IPS: '203.0.113.0/24', ALLOW_GUEST_ACCESS: 'true' }, new FixedClock(), async (t) => {
        const res = await t.app.inject({ method: 'POST', url: '/_matrix/client/v3/register?kind=guest', payload: {}, remoteAddress: '203.0.113.1' });
        expect(res.statusCode).toBe(403);
        expect(spec(res).errcode).toBe('M_FORBIDDEN');
      });
    });
  });
});
