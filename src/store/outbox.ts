// The outbox of messages to deliver. Claims are short transactions; sending happens outside them.
import type { Queryable, Db } from './db.js';

export type Channel = 'email' | 'sms';

export interface OutboxMessage {
  channel: Channel;
  recipient: string;
  subject?: string;
  text: string;
  html?: string;
}

export interface OutboxRow {
  id: number;
  channel: Channel;
  recipient: string;
  subject: string | null;
  body_text: string;
  body_html: string | null;
  status: 'pending' | 'sent' | 'failed';
  attempts: number;
  next_attempt_at: number;
  created_at: number;
  sent_at: number | null;
  last_error: string | null;
}

/** Queues a message inside the caller's transaction; due at once. */
export async function enqueue(q: Queryable, m: OutboxMessage, now: number): Promise<void> {
  await q.query(
    `INSERT INTO outbox (channel, recipient, subject, body_text, body_html, next_attempt_at, created_at)
     VALUES ($1, $2, $3, $4, $5, $6, $6)`,
    [m.channel, m.recipient, m.subject ?? null, m.text, m.html ?? null, now],
  );
}

/**
 * Claims up to `limit` due messages in one short transaction: locks them (skipping rows another
 * worker holds), counts the attempt and pushes next_attempt_at past the lease so no other worker
 * takes them while this one sends. Returns the claimed rows (attempts already incremented).
 */
export async function claimDue(db: Db, now: number, leaseMs: number, limit: number): Promise<OutboxRow[]> {
  return db.tx(async (q) => {
    const due = await q.query<{ id: number }>(
      `SELECT id FROM outbox WHERE status = 'pending' AND next_attempt_at <= $1
        ORDER BY next_attempt_at, id LIMIT $2 FOR UPDATE SKIP LOCKED`,
      [now, limit],
    );
    if (due.rows.length === 0) return [];
    const r = await q.query<OutboxRow>(
      `UPDATE outbox SET attempts = attempts + 1, next_attempt_at = $2
        WHERE id = ANY($1::bigint[]) RETURNING *`,
      [due.rows.map((d) => d.id), now + leaseMs],
    );
    return r.rows.sort((a, b) => a.id - b.id);
  });
}

/**
 * Records a delivery. The body (which carries a validation token) is cleared once it is no longer
 * needed. Conditional on the attempt number, so a worker whose lease lapsed cannot overwrite the
 * outcome of a later claim.
 */
export async function markSent(q: Queryable, id: number, attempts: number, now: number): Promise<void> {
  await q.query(
    `UPDATE outbox SET status = 'sent', sent_at = $3, body_text = '', body_html = NULL, last_error = NULL
      WHERE id = $1 AND attempts = $2 AND status = 'pending'`,
    [id, attempts, now],
  );
}

export async function markRetry(q: Queryable, id: number, attempts: number, nextAt: number, error: string): Promise<void> {
  await q.query(
    `UPDATE outbox SET next_attempt_at = $3, last_error = $4 WHERE id = $1 AND attempts = $2 AND status = 'pending'`,
    [id, attempts, nextAt, error.slice(0, 1000)],
  );
}

export async function markFailed(q: Queryable, id: number, attempts: number, error: string): Promise<void> {
  await q.query(
    `UPDATE outbox SET status = 'failed', last_error = $3, body_text = '', body_html = NULL
      WHERE id = $1 AND attempts = $2 AND status = 'pending'`,
    [id, attempts, error.slice(0, 1000)],
  );
}

export async function findOutbox(q: Queryable, id: number): Promise<OutboxRow | undefined> {
  const r = await q.query<OutboxRow>('SELECT * FROM outbox WHERE id = $1', [id]);
  return r.rows[0];
}

/** Delivered and failed rows are kept a while for inspection, then dropped. */
export async function deleteFinishedBefore(q: Queryable, before: number): Promise<number> {
  const r = await q.query(
    `DELETE FROM outbox WHERE status <> 'pending' AND COALESCE(sent_at, next_attempt_at) <= $1`,
    [before],
  );
  return r.rowCount ?? 0;
}
