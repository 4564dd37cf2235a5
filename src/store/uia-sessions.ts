// User-interactive authentication sessions.
import type { Queryable } from './db.js';

export interface UiaSessionRow {
  session_id: string;
  operation: string;
  binding: Record<string, unknown>;
  password_hash: string | null;
  completed: Record<string, unknown>;
  created_at: number;
  expires_at: number;
  spent_at: number | null;
  result: Record<string, unknown> | null;
  /** The fallback pages' anti-CSRF token (set when a page is first served). */
  fallback_csrf: string | null;
}

/** Creates a session with what its first request bound (and the password hash, if any): one write. */
export async function createUiaSession(
  q: Queryable,
  s: { sessionId: string; operation: string; now: number; expiresAt: number; binding: Record<string, unknown>; passwordHash: string | null },
): Promise<UiaSessionRow> {
  const r = await q.query<UiaSessionRow>(
    `INSERT INTO uia_sessions (session_id, operation, created_at, expires_at, binding, password_hash)
     VALUES ($1, $2, $3, $4, $5::jsonb, $6) RETURNING *`,
    [s.sessionId, s.operation, s.now, s.expiresAt, JSON.stringify(s.binding), s.passwordHash],
  );
  return r.rows[0]!;
}

export async function findUiaSession(q: Queryable, sessionId: string): Promise<UiaSessionRow | undefined> {
  const r = await q.query<UiaSessionRow>('SELECT * FROM uia_sessions WHERE session_id = $1', [sessionId]);
  return r.rows[0];
}

/**
 * Merges newly seen binding fields and the password hash, without overwriting a value another
 * request froze first (a concurrent round cannot swap the username or password).
 * Returns the stored row after the merge.
 */
export async function freezeBinding(
  q: Queryable,
  sessionId: string,
  binding: Record<string, unknown>,
  passwordHash: string | null,
): Promise<UiaSessionRow> {
  const r = await q.query<UiaSessionRow>(
    `UPDATE uia_sessions
        SET binding = $2::jsonb || binding,
            password_hash = COALESCE(password_hash, $3)
      WHERE session_id = $1
      RETURNING *`,
    [sessionId, JSON.stringify(binding), passwordHash],
  );
  return r.rows[0]!;
}

/** Records a completed stage (idempotent: the first result for a stage wins); undefined if spent. */
export async function markStageCompleted(
  q: Queryable,
  sessionId: string,
  stage: string,
  data: unknown,
): Promise<UiaSessionRow | undefined> {
  const r = await q.query<UiaSessionRow>(
    `UPDATE uia_sessions SET completed = jsonb_build_object($2::text, $3::jsonb) || completed
      WHERE session_id = $1 AND spent_at IS NULL RETURNING *`,
    [sessionId, stage, JSON.stringify(data ?? true)],
  );
  return r.rows[0];
}

/** The session's fallback anti-CSRF token: the stored one, or `candidate` if it had none yet. */
export async function ensureFallbackCsrf(q: Queryable, sessionId: string, candidate: string): Promise<string | undefined> {
  const r = await q.query<{ fallback_csrf: string }>(
    `UPDATE uia_sessions SET fallback_csrf = COALESCE(fallback_csrf, $2) WHERE session_id = $1 RETURNING fallback_csrf`,
    [sessionId, candidate],
  );
  return r.rows[0]?.fallback_csrf;
}

/** Removes a completed stage (its effect lapsed, e.g. a token hold that could not be renewed). */
export async function unmarkStage(q: Queryable, sessionId: string, stage: string): Promise<void> {
  await q.query('UPDATE uia_sessions SET completed = completed - $2::text WHERE session_id = $1', [sessionId, stage]);
}

/**
 * Spends the session: the one conditional write that lets exactly one request perform the
 * operation. Called first inside the operation's transaction; a racing request blocks on the row
 * and then finds it spent. The same write records the stage that completed the flow in this
 * request (if any) and the operation's result, when known.
 */
export async function spendUiaSession(
  q: Queryable,
  sessionId: string,
  now: number,
  extra: { stage?: { type: string; data: unknown } | undefined; result?: Record<string, unknown> | undefined } = {},
): Promise<boolean> {
  // The password hash and digests have served their purpose: drop them from the session now.
  const r = await q.query(
    `UPDATE uia_sessions
        SET spent_at = $2, password_hash = NULL, binding = binding - 'password_digest' - 'new_password_digest',
            completed = CASE WHEN $3::text IS NULL THEN completed ELSE jsonb_build_object($3::text, $4::jsonb) || completed END,
            result = COALESCE($5::jsonb, result)
      WHERE session_id = $1 AND spent_at IS NULL AND expires_at > $2`,
    [sessionId, now, extra.stage?.type ?? null, extra.stage ? JSON.stringify(extra.stage.data ?? true) : null, extra.result ? JSON.stringify(extra.result) : null],
  );
  return r.rowCount === 1;
}

/** What the spent session's operation did (e.g. the registered user ID), for logs and audits. */
export async function recordUiaResult(q: Queryable, sessionId: string, result: Record<string, unknown>): Promise<void> {
  await q.query('UPDATE uia_sessions SET result = $2::jsonb WHERE session_id = $1', [sessionId, JSON.stringify(result)]);
}

/** Deletes sessions past their lifetime (and spent ones kept for a grace period). */
export async function deleteExpiredUiaSessions(q: Queryable, now: number): Promise<number> {
  const r = await q.query('DELETE FROM uia_sessions WHERE expires_at <= $1', [now]);
  return r.rowCount ?? 0;
}
