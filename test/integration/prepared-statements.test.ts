// Server-side prepared statements (DATABASE_PREPARED_STATEMENTS): on by default, each connection
// prepares a parameterised statement once and reuses it, and off, nothing is prepared. The
// embedded database prepares too, though all its connections share one session: names are per
// connection, so pool after pool, and pools side by side, never clash. Read from the server's own
// view (pg_prepared_statements lists the session's statements).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDb, type Db, type DbOptions } from '../../src/store/db.js';
import { EMBEDDED_DB_OPTIONS } from '../../src/store/embedded.js';
import { DATABASE_KINDS, openTestDatabase, type TestDatabase } from '../helpers/databases.js';

const LOOKUP = 'SELECT 1 FROM users WHERE localpart = $1';

describe.each(DATABASE_KINDS)('prepared statements (%s)', (kind) => {
  let database: TestDatabase;
  beforeAll(async () => {
    database = await openTestDatabase(kind);
  });
  afterAll(async () => {
    await database.close();
  });

  /** Runs LOOKUP `times` times on one connection of a new pool, then lists what that session prepared. */
  async function preparedAfter(options: Omit<DbOptions, 'connectionString'>, times: number): Promise<string[]> {
    const db: Db = createDb({ connectionString: database.connectionString, ...options });
    try {
      return await db.tx(async (q) => {
        for (let i = 0; i < times; i++) expect((await q.query(LOOKUP, [`nobody${i}`])).rowCount).toBe(0);
        const r = await q.query<{ statement: string }>('SELECT statement FROM pg_prepared_statements');
        return r.rows.map((row) => row.statement);
      });
    } finally {
      await db.close();
    }
  }

  const countOf = (statements: string[]) => statements.filter((s) => s === LOOKUP).length;

  if (kind === 'postgres') {
    it('are prepared once per connection by default', async () => {
      expect(countOf(await preparedAfter({ poolSize: 1 }, 3))).toBe(1);
    });
    it('are not prepared with prepare: false', async () => {
      expect(await preparedAfter({ poolSize: 1, prepare: false }, 3)).not.toContain(LOOKUP);
    });
  } else {
    it('are prepared on the embedded database, once per connection, pool after pool', async () => {
      // The shared session keeps every connection's statements: one more each time.
      const first = countOf(await preparedAfter(EMBEDDED_DB_OPTIONS, 3));
      expect(first).toBeGreaterThanOrEqual(1);
      expect(countOf(await preparedAfter(EMBEDDED_DB_OPTIONS, 3))).toBe(first + 1);
    });
    it('work from two pools side by side on the embedded database', async () => {
      const a = createDb({ connectionString: database.connectionString, ...EMBEDDED_DB_OPTIONS });
      const b = createDb({ connectionString: database.connectionString, ...EMBEDDED_DB_OPTIONS });
      try {
        for (let i = 0; i < 3; i++) {
          const [ra, rb] = await Promise.all([a.query(LOOKUP, [`a${i}`]), b.query(LOOKUP, [`b${i}`])]);
          expect([ra.rowCount, rb.rowCount]).toEqual([0, 0]);
        }
      } finally {
        await Promise.all([a.close(), b.close()]);
      }
    });
  }

  it('keep their connection when a statement fails (nothing is prepared again)', async () => {
    const options = kind === 'postgres' ? { poolSize: 1 } : EMBEDDED_DB_OPTIONS;
    const db = createDb({ connectionString: database.connectionString, ...options });
    const count = async () =>
      (await db.query<{ n: number }>('SELECT count(*)::int AS n FROM pg_prepared_statements WHERE statement = $1', [LOOKUP])).rows[0]!.n;
    const backend = async () => (await db.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid;
    try {
      await db.query(LOOKUP, ['x']);
      const before = await count();
      const pid = await backend();
      // A failed statement (here: a value the parameter's type refuses) is the caller's problem,
      // not the connection's.
      await expect(db.query('SELECT 1 FROM users WHERE created_at = $1', ['not a number'])).rejects.toThrow();
      await db.query(LOOKUP, ['y']);
      expect(await count()).toBe(before);
      expect(await backend()).toBe(pid);
      expect(db.pool.totalCount).toBe(1);
    } finally {
      await db.close();
    }
  });
});
