// The process: read the configuration, open the database (embedded when DATABASE_URL is unset),
// migrate, build the app, listen, and shut down cleanly on SIGTERM/SIGINT.
import type { Server } from 'node:http';
import { buildApp, loggerOptions } from './app.js';
import { ConfigError, loadConfig, type Config } from './config.js';
import { startMetricsServer } from './http/metrics.js';
import { AppServiceConfigError } from './lib/appservice-config.js';
import { createLogDestination } from './lib/log-destination.js';
import { createMetrics } from './lib/metrics.js';
import { setV8FlagUnlessGiven } from './lib/v8-flags.js';
import { createDb } from './store/db.js';
import { EMBEDDED_DB_OPTIONS, startEmbeddedPostgres, type EmbeddedPostgres } from './store/embedded.js';
import { migrate } from './store/migrate.js';

/**
 * How far V8 lets the old generation grow past the live heap before its next full collection, in
 * percent. V8 chooses a factor of up to 4 (300%) on a machine with a few GB of RAM, and under load
 * this service promotes short-lived garbage steadily (measured: ~1.5 MB per scavenge with the
 * embedded database), so the heap filled with up to ~130 MB of garbage on a ~45 MB live heap
 * before V8 collected it. 30% (V8's own "conservative" factor) keeps the peak near the live size
 * at no CPU cost per request that we could measure. Peak RSS per load (available / validity /
 * UIA / registrations, bench/memory.ts): Postgres 152-156 / 166-171 / 210-216 / 214-222 MB
 * before, 144-151 / 146-149 / 184-187 / 184-187 MB after; embedded 417 / 453 / 463 / 463 before,
 * 301 / 271 / 307 / 304 after. V8 reads the flag at every collection, so setting it here works.
 */
const HEAP_GROWING_PERCENT = 30;

async function main(): Promise<void> {
  setV8FlagUnlessGiven('heap-growing-percent', HEAP_GROWING_PERCENT);
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
    // stdout in batches (lib/log-destination.ts), written out on every exit but SIGKILL.
    // A closed stdout is said once on stderr, not at every flush.
    let lostReported = false;
    const stream = createLogDestination(1, config.logFlushIntervalMs, (err) => {
      if (lostReported) return;
      lostReported = true;
      process.stderr.write(`log lines lost (stdout: ${err.message}); further losses are not reported\n`);
    });
    process.once('exit', () => stream.close());
    app = await buildApp({ config, db, metrics, logger: { ...loggerOptions(config.logLevel), stream } });
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
