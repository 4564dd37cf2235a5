// Prometheus metrics (prom-client). One Registry per app instance (tests build many apps in one
// process), holding the process's default metrics and the service's own. Services receive the
// narrow recording functions they need; only the HTTP layer and main.ts see the registry.
import client from 'prom-client';
import type pg from 'pg';

export interface Metrics {
  readonly registry: client.Registry;
  /** One HTTP request answered: route pattern (never the raw URL), method, status, seconds. */
  httpRequest(route: string, method: string, status: number, seconds: number): void;
  /** An account created: kind is user, guest, admin (shared secret) or appservice; flow names the UIA stages. */
  registration(kind: 'user' | 'guest' | 'admin' | 'appservice', flow: string): void;
  uiaSessionStarted(operation: string): void;
  uiaSessionCompleted(operation: string): void;
  /** A message (email, SMS) handed to its transport, or refused by it. */
  messageSent(medium: string): void;
  messageFailed(medium: string): void;
  passwordHash(ms: number): void;
  /** Reports this pool's connection counts at every scrape. */
  observePool(pool: pg.Pool): void;
}

export function createMetrics(opts: { defaultMetrics?: boolean } = {}): Metrics {
  const registry = new client.Registry();
  if (opts.defaultMetrics ?? true) client.collectDefaultMetrics({ register: registry });
  const registers = [registry];

  const latency = new client.Histogram({
    name: 'mrs_http_request_duration_seconds',
    help: 'Time from receiving a request to sending its response, by route pattern, method and status code.',
    labelNames: ['route', 'method', 'status'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers,
  });
  // The same numbers as the histogram's _count series, read from it at each scrape: a request
  // is recorded once, not twice (prom-client hashes and validates the labels on every call: the
  // two calls were ~14k instructions per request on GET /register/available, bench/instructions.ts).
  new client.Counter({
    name: 'mrs_http_requests_total',
    help: 'HTTP requests answered, by route pattern, method and status code.',
    labelNames: ['route', 'method', 'status'] as const,
    registers,
    async collect() {
      this.reset();
      for (const v of (await latency.get()).values) {
        if (v.metricName === 'mrs_http_request_duration_seconds_count') this.inc(v.labels as Record<'route' | 'method' | 'status', string>, v.value);
      }
    },
  });
  const registrations = new client.Counter({
    name: 'mrs_registrations_total',
    help: 'Accounts created, by kind (user, guest, admin, appservice) and UIA flow.',
    labelNames: ['kind', 'flow'] as const,
    registers,
  });
  const uiaStarted = new client.Counter({
    name: 'mrs_uia_sessions_started_total',
    help: 'User-interactive auth sessions started, by operation.',
    labelNames: ['operation'] as const,
    registers,
  });
  const uiaCompleted = new client.Counter({
    name: 'mrs_uia_sessions_completed_total',
    help: 'User-interactive auth sessions completed (spent by their operation), by operation.',
    labelNames: ['operation'] as const,
    registers,
  });
  const sent = new client.Counter({
    name: 'mrs_messages_sent_total',
    help: 'Messages (email, SMS) accepted by their transport, by medium.',
    labelNames: ['medium'] as const,
    registers,
  });
  const failed = new client.Counter({
    name: 'mrs_messages_failed_total',
    help: 'Messages (email, SMS) that could not be sent, by medium.',
    labelNames: ['medium'] as const,
    registers,
  });
  const hashTime = new client.Histogram({
    name: 'mrs_password_hash_duration_seconds',
    help: 'Time to compute one argon2id password hash.',
    buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers,
  });

  const pools: pg.Pool[] = [];
  const poolGauge = (name: string, help: string, read: (p: pg.Pool) => number) =>
    new client.Gauge({
      name,
      help,
      registers,
      collect() {
        this.set(pools.reduce((n, p) => n + read(p), 0));
      },
    });
  poolGauge('mrs_db_pool_connections', 'Open database connections in the pool.', (p) => p.totalCount);
  poolGauge('mrs_db_pool_idle_connections', 'Idle database connections in the pool.', (p) => p.idleCount);
  poolGauge('mrs_db_pool_waiting_requests', 'Queries waiting for a free database connection.', (p) => p.waitingCount);
  poolGauge('mrs_db_pool_max_connections', 'Size limit of the database pool.', (p) => p.options.max ?? 10);

  // Preset the series operators alert on, so they read 0 rather than missing.
  for (const medium of ['email', 'sms']) {
    sent.inc({ medium }, 0);
    failed.inc({ medium }, 0);
  }

  return {
    registry,
    httpRequest(route, method, status, seconds) {
      latency.observe({ route, method, status: String(status) }, seconds);
    },
    registration: (kind, flow) => registrations.inc({ kind, flow }),
    uiaSessionStarted: (operation) => uiaStarted.inc({ operation }),
    uiaSessionCompleted: (operation) => uiaCompleted.inc({ operation }),
    messageSent: (medium) => sent.inc({ medium }),
    messageFailed: (medium) => failed.inc({ medium }),
    passwordHash: (ms) => hashTime.observe(ms / 1000),
    observePool: (pool) => void pools.push(pool),
  };
}
