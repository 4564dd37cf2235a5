// Periodic clean-up, safe to run on every instance at once: each statement is idempotent.
// Expired UIA sessions are deleted, lapsed token holds give their uses back, and ended
// failure-counter windows, expired 3PID validation sessions and old delivered or failed outbox
// rows are dropped; so are ended cap windows, audit records past REGISTRATION_AUDIT_RETENTION and
// old webhook rows.
import type { Clock } from '../lib/clock.js';
import type { Db } from '../store/db.js';
import { deleteEndedWindows } from '../store/failure-counters.js';
import { releaseLapsedHolds } from '../store/registration-tokens.js';
import { deleteFinishedBefore } from '../store/outbox.js';
import { deleteExpiredValidations } from '../store/threepid-validations.js';
import { deleteExpiredNonces } from '../store/shared-secret-nonces.js';
import { deleteExpiredUiaSessions } from '../store/uia-sessions.js';
import { deleteAttemptsBefore } from '../store/registration-attempts.js';
import { deleteEndedCapWindows } from '../store/registration-caps.js';
import { deleteFinishedWebhooksBefore } from '../store/webhook-outbox.js';

/** Delivered and failed webhook calls are kept this long for inspection. */
const WEBHOOK_KEEP_MS = 7 * 86_400_000;

/** Delivered and failed outbox rows are kept this long for inspection. */
const OUTBOX_RETENTION_MS = 7 * 86_400_000;

export interface Maintenance {
  runOnce(): Promise<void>;
  start(intervalMs: number, onError: (err: unknown) => void): void;
  stop(): void;
}

export function createMaintenance(deps: { db: Db; clock: Clock; auditRetentionMs?: number }): Maintenance {
  let timer: NodeJS.Timeout | undefined;
  const runOnce = async () => {
    const now = deps.clock.now();
    await releaseLapsedHolds(deps.db, now);
    await deleteExpiredUiaSessions(deps.db, now);
    await deleteEndedWindows(deps.db, now);
    await deleteExpiredValidations(deps.db, now);
    await deleteFinishedBefore(deps.db, now - OUTBOX_RETENTION_MS);
    await deleteExpiredNonces(deps.db, now);
    // Anti-abuse: ended cap windows, audit records past their retention, old webhook rows.
    await deleteEndedCapWindows(deps.db, now);
    if (deps.auditRetentionMs !== undefined) await deleteAttemptsBefore(deps.db, now - deps.auditRetentionMs);
    await deleteFinishedWebhooksBefore(deps.db, now - WEBHOOK_KEEP_MS);
  };
  return {
    runOnce,
    start(intervalMs, onError) {
      timer = setInterval(() => runOnce().catch(onError), intervalMs);
      timer.unref();
    },
    stop() {
      if (timer) clearInterval(timer);
      timer = undefined;
    },
  };
}
