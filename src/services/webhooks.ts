// The webhook worker: calls REGISTRATION_APPROVAL_WEBHOOK_URL for each queued event (a new account
// awaiting approval). Safe on every instance at once: due rows are claimed with FOR UPDATE SKIP
// LOCKED in a short transaction that moves them past a lease, the HTTP call is made after that
// commit (never inside a transaction), and the outcome is recorded afterwards. A failed call is
// retried with exponential backoff; after the last attempt the row is marked failed and logged.
import type { Clock } from '../lib/clock.js';
import type { Db } from '../store/db.js';
import { claimDueWebhooks, markWebhookFailed, markWebhookRetry, markWebhookSent, type WebhookRow } from '../store/webhook-outbox.js';

export interface WebhookLogger {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

export interface WebhookWorker {
  /** Claims and calls every due webhook once; resolves to the number handled. */
  runOnce(): Promise<number>;
  /** Asks for a run soon (after an event was queued); a no-op when the worker is not started. */
  kick(): void;
  start(intervalMs: number): void;
  stop(): Promise<void>;
}

export interface WebhookWorkerDeps {
  db: Db;
  clock: Clock;
  url: string;
  log: WebhookLogger;
  maxAttempts?: number;
  retryBaseMs?: number;
  retryMaxMs?: number;
  leaseMs?: number;
  timeoutMs?: number;
}

/** Exponential backoff: base, 2×base, 4×base… capped at max. */
export function webhookRetryDelay(attempts: number, baseMs: number, maxMs: number): number {
  return Math.min(maxMs, baseMs * 2 ** Math.max(0, attempts - 1));
}

export function createWebhookWorker(deps: WebhookWorkerDeps): WebhookWorker {
  const { db, clock, url, log } = deps;
  const maxAttempts = deps.maxAttempts ?? 10;
  const retryBaseMs = deps.retryBaseMs ?? 30_000;
  const retryMaxMs = deps.retryMaxMs ?? 3_600_000;
  const leaseMs = deps.leaseMs ?? 60_000;
  const timeoutMs = deps.timeoutMs ?? 10_000;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<number> | undefined;
  let started = false;

  async function call(row: WebhookRow): Promise<void> {
    const res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'user-agent': 'matrix-registration-service' },
      body: JSON.stringify({ event: row.event, id: row.id, ...row.payload }),
      signal: AbortSignal.timeout(timeoutMs),
      redirect: 'error',
    });
    await res.arrayBuffer().catch(() => undefined);
    if (!res.ok) throw new Error(`webhook answered HTTP ${res.status}`);
  }

  async function handle(row: WebhookRow): Promise<void> {
    try {
      await call(row);
    } catch (err) {
      const error = err instanceof Error ? err.message : String(err);
      if (row.attempts >= maxAttempts) {
        await markWebhookFailed(db, row.id, row.attempts, error);
        log.error({ webhookId: row.id, event: row.event, attempts: row.attempts, err: error }, 'webhook undeliverable; marked failed');
      } else {
        const delay = webhookRetryDelay(row.attempts, retryBaseMs, retryMaxMs);
        await markWebhookRetry(db, row.id, row.attempts, clock.now() + delay, error);
        log.warn({ webhookId: row.id, event: row.event, attempts: row.attempts, retryInMs: delay, err: error }, 'webhook call failed; will retry');
      }
      return;
    }
    await markWebhookSent(db, row.id, row.attempts, clock.now());
    log.info({ webhookId: row.id, event: row.event }, 'webhook delivered');
  }

  async function drain(): Promise<number> {
    let handled = 0;
    for (;;) {
      const rows = await claimDueWebhooks(db, clock.now(), leaseMs, 10);
      if (rows.length === 0) return handled;
      for (const row of rows) await handle(row);
      handled += rows.length;
    }
  }

  const runOnce = () => {
    running ??= drain().finally(() => {
      running = undefined;
    });
    return running;
  };

  return {
    runOnce,
    kick() {
      if (!started) return;
      setImmediate(() => runOnce().catch((err) => log.warn({ err: { message: (err as Error).message } }, 'webhook worker run failed')));
    },
    start(intervalMs) {
      started = true;
      timer = setInterval(() => runOnce().catch((err) => log.warn({ err: { message: (err as Error).message } }, 'webhook worker run failed')), intervalMs);
      timer.unref();
    },
    async stop() {
      started = false;
      if (timer) clearInterval(timer);
      timer = undefined;
      await running?.catch(() => undefined);
    },
  };
}
