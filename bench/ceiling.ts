// The ceiling of GET /register/available on this machine: a bare Fastify route doing the same
// one-row query on the same kind of database, with nothing else (no logging, rate limits,
// validation or error mapping). Run as a child process by bench/run.ts.
//   CEILING_DATABASE_URL set: a pg pool of CEILING_POOL_SIZE on that Postgres.
//   unset: an embedded PGlite in CEILING_DATA_DIR, served and pooled exactly as main.ts does.
import Fastify from 'fastify';
import { createDb, type DbOptions } from '../src/store/db.js';
import { EMBEDDED_DB_OPTIONS, startEmbeddedPostgres } from '../src/store/embedded.js';
import { migrate } from '../src/store/migrate.js';

const port = Number(process.env.PORT);
let url = process.env.CEILING_DATABASE_URL;
let options: Omit<DbOptions, 'connectionString'> = { poolSize: Number(process.env.CEILING_POOL_SIZE ?? '10') };
if (!url) {
  const embedded = await startEmbeddedPostgres(process.env.CEILING_DATA_DIR!);
  url = embedded.connectionString;
  options = EMBEDDED_DB_OPTIONS;
}
// The same tables as the service (on Postgres, the service's own run later finds them migrated).
await migrate(url);
// The service's database layer with the service's options (prepared statements on Postgres).
const db = createDb({ connectionString: url, ...options });
const app = Fastify({ logger: false });
app.get('/available', async (request) => {
  const { username } = request.query as { username: string };
  const r = await db.query('SELECT 1 FROM users WHERE localpart = $1', [username]);
  return { available: (r.rowCount ?? 0) === 0 };
});
await app.listen({ host: '127.0.0.1', port });
process.stdout.write('ready\n');
process.on('SIGTERM', () => void app.close().then(() => process.exit(0)));
