// Outgoing webhook calls (migration 0604). Claims are short transactions; the HTTP call happens
// outside them.
import type { Db, Queryable } from './db.js';

export interface WebhookRow {
  id: number;
  event: string;
  payload: Record<string, unknown>;
  status: 'pending' | 'sent' | 'failed';
  attempts: number;
  next_attempt_at: number;
  created_at: number;
  sent_at: number | null;
  last_error: string | null;
}

/** Queues a call inside the caller's transaction; due at once. */
export async function enqueueWebhook(q: Queryable, event: string, payload: Record<string, unknown>, now: number): Promise<void> {
  await q.query(
    `INSERT INTO webhook_outbox (event, payload, next_attempt_at, created_at) VALUES ($1, $2::jsonb, $3::bigint, $3::bigint)`,
    [event, JSON.stringify(payload), now],
  );
}

/**
 * Claims up to `limit` due calls in one short transaction: locks them (skipping rows another
 * worker holds), counts the attempt and moves next_attempt_at past the lease, so no other worker
 * takes them while this one calls.
 */
export async function claimDueWebhooks(db: Db, now: number, leaseMs: number, limit: number): Promise<WebhookRow[]> {
  return db.tx(async (q) => {
    const due = await q.query<{ id: number }>(
      `SELECT id FROM webhook_outbox WHERE status = 'pending' AND next_attempt_at <= $1::bigint
        ORDER BY next_attempt_at, id LIMIT $2::int FOR UPDATE SKIP LOCKED`,
      [now, limit],
    );
    if (due.rows.length === 0) return [];
    const r = await q.query<WebhookRow>(
      `UPDATE webhook_outbox SET attempts = attempts + 1, next_attempt_at = $2::bigint
        WHERE id = ANY($1::bigint[]) RETURNING *`,
      [due.rows.map((d) => d.id), now + leaseMs],
    );
    return r.rows.sort((a, b) => a.id - b.id);
  });
}

/** Outcomes are conditional on the attempt number: a worker whose lease lapsed cannot overwrite a later claim's. */
export async function markWebhookSent(q: Queryable, id: number, attempts: number, now: number): Promise<void> {
  await q.query(
    `UPDATE webhook_outbox SET status = 'sent', sent_at = $3::bigint, last_error = NULL
      WHERE id = $1 AND attempts = $2 AND status = 'pending'`,
    [id, attempts, now],
  );
}

export async function markWebhookRetry(q: Queryable, id: number, attempts: number, nextAt: number, error: string): Promise<void> {
  await q.query(
    `UPDATE webhook_outbox SET next_attempt_at = $3::bigint, last_error = $4 WHERE id = $1 AND attempts = $2 AND status = 'pending'`,
    [id, attempts, nextAt, error.slice(0, 1000)],
  );
}

export async function markWebhookFailed(q: Queryable, id: number, attempts: number, error: string): Promise<void> {
  await q.query(
    `UPDATE webhook_outbox SET status = 'failed', last_error = $3 WHERE id = $1 AND attempts = $2 AND status = 'pending'`,
    [id, attempts, error.slice(0, 1000)],
  );
}

/** Delivered and failed calls are kept a while for inspection, then dropped. */
export async function deleteFinishedWebhooksBefore(q: Queryable, before: number): Promise<void> {
  await q.query(
    `DELETE FROM webhook_outbox WHERE status <> 'pending' AND COALESCE(sent_at, next_attempt_at) <= $1::bigint`,
    [before],
  );
}
