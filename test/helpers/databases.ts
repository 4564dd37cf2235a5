// The databases every integration test runs against: the embedded PGlite always, and a real
// Postgres when TEST_DATABASE_URL is set. Each test file gets a fresh, migrated database of its
// own (a new PGlite in memory, or a new database created on the server), so files can run in
// parallel and never see each other's rows.
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { createDb, type Db } from '../../src/store/db.js';
import { EMBEDDED_DB_OPTIONS, startEmbeddedPostgres } from '../../src/store/embedded.js';
import { migrate } from '../../src/store/migrate.js';

export interface TestDatabase {
  kind: 'embedded' | 'postgres';
  connectionString: string;
  /** A new pool on this database (each app instance gets its own, as in production). */
  connect(poolSize?: number): Db;
  close(): Promise<void>;
}

export const DATABASE_KINDS: ('embedded' | 'postgres')[] = process.env.TEST_DATABASE_URL
  ? ['embedded', 'postgres']
  : ['embedded'];

if (process.env.CI === 'true' && !process.env.TEST_DATABASE_URL) {
  throw new Error('CI must set TEST_DATABASE_URL: the real-Postgres tests may not be skipped');
}

export async function openTestDatabase(kind: 'embedded' | 'postgres'): Promise<TestDatabase> {
  const pools: Db[] = [];
  // Embedded: as main.ts connects (see EMBEDDED_DB_OPTIONS).
  const connect = (connectionString: string) => (poolSize = 5) => {
    const db = createDb(kind === 'embedded' ? { connectionString, ...EMBEDDED_DB_OPTIONS } : { connectionString, poolSize });
    pools.push(db);
    return db;
  };
  const closePools = async () => {
    await Promise.all(pools.splice(0).map((p) => p.close().catch(() => {})));
  };

  if (kind === 'embedded') {
    const embedded = await startEmbeddedPostgres('memory://', 16);
    await migrate(embedded.connectionString);
    return {
      kind,
      connectionString: embedded.connectionString,
      connect: connect(embedded.connectionString),
      async close() {
        await closePools();
        await embedded.close();
      },
    };
  }

  const serverUrl = process.env.TEST_DATABASE_URL;
  if (!serverUrl) throw new Error('TEST_DATABASE_URL is not set');
  const name = `mrs_test_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: serverUrl, connectionTimeoutMillis: 5000 });
  try {
    await admin.connect();
  } catch (err) {
    throw new Error(`TEST_DATABASE_URL (${serverUrl}) cannot be reached: ${(err as Error).message}`);
  }
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  const connectionString = url.toString();
  await migrate(connectionString);
  return {
    kind,
    connectionString,
    connect: connect(connectionString),
    async close() {
      await closePools();
      const c = new pg.Client({ connectionString: serverUrl });
      await c.connect();
      await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await c.end();
    },
  };
}
