// The outbox worker: delivers queued email and text messages. Safe on every instance at once:
// rows are claimed with FOR UPDATE SKIP LOCKED in a short transaction that moves them past a
// lease, so two workers never take the same message; the sending happens after that commit,
// outside any transaction (the embedded database runs one transaction at a time), and the
// outcome is recorded afterwards. A failed send is retried with exponential backoff; after the
// last attempt the message is marked failed and logged.
import { retryDelay } from '../domain/threepid.js';
import type { Clock } from '../lib/clock.js';
import type { Delivery } from '../lib/delivery.js';
import type { Db } from '../store/db.js';
import { claimDue, markFailed, markRetry, markSent, type OutboxRow } from '../store/outbox.js';

export interface OutboxLogger {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

export interface OutboxWorker {
  /** Claims and sends every due message once; resolves to the number of messages handled. */
  runOnce(): Promise<number>;
  /** Asks for a run soon (after a message was queued); a no-op when the worker is not started. */
  kick(): void;
  start(intervalMs: number): void;
  stop(): Promise<void>;
}

export interface OutboxDeps {
  db: Db;
  clock: Clock;
  delivery: Delivery;
  log: OutboxLogger;
  maxAttempts: number;
  retryBaseMs: number;
  retryMaxMs: number;
  leaseMs: number;
  batchSize?: number;
}

const describe = (err: unknown) => (err instanceof Error ? err.message : String(err));

export function createOutboxWorker(deps: OutboxDeps): OutboxWorker {
  const { db, clock, delivery, log } = deps;
  const batch = deps.batchSize ?? 20;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<number> | undefined;
  let again = false;
  let started = false;

  async function send(row: OutboxRow): Promise<void> {
    if (row.channel === 'email') {
      if (!delivery.email) throw new Error('email delivery is not configured (SMTP_URL)');
      await delivery.email({ to: row.recipient, subject: row.subject ?? '', text: row.body_text, html: row.body_html ?? undefined });
    } else {
      if (!delivery.sms) throw new Error('SMS delivery is not configured (SMS_GATEWAY_URL)');
      await delivery.sms({ to: row.recipient, text: row.body_text });
    }
  }

  async function handle(row: OutboxRow): Promise<void> {
    try {
      await send(row);
    } catch (err) {
      const error = describe(err);
      if (row.attempts >= deps.maxAttempts) {
        await markFailed(db, row.id, row.attempts, error);
        log.error({ outboxId: row.id, channel: row.channel, attempts: row.attempts, err: error }, 'message undeliverable; marked failed');
      } else {
        const delay = retryDelay(row.attempts, deps.retryBaseMs, deps.retryMaxMs);
        await markRetry(db, row.id, row.attempts, clock.now() + delay, error);
        log.warn({ outboxId: row.id, channel: row.channel, attempts: row.attempts, retryInMs: delay, err: error }, 'message delivery failed; will retry');
      }
      return;
    }
    await markSent(db, row.id, row.attempts, clock.now());
    log.info({ outboxId: row.id, channel: row.channel, attempts: row.attempts }, 'message delivered');
  }

  async function drain(): Promise<number> {
    let handled = 0;
    for (;;) {
      const rows = await claimDue(db, clock.now(), deps.leaseMs, batch);
      if (rows.length === 0) return handled;
      // Sequential: a mail outage then costs one connection timeout per message per run, and the
      // shared 2-core machine is not flooded.
      for (const row of rows) await handle(row);
      handled += rows.length;
    }
  }

  function runOnce(): Promise<number> {
    if (running) {
      again = true;
      return running;
    }
    running = drain().finally(() => {
      running = undefined;
      if (again && started) {
        again = false;
        void runOnce().catch((err) => log.warn({ err: describe(err) }, 'outbox run failed'));
      }
    });
    return running;
  }

  return {
    runOnce,
    kick() {
      if (!started) return;
      setImmediate(() => void runOnce().catch((err) => log.warn({ err: describe(err) }, 'outbox run failed')));
    },
    start(intervalMs) {
      started = true;
      timer = setInterval(() => void runOnce().catch((err) => log.warn({ err: describe(err) }, 'outbox run failed')), intervalMs);
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
