// The process: read the configuration, open the database (embedded when DATABASE_URL is unset),
// migrate, build the app, listen, and shut down cleanly on SIGTERM/SIGINT.
import { buildApp, loggerOptions } from './app.js';
import { ConfigError, loadConfig, type Config } from './config.js';
import { createDb } from './store/db.js';
import { EMBEDDED_POOL_SIZE, startEmbeddedPostgres, type EmbeddedPostgres } from './store/embedded.js';
import { migrate } from './store/migrate.js';

async function main(): Promise<void> {
  let config: Readonly<Config>;
  try {
    config = loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      for (const p of err.problems) process.stderr.write(`configuration error: ${p}\n`);
      process.exit(1);
    }
    throw err;
  }

  let embedded: EmbeddedPostgres | undefined;
  let connectionString = config.databaseUrl;
  if (connectionString === undefined) {
    embedded = await startEmbeddedPostgres(config.dataDir);
    connectionString = embedded.connectionString;
  }
  const db = embedded
    ? createDb({ connectionString, poolSize: EMBEDDED_POOL_SIZE, connectTimeoutMs: 10_000 })
    : createDb({ connectionString, poolSize: config.databasePoolSize });
  const app = await buildApp({ config, db, logger: loggerOptions(config.logLevel) });
  db.pool.on('error', (err) => app.log.warn({ err: { message: err.message } }, 'idle database connection lost'));
  await migrate(connectionString, { info: (m) => app.log.info(m) });

  let closing = false;
  const shutdown = async (signal: string) => {
    if (closing) return;
    closing = true;
    app.log.info({ signal }, 'shutting down: finishing requests in flight');
    try {
      await app.close();
      await db.close();
      await embedded?.close();
      process.exit(0);
    } catch (err) {
      app.log.error({ err }, 'unclean shutdown');
      process.exit(1);
    }
  };
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  process.on('SIGINT', () => void shutdown('SIGINT'));

  await app.listen({ host: config.host, port: config.port });
  app.log.info(
    { database: embedded ? `embedded (${config.dataDir})` : 'postgres', serverName: config.serverName },
    'matrix registration service ready',
  );
}

main().catch((err) => {
  process.stderr.write(`fatal: ${err instanceof Error ? err.stack ?? err.message : String(err)}\n`);
  process.exit(1);
});
