// The database handle: a pg.Pool, whether the server is a real Postgres (DATABASE_URL) or the
// embedded PGlite served on a private socket (store/embedded.ts). One code path for both.
import pg from 'pg';

export interface Queryable {
  query<R extends pg.QueryResultRow = pg.QueryResultRow>(text: string, params?: unknown[]): Promise<pg.QueryResult<R>>;
}

export interface Db extends Queryable {
  /**
   * Runs fn inside one transaction on one connection. Keep it short and do no slow work inside
   * (hashing, HTTP, timers): the embedded database runs one transaction at a time, and every
   * other connection waits for it (see shared/notes/embedded-postgres.md).
   */
  tx<T>(fn: (q: Queryable) => Promise<T>): Promise<T>;
  readonly pool: pg.Pool;
  close(): Promise<void>;
}

export interface DbOptions {
  connectionString: string;
  poolSize: number;
  /** How long a request waits for a free connection before failing (bounded outage behaviour). */
  connectTimeoutMs?: number;
  /** How long an idle connection stays open (ms; 0: until the pool closes). Default 30 s. */
  idleTimeoutMs?: number;
  /** Server-side limit on one statement. */
  statementTimeoutMs?: number;
  /**
   * Named (server-side prepared) statements: each connection parses and plans a statement once
   * and then only binds it (default true). Off for a pooler that cannot carry them across
   * connections (PgBouncer in transaction mode before 1.21).
   */
  prepare?: boolean;
  onError?: (err: Error) => void;
}

// BIGINT columns (ms timestamps, counters) come back as JS numbers; all of ours stay far below 2^53.
pg.types.setTypeParser(pg.types.builtins.INT8, (v) => Number(v));

/**
 * Statement names: a number per distinct SQL text (our texts are constants in store/, so the map
 * stays as small as the code) under a prefix per connection. The prefix is for the embedded
 * database, whose connections all reach one shared Postgres session: there a name prepared by one
 * connection stays after it closes, and the next connection preparing the same name would fail
 * with "already exists". On Postgres every connection has its own session and the prefix changes
 * nothing. pg prepares a name on a connection the first time that connection runs it.
 */
const statementNumbers = new Map<string, number>();
const connectionPrefixes = new WeakMap<pg.ClientBase, string>();
let connections = 0;
function statementName(client: pg.ClientBase, text: string): string {
  let n = statementNumbers.get(text);
  if (n === undefined) {
    n = statementNumbers.size;
    statementNumbers.set(text, n);
  }
  return `mrs_${connectionPrefixes.get(client)}_${n}`;
}

export function createDb(opts: DbOptions): Db {
  const prepare = opts.prepare ?? true;
  // Statements with parameters are prepared; parameterless ones (BEGIN, COMMIT, listing queries)
  // go by the simple protocol, one message.
  const config = (client: pg.ClientBase, text: string, values: unknown[] | undefined): pg.QueryConfig =>
    prepare && values !== undefined ? { name: statementName(client, text), text, values } : { text, values };
  const pool = new pg.Pool({
    connectionString: opts.connectionString,
    max: opts.poolSize,
    connectionTimeoutMillis: opts.connectTimeoutMs ?? 3000,
    idleTimeoutMillis: opts.idleTimeoutMs ?? 30_000,
    statement_timeout: opts.statementTimeoutMs ?? 10_000,
    query_timeout: (opts.statementTimeoutMs ?? 10_000) + 2000,
  });
  pool.on('connect', (client) => connectionPrefixes.set(client, `c${++connections}`));
  // An idle client losing its server (database restart) must not crash the process.
  pool.on('error', (err) => opts.onError?.(err));

  return {
    pool,
    // pool.query, but with the connection in hand for the statement's name. A connection is
    // thrown away only when it is broken (pool.query dropped it after any failed statement, a
    // unique violation included: on the embedded database each new connection prepares its
    // statements again in the shared session, where they stay).
    async query(text, params) {
      const client = await pool.connect();
      let released = false;
      const release = (err?: Error) => {
        if (released) return;
        released = true;
        client.release(err);
      };
      // As pool.query: a checked-out client whose server goes away emits 'error'.
      const onLost = (err: Error) => release(err);
      client.once('error', onLost);
      try {
        const result = await client.query(config(client, text, params as unknown[] | undefined));
        release();
        return result;
      } catch (err) {
        release(isConnectionError(err) ? (err as Error) : undefined);
        throw err;
      } finally {
        client.off('error', onLost);
      }
    },
    async tx(fn) {
      const client = await pool.connect();
      let broken: Error | undefined;
      // pg.Pool listens for errors only on idle clients. A checked-out client whose server goes
      // away between two statements emits 'error' with no listener, which would crash the
      // process; the next statement fails anyway, so record it and destroy the client.
      const onLost = (err: Error) => {
        broken = err;
        opts.onError?.(err);
      };
      client.on('error', onLost);
      try {
        await client.query('BEGIN');
        const result = await fn({ query: (text, params) => client.query(config(client, text, params as unknown[] | undefined)) });
        await client.query('COMMIT');
        return result;
      } catch (err) {
        try {
          await client.query('ROLLBACK');
        } catch (rollbackErr) {
          broken = rollbackErr as Error;
        }
        throw err;
      } finally {
        // A connection whose rollback failed is in an unknown state: destroy it, never reuse it.
        client.off('error', onLost);
        client.release(broken);
      }
    },
    close: () => pool.end(),
  };
}

/** True for errors that mean "the database is unreachable", as opposed to a bad query. */
export function isConnectionError(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  const code = (err as { code?: string }).code ?? '';
  return (
    ['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EHOSTUNREACH', '57P01', '57P02', '57P03', '53300'].includes(code) ||
    /timeout exceeded when trying to connect|Connection terminated|connection timeout|Query read timeout|canceling statement due to statement timeout/i.test(err.message)
  );
}

/** True for a deadlock abort (40P01): the statement lost a lock-order race and may be retried. */
export function isDeadlock(err: unknown): boolean {
  return (err as { code?: string } | null)?.code === '40P01';
}
