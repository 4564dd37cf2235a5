// The process: read the configuration, open the database (embedded when DATABASE_URL is unset),
// migrate, build the app, listen, and shut down cleanly on SIGTERM/SIGINT.
import type { Server } from 'node:http';
import { buildApp, loggerOptions } from './app.js';
import { ConfigError, loadConfig, type Config } from './config.js';
import { startMetricsServer } from './http/metrics.js';
import { AppServiceConfigError } from './lib/appservice-config.js';
import { createMetrics } from './lib/metrics.js';
import { createDb } from './store/db.js';
import { EMBEDDED_DB_OPTIONS, startEmbeddedPostgres, type EmbeddedPostgres } from './store/embedded.js';
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
    ? createDb({ connectionString, ...EMBEDDED_DB_OPTIONS })
    : createDb({ connectionString, poolSize: config.databasePoolSize, prepare: config.databasePreparedStatements });
  const metrics = createMetrics();
  let app: Awaited<ReturnType<typeof buildApp>>;
  try {
    app = await buildApp({ config, db, metrics, logger: loggerOptions(config.logLevel) });
  } catch (err) {
    if (err instanceof AppServiceConfigError || /^REDIS_URL:/.test((err as Error).message)) {
      process.stderr.write(`configuration error: ${(err as Error).message}\n`);
      process.exit(1);
    }
    throw err;
  }
  db.pool.on('error', (err) => app.log.warn({ err: { message: err.message } }, 'idle database connection lost'));
  await migrate(connectionString, { info: (m) => app.log.info(m) });

  let metricsServer: Server | undefined;
  let closing = false;
  const shutdown = async (signal: string) => {
    if (closing) return;
    closing = true;
    app.log.info({ signal }, 'shutting down: no new connections, finishing requests in flight');
    // If something hangs (a stuck query, a client that never reads its response), give up after
    // SHUTDOWN_TIMEOUT rather than wait for the orchestrator's SIGKILL.
    setTimeout(() => {
      app.log.error({ timeoutMs: config.shutdownTimeoutMs }, 'shutdown timed out: exiting');
      process.exit(1);
    }, config.shutdownTimeoutMs).unref();
    try {
      // /ready answers 503 from now on; keep serving while the load balancer notices.
      app.readiness.drain();
      if (config.shutdownDrainDelayMs > 0) await new Promise((r) => setTimeout(r, config.shutdownDrainDelayMs));
      // Stops listening, closes idle keep-alive connections, waits for requests in flight.
      await app.close();
      await new Promise<void>((resolve) => (metricsServer ? metricsServer.close(() => resolve()) : resolve()));
      await db.close();
      await embedded?.close();
      app.log.info('shut down cleanly');
      process.exit(0);
    } catch (err) {
      app.log.error({ err }, 'unclean shutdown');
      process.exit(1);
    }
  };
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  process.on('SIGINT', () => void shutdown('SIGINT'));

  await app.listen({ host: config.host, port: config.port });
  if (config.metrics.port > 0) {
    metricsServer = await startMetricsServer(metrics, config.metrics.host, config.metrics.port);
    app.log.info({ host: config.metrics.host, port: config.metrics.port }, 'metrics listening');
  }
  app.log.info(
    { database: embedded ? `embedded (${config.dataDir})` : 'postgres', serverName: config.serverName },
    'matrix registration service ready',
  );
}

main().catch((err) => {
  process.stderr.write(`fatal: ${err instanceof Error ? err.stack ?? err.message : String(err)}\n`);
  process.exit(1);
});
