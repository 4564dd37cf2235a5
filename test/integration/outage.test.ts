// Database outage: a private PostgreSQL is stopped and restarted under a running service.
// While it is down, requests fail fast with a Matrix error and the process keeps running; when it
// returns, the service recovers by itself, and no registration is left half-written.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';
import { FixedClock } from '../../src/lib/clock.js';
import { createDb, type Db } from '../../src/store/db.js';
import { migrate } from '../../src/store/migrate.js';
import { BASE_ENV, uniqueName } from '../helpers/app.js';
import { startPrivatePostgres, type PrivatePostgres } from '../helpers/private-postgres.js';
import { expectMatrixError, expectSpec } from '../helpers/spec.js';

const REG = '/_matrix/client/v3/register';
/** Generous: what matters is that a request ends on its own, not how fast the machine is. */
const FAIL_FAST_BOUND_MS = 15_000;

describe('database outage (private PostgreSQL)', () => {
  let pg: PrivatePostgres;
  let db: Db;
  let app: Awaited<ReturnType<typeof buildApp>>;

  beforeAll(async () => {
    pg = await startPrivatePostgres();
    await migrate(pg.connectionString);
    const config = loadConfig({ ...BASE_ENV, RATE_LIMIT_REGISTER_BURST: '1000', DATABASE_URL: pg.connectionString });
    db = createDb({ connectionString: pg.connectionString, poolSize: 5 });
    app = await buildApp({ config, db, clock: new FixedClock(Date.now()), logger: false, maintenanceIntervalMs: 0 });
    await app.ready();
  });
  afterAll(async () => {
    await app?.close();
    await db?.close().catch(() => {});
    await pg?.destroy();
  });

  const start = async () => {
    const res = await app.inject({ method: 'POST', url: REG, payload: { username: uniqueName(), password: 'a good password' } });
    expect(res.statusCode).toBe(401);
    return res.json().session as string;
  };
  const finish = (session: string) => app.inject({ method: 'POST', url: REG, payload: { auth: { type: 'm.login.dummy', session } } });
  const timed = async <T>(fn: () => Promise<T>): Promise<[T, number]> => {
    const t0 = performance.now();
    const r = await fn();
    return [r, performance.now() - t0];
  };

  it('fails fast with 503 M_UNKNOWN while the database is down, and recovers by itself', async () => {
    const pendingSession = await start();
    expect((await app.inject({ url: '/ready' })).statusCode).toBe(200);

    await pg.stop();
    try {
      const [health] = await timed(() => app.inject({ url: '/health' }));
      expect(health.statusCode).toBe(200);
      const [ready, readyMs] = await timed(() => app.inject({ url: '/ready' }));
      expectMatrixError(ready, 503, 'M_UNKNOWN');
      expect(readyMs).toBeLessThan(FAIL_FAST_BOUND_MS);
      const requests: [() => ReturnType<typeof finish>, string, 'get' | 'post'][] = [
        [() => app.inject({ method: 'POST', url: REG, payload: { username: uniqueName(), password: 'a good password' } }), '/register', 'post'],
        [() => finish(pendingSession), '/register', 'post'],
        [() => app.inject({ url: `/_matrix/client/v3/register/available?username=${uniqueName()}` }), '/register/available', 'get'],
      ];
      for (const [request, specPath, method] of requests) {
        const [res, ms] = await timed(request);
        // The spec files define no 503 for these endpoints: the standard error body is checked.
        expect(expectMatrixError(res, 503, 'M_UNKNOWN').error, `${method} ${specPath}`).toMatch(/temporarily unavailable/);
        expect(ms).toBeLessThan(FAIL_FAST_BOUND_MS);
      }

    } finally {
      await pg.start();
    }
    // No restart of the service: its pool reconnects on the next request.
    let readyAgain = 0;
    for (let i = 0; i < 60 && readyAgain !== 200; i++) {
      readyAgain = (await app.inject({ url: '/ready' })).statusCode;
      if (readyAgain !== 200) await new Promise((r) => setTimeout(r, 250));
    }
    expect(readyAgain).toBe(200);
    // The session whose completion failed during the outage was not spent: it completes now.
    const done = await finish(pendingSession);
    expect(done.statusCode).toBe(200);
    expectSpec(done, 'registration.yaml', '/register', 'post');
  });

  it('leaves nothing half-written when the database dies under concurrent registrations', async () => {
    const sessions: string[] = [];
    for (let i = 0; i < 8; i++) sessions.push(await start());
    const inFlight = Promise.all(sessions.map((s) => finish(s)));
    await new Promise((r) => setTimeout(r, 5));
    await pg.stop();
    const results = await inFlight;
    for (const r of results) expect([200, 503]).toContain(r.statusCode);
    await pg.start();

    // Retry what failed: each session either completes now or was already spent by a commit
    // whose answer was lost; never a second account, never an account without its login.
    for (const [i, r] of results.entries()) {
      if (r.statusCode === 200) continue;
      let retry = await finish(sessions[i]!);
      for (let n = 0; n < 40 && retry.statusCode === 503; n++) {
        await new Promise((res) => setTimeout(res, 250));
        retry = await finish(sessions[i]!);
      }
      expect([200, 403]).toContain(retry.statusCode);
    }
    const orphans = await db.query(
      `SELECT u.user_id FROM users u WHERE NOT u.is_guest AND NOT EXISTS (SELECT 1 FROM devices d WHERE d.user_id = u.user_id)`,
    );
    expect(orphans.rows).toEqual([]);
    const spent = await db.query<{ n: number; with_user: number }>(
      `SELECT count(*)::int AS n, count(u.user_id)::int AS with_user
         FROM uia_sessions s LEFT JOIN users u ON u.user_id = s.result->>'user_id'
        WHERE s.session_id = ANY($1) AND s.spent_at IS NOT NULL`,
      [sessions],
    );
    expect(spent.rows[0]).toEqual({ n: sessions.length, with_user: sessions.length });
  });

  it('survives a connection lost in the middle of a transaction (an error of that request, not of the process)', async () => {
    const other = createDb({ connectionString: pg.connectionString, poolSize: 1 });
    try {
      await expect(
        db.tx(async (q) => {
          const pid = (await q.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid;
          await other.query('SELECT pg_terminate_backend($1)', [pid]);
          // Between statements the client is checked out and idle: its 'error' event must be handled.
          await new Promise((r) => setTimeout(r, 300));
          await q.query('SELECT 1');
        }),
      ).rejects.toThrow();
      expect((await db.query<{ one: number }>('SELECT 1 AS one')).rows).toEqual([{ one: 1 }]);
    } finally {
      await other.close();
    }
  });
});
