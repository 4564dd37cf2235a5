// Server-side prepared statements (DATABASE_PREPARED_STATEMENTS): on Postgres, on by default, each
// connection prepares a parameterised statement once and reuses it, and off, nothing is
// prepared. The embedded database never prepares: all its connections share one session, where a
// name prepared by one connection would clash with the next. Read from the server's own view
// (pg_prepared_statements lists the current session's statements).
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

  if (kind === 'postgres') {
    it('are prepared once per connection by default', async () => {
      expect((await preparedAfter({ poolSize: 1 }, 3)).filter((s) => s === LOOKUP)).toHaveLength(1);
    });
    it('are not prepared with prepare: false', async () => {
      expect(await preparedAfter({ poolSize: 1, prepare: false }, 3)).not.toContain(LOOKUP);
    });
  } else {
    it('are never prepared on the embedded database, so pool after pool works', async () => {
      expect(await preparedAfter(EMBEDDED_DB_OPTIONS, 3)).not.toContain(LOOKUP);
      expect(await preparedAfter(EMBEDDED_DB_OPTIONS, 3)).not.toContain(LOOKUP);
    });
  }
});
