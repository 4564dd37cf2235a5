// Applies the SQL migrations in migrations/ with node-pg-migrate. Its advisory lock, in "wait"
// mode, lets several instances start at once against one database: one applies, the others wait
// and then find nothing left to do.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { runner } from 'node-pg-migrate';

export const MIGRATIONS_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../migrations');
export const MIGRATIONS_TABLE = 'pgmigrations';

export interface MigrationLog {
  info(msg: string): void;
}

export async function migrate(connectionString: string, log?: MigrationLog): Promise<string[]> {
  const applied = await runner({
    databaseUrl: connectionString,
    dir: MIGRATIONS_DIR,
    migrationsTable: MIGRATIONS_TABLE,
    direction: 'up',
    singleTransaction: true,
    advisoryLockMode: 'wait',
    checkOrder: true,
    log: () => {},
  });
  const names = applied.map((m) => m.name);
  if (names.length > 0) log?.info(`applied migrations: ${names.join(', ')}`);
  return names;
}

/** Names of the migration files shipped with this build, for the readiness check. */
export async function expectedMigrations(): Promise<string[]> {
  const { readdir } = await import('node:fs/promises');
  return (await readdir(MIGRATIONS_DIR)).filter((f) => f.endsWith('.sql')).map((f) => f.replace(/\.sql$/, '')).sort();
}

/** Names of the migrations recorded as applied in this database. */
export async function appliedMigrations(q: { query(text: string): Promise<{ rows: { name: string }[] }> }): Promise<string[]> {
  const r = await q.query(`SELECT name FROM ${MIGRATIONS_TABLE} ORDER BY name`);
  return r.rows.map((row) => row.name);
}
