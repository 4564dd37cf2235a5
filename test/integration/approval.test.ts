// Account approval (MSC3866): REGISTRATION_REQUIRES_APPROVAL off and on, the Synapse-shaped admin
// user API (pending list, approve, reject), and the webhook through its outbox, against every
// test database.
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FixedClock } from '../../src/lib/clock.js';
import { createWebhookWorker } from '../../src/services/webhooks.js';
import { enqueueWebhook } from '../../src/store/webhook-outbox.js';
import { ADMIN_TOKEN, startApp, uniqueName, type TestApp } from '../helpers/app.js';
import { DATABASE_KINDS, openTestDatabase, type TestDatabase } from '../helpers/databases.js';
import { expectMatrixError, expectSpec } from '../helpers/spec.js';

const PW = 'a good password';
const LIMITS = { RATE_LIMIT_REGISTER_BURST: '10000', RATE_LIMIT_REGISTER_REQUESTS_PER_MINUTE: '100000' };
const admin = { authorization: `Bearer ${ADMIN_TOKEN}` };

/** A webhook receiver on loopback that fails the first `failures` calls with 500. */
async function startReceiver(failures: number): Promise<{ url: string; calls: { body: any }[]; server: Server }> {
  const calls: { body: any }[] = [];
  let failed = 0;
  const server = createServer((req: IncomingMessage, res) => {
    let data = '';
    req.on('data', (c) => (data += c));
    req.on('end', () => {
      if (failed < failures) {
        failed++;
        res.writeHead(500).end();
        return;
      }
      calls.push({ body: JSON.parse(data) });
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`, calls, server };
}

describe.each(DATABASE_KINDS)('account approval (%s)', (kind) => {
  let database: TestDatabase;
  beforeAll(async () => {
    database = await openTestDatabase(kind);
  });
  afterAll(async () => {
    await database?.close();
  });

  const register = async (t: TestApp, username: string, ua = 'TestClient/1.0') => {
    const post = (payload: object) =>
      t.app.inject({ method: 'POST', url: '/_matrix/client/v3/register', payload, headers: { 'user-agent': ua } });
    const first = await post({ username, password: PW });
    expect(first.statusCode).toBe(401);
    return post({ auth: { type: 'm.login.dummy', session: first.json().session } });
  };
  const login = (t: TestApp, username: string, password = PW) =>
    t.app.inject({
      method: 'POST', url: '/_matrix/client/v3/login',
      payload: { type: 'm.login.password', identifier: { type: 'm.id.user', user: username }, password },
    });
  const getUser = (t: TestApp, userId: string) =>
    t.app.inject({ url: `/_synapse/admin/v2/users/${encodeURIComponent(userId)}`, headers: admin });

  it('off: registration logs in at once and the account is approved', async () => {
    const t = await startApp(database, LIMITS);
    try {
      const username = uniqueName();
      const res = await register(t, username);
      expect(res.statusCode).toBe(200);
      const body = expectSpec(res, 'registration.yaml', '/register', 'post');
      expect(body.access_token).toBeDefined();
      const user = await getUser(t, body.user_id);
      expect(user.statusCode).toBe(200);
      expect(user.json()).toMatchObject({ name: body.user_id, approved: true, deactivated: false, registration_user_agent: 'TestClient/1.0' });
      expect((await login(t, username)).statusCode).toBe(200);
    } finally {
      await t.close();
      await t.db.close();
    }
  });

  describe('on', () => {
    let t: TestApp;
    let receiver: Awaited<ReturnType<typeof startReceiver>>;
    const clock = new FixedClock(Date.UTC(2026, 10, 22, 12));

    beforeAll(async () => {
      receiver = await startReceiver(1);
      t = await startApp(
        database,
        { ...LIMITS, REGISTRATION_REQUIRES_APPROVAL: 'true', REGISTRATION_APPROVAL_WEBHOOK_URL: receiver.url },
        { clock, deps: { webhookIntervalMs: 0, webhookOptions: { retryBaseMs: 1000, timeoutMs: 5000 } } },
      );
    });
    afterAll(async () => {
      await t?.close();
      await t?.db.close();
      await new Promise((r) => receiver?.server.close(r));
    });

    it('creates the account but answers 403 M_USER_AWAITING_APPROVAL with no token, until approved', async () => {
      const username = uniqueName();
      const userId = `@${username}:test.example`;
      const res = await register(t, username, 'Spammy/2.0');
      expect(res.statusCode).toBe(403);
      const body = expectSpec(res, 'registration.yaml', '/register', 'post');
      expect(body.errcode).toBe('M_USER_AWAITING_APPROVAL');
      expect(body.access_token).toBeUndefined();
      expect((await t.db.query('SELECT count(*)::int AS n FROM devices WHERE user_id = $1', [userId])).rows[0].n).toBe(0);

      // The pending queue shows where the registration came from.
      const pending = await t.app.inject({ url: '/_synapse/admin/v2/users?approved=false', headers: admin });
      expect(pending.statusCode).toBe(200);
      const entry = pending.json().users.find((u: { name: string }) => u.name === userId);
      expect(entry).toEqual({
        name: userId,
        is_guest: false,
        admin: false,
        deactivated: false,
        erased: false,
        approved: false,
        creation_ts: clock.now(),
        threepids: [],
        registration_token: null,
        registration_ip: '127.0.0.1',
        registration_user_agent: 'Spammy/2.0',
      });
      expect(pending.json().total).toBeGreaterThanOrEqual(1);

      // The username stays taken while the account waits.
      const again = await t.app.inject({ url: `/_matrix/client/v3/register/available?username=${username}` });
      expect(expectSpec(again, 'registration.yaml', '/register/available', 'get').errcode).toBe('M_USER_IN_USE');

      // /login answers the same until an admin approves; a wrong password still gets the usual 403.
      const early = await login(t, username);
      expect(early.statusCode).toBe(403);
      expect(expectSpec(early, 'login.yaml', '/login', 'post').errcode).toBe('M_USER_AWAITING_APPROVAL');
      const wrongPw = await login(t, username, 'not the password');
      expect(expectSpec(wrongPw, 'login.yaml', '/login', 'post').errcode).toBe('M_FORBIDDEN');
      expect((await t.db.query('SELECT count(*)::int AS n FROM devices WHERE user_id = $1', [userId])).rows[0].n).toBe(0);

      const approve = await t.app.inject({ method: 'PUT', url: `/_synapse/admin/v2/users/${encodeURIComponent(userId)}`, headers: admin, payload: { approved: true } });
      expect(approve.statusCode).toBe(200);
      expect(approve.json()).toMatchObject({ name: userId, approved: true, deactivated: false });
      expect((await getUser(t, userId)).json().approved).toBe(true);
      const ok = await login(t, username);
      expect(ok.statusCode).toBe(200);
      expect(expectSpec(ok, 'login.yaml', '/login', 'post')).toMatchObject({ user_id: userId, access_token: expect.any(String) });
      const after = await t.app.inject({ url: '/_synapse/admin/v2/users?approved=false&limit=1000', headers: admin });
      expect(after.json().users.map((u: { name: string }) => u.name)).not.toContain(userId);
    });

    it('rejects by deactivating, Synapse-style; the user ID is never reused', async () => {
      const username = uniqueName();
      const userId = `@${username}:test.example`;
      expect((await register(t, username)).statusCode).toBe(403);
      const reject = await t.app.inject({ method: 'PUT', url: `/_synapse/admin/v2/users/${encodeURIComponent(userId)}`, headers: admin, payload: { deactivated: true } });
      expect(reject.statusCode).toBe(200);
      expect(reject.json()).toMatchObject({ approved: false, deactivated: true });
      expect(expectSpec(await login(t, username), 'login.yaml', '/login', 'post').errcode).toBe('M_FORBIDDEN');
      const again2 = await t.app.inject({ method: 'PUT', url: `/_synapse/admin/v2/users/${encodeURIComponent(userId)}`, headers: admin, payload: { deactivated: true } });
      expect(again2.json()).toMatchObject({ deactivated: true });
      const reactivate = await t.app.inject({ method: 'PUT', url: `/_synapse/admin/v2/users/${encodeURIComponent(userId)}`, headers: admin, payload: { deactivated: false } });
      expectMatrixError(reactivate, 400, 'M_INVALID_PARAM');
      const pending = await t.app.inject({ url: '/_synapse/admin/v2/users?approved=false&limit=1000', headers: admin });
      expect(pending.json().users.map((u: { name: string }) => u.name)).not.toContain(userId);
      const withDeactivated = await t.app.inject({ url: '/_synapse/admin/v2/users?approved=false&deactivated=true&limit=1000', headers: admin });
      expect(withDeactivated.json().users.map((u: { name: string }) => u.name)).toContain(userId);
      const again = await t.app.inject({ method: 'POST', url: '/_matrix/client/v3/register', payload: { username, password: PW } });
      expect(expectSpec(again, 'registration.yaml', '/register', 'post').errcode).toBe('M_USER_IN_USE');
    });

    it('pages the pending list', async () => {
      for (let i = 0; i < 3; i++) expect((await register(t, uniqueName())).statusCode).toBe(403);
      const p1 = (await t.app.inject({ url: '/_synapse/admin/v2/users?approved=false&limit=2', headers: admin })).json();
      expect(p1.users).toHaveLength(2);
      expect(p1.next_token).toBe('2');
      const p2 = (await t.app.inject({ url: `/_synapse/admin/v2/users?approved=false&limit=2&from=${p1.next_token}`, headers: admin })).json();
      expect(p2.users[0].name).not.toBe(p1.users[0].name);
      expect(p1.total).toBe(p2.total);
    });

    it('calls the webhook for each new pending account, retrying until it is delivered', async () => {
      const username = uniqueName();
      const userId = `@${username}:test.example`;
      expect((await register(t, username)).statusCode).toBe(403);
      const row = async () =>
        (await t.db.query(`SELECT status, attempts FROM webhook_outbox WHERE payload->>'user_id' = $1`, [userId])).rows[0];
      expect(await row()).toEqual({ status: 'pending', attempts: 0 });
      // Drain everything due: earlier tests' events, and this one, which meets one 500 first.
      await t.app.webhooks!.runOnce();
      clock.advance(60_000);
      await t.app.webhooks!.runOnce();
      expect(await row()).toMatchObject({ status: 'sent' });
      const call = receiver.calls.find((c) => c.body.user_id === userId);
      expect(call?.body).toMatchObject({
        event: 'registration.pending_approval',
        user_id: userId,
        ip: '127.0.0.1',
        user_agent: 'TestClient/1.0',
        registration_token: null,
        threepids: [],
      });
      // Every pending account of this app was delivered exactly once.
      const sent = (await t.db.query(`SELECT count(*)::int AS n FROM webhook_outbox WHERE status = 'sent'`)).rows[0].n;
      expect(receiver.calls).toHaveLength(sent);
    });

    it('answers 404 for unknown users and guards the API with ADMIN_TOKEN', async () => {
      const missing = await getUser(t, '@nobody:test.example');
      expectMatrixError(missing, 404, 'M_NOT_FOUND');
      const anon = await t.app.inject({ url: '/_synapse/admin/v2/users?approved=false' });
      expectMatrixError(anon, 401, 'M_MISSING_TOKEN');
      const wrong = await t.app.inject({ url: '/_synapse/admin/v2/users', headers: { authorization: 'Bearer nope' } });
      expectMatrixError(wrong, 401, 'M_UNKNOWN_TOKEN');
      const bad = await t.app.inject({ method: 'PUT', url: '/_synapse/admin/v2/users/%40x%3Atest.example', headers: admin, payload: { approved: 'yes' } });
      expectMatrixError(bad, 400, 'M_BAD_JSON');
      const badQuery = await t.app.inject({ url: '/_synapse/admin/v2/users?approved=maybe', headers: admin });
      expectMatrixError(badQuery, 400, 'M_INVALID_PARAM');
    });
  });

  describe('webhook outbox', () => {
    const silent = { info: () => {}, warn: () => {}, error: () => {} };

    it('marks a call failed after the last attempt, and retries with backoff until then', async () => {
      const receiver = await startReceiver(1000);
      const db = database.connect();
      try {
        const clock = new FixedClock(Date.UTC(2026, 10, 23));
        await enqueueWebhook(db, 'test.failing', { n: 1 }, clock.now());
        const worker = createWebhookWorker({ db, clock, url: receiver.url, log: silent, maxAttempts: 2, retryBaseMs: 1000 });
        await worker.runOnce();
        const row = async () => (await db.query(`SELECT status, attempts, next_attempt_at, last_error FROM webhook_outbox WHERE event = 'test.failing'`)).rows[0];
        expect(await row()).toMatchObject({ status: 'pending', attempts: 1, next_attempt_at: clock.now() + 1000, last_error: 'webhook answered HTTP 500' });
        await worker.runOnce(); // not due yet
        expect((await row()).attempts).toBe(1);
        clock.advance(1000);
        await worker.runOnce();
        expect(await row()).toMatchObject({ status: 'failed', attempts: 2 });
      } finally {
        await db.close();
        await new Promise((r) => receiver.server.close(r));
      }
    });

    // Two workers need two connection pools: real Postgres only.
    if (kind === 'postgres') it('two workers on one database deliver each call exactly once', async () => {
      const receiver = await startReceiver(0);
      const dbA = database.connect();
      const dbB = database.connect();
      try {
        const clock = new FixedClock(Date.UTC(2026, 10, 24));
        for (let i = 0; i < 20; i++) await enqueueWebhook(dbA, 'test.race', { n: i }, clock.now());
        const a = createWebhookWorker({ db: dbA, clock, url: receiver.url, log: silent });
        const b = createWebhookWorker({ db: dbB, clock, url: receiver.url, log: silent });
        const [na, nb] = await Promise.all([a.runOnce(), b.runOnce()]);
        const raced = receiver.calls.filter((c) => c.body.event === 'test.race').map((c) => c.body.n).sort((x, y) => x - y);
        expect(raced).toEqual(Array.from({ length: 20 }, (_, i) => i));
        expect(na + nb).toBe(20);
        const left = await dbA.query(`SELECT count(*)::int AS n FROM webhook_outbox WHERE event = 'test.race' AND status <> 'sent'`);
        expect(left.rows[0].n).toBe(0);
      } finally {
        await dbA.close();
        await dbB.close();
        await new Promise((r) => receiver.server.close(r));
      }
    });
  });
});
