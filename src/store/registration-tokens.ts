// Registration tokens and the holds UIA sessions keep on their uses. Every change of a token's
// counters is one statement whose WHERE clause re-checks validity, expiry and remaining uses, so
// concurrent writers can never exceed uses_allowed (Postgres re-evaluates the WHERE clause of an
// UPDATE against the newest row version after waiting for a row lock).
import type { Queryable } from './db.js';

export interface RegistrationTokenRow {
  token: string;
  uses_allowed: number | null;
  pending: number;
  completed: number;
  expiry_time: number | null;
}

const COLUMNS = 'token, uses_allowed, pending, completed, expiry_time';

/** Gives back the uses of lapsed holds (all tokens, or one). */
export async function releaseLapsedHolds(q: Queryable, now: number, token?: string): Promise<void> {
  await q.query(
    `WITH lapsed AS (
       DELETE FROM registration_token_holds
        WHERE expires_at <= $1 AND ($2::text IS NULL OR token = $2)
        RETURNING token
     ), counts AS (SELECT token, count(*)::int AS n FROM lapsed GROUP BY token)
     UPDATE registration_tokens t SET pending = t.pending - counts.n
       FROM counts WHERE t.token = counts.token`,
    [now, token ?? null],
  );
}

export type HoldResult = 'held' | 'already_held' | 'invalid';

/**
 * Reserves one use of the token for a UIA session until holdUntil, in one statement: the UPDATE
 * only matches a valid token with a use left. A session already holding this token keeps its hold.
 */
export async function holdTokenUse(
  q: Queryable,
  a: { token: string; sessionId: string; now: number; holdUntil: number },
): Promise<HoldResult> {
  const existing = await q.query<{ token: string }>(
    'UPDATE registration_token_holds SET expires_at = $3 WHERE session_id = $1 AND token = $2 RETURNING token',
    [a.sessionId, a.token, a.holdUntil],
  );
  if ((existing.rowCount ?? 0) > 0) return 'already_held';
  const r = await q.query(
    `WITH reserved AS (
       UPDATE registration_tokens
          SET pending = pending + 1
        WHERE token = $1
          AND (expiry_time IS NULL OR expiry_time > $3)
          AND (uses_allowed IS NULL OR pending + completed < uses_allowed)
        RETURNING token
     )
     INSERT INTO registration_token_holds (session_id, token, expires_at)
     SELECT $2, token, $4 FROM reserved
     RETURNING token`,
    [a.token, a.sessionId, a.now, a.holdUntil],
  );
  return (r.rowCount ?? 0) > 0 ? 'held' : 'invalid';
}

/**
 * Turns the session's hold on the token into a completed use. When the hold has lapsed, takes a
 * use directly if one is still left. Returns false when the token can no longer admit anyone.
 */
export async function completeTokenUse(
  q: Queryable,
  a: { token: string; sessionId: string; now: number },
): Promise<boolean> {
  const fromHold = await q.query(
    `WITH h AS (DELETE FROM registration_token_holds WHERE session_id = $1 AND token = $2 RETURNING token)
     UPDATE registration_tokens t SET pending = t.pending - 1, completed = t.completed + 1
       FROM h WHERE t.token = h.token
     RETURNING t.token`,
    [a.sessionId, a.token],
  );
  if ((fromHold.rowCount ?? 0) > 0) return true;
  const direct = await q.query(
    `UPDATE registration_tokens SET completed = completed + 1
      WHERE token = $1
        AND (expiry_time IS NULL OR expiry_time > $2)
        AND (uses_allowed IS NULL OR pending + completed < uses_allowed)
      RETURNING token`,
    [a.token, a.now],
  );
  return (direct.rowCount ?? 0) > 0;
}

export async function getRegistrationToken(q: Queryable, token: string): Promise<RegistrationTokenRow | undefined> {
  const r = await q.query<RegistrationTokenRow>(`SELECT ${COLUMNS} FROM registration_tokens WHERE token = $1`, [token]);
  return r.rows[0];
}

export async function listRegistrationTokens(
  q: Queryable,
  filter: { valid?: boolean; now: number },
): Promise<RegistrationTokenRow[]> {
  const validSql =
    '((expiry_time IS NULL OR expiry_time > $1) AND (uses_allowed IS NULL OR pending + completed < uses_allowed))';
  const where = filter.valid === undefined ? '' : filter.valid ? `WHERE ${validSql}` : `WHERE NOT ${validSql}`;
  const r = await q.query<RegistrationTokenRow>(
    `SELECT ${COLUMNS} FROM registration_tokens ${where} ORDER BY created_at, token`,
    filter.valid === undefined ? [] : [filter.now],
  );
  return r.rows;
}

/** Inserts a token; false when it already exists. */
export async function insertRegistrationToken(
  q: Queryable,
  t: { token: string; usesAllowed: number | null; expiryTime: number | null; now: number },
): Promise<RegistrationTokenRow | undefined> {
  const r = await q.query<RegistrationTokenRow>(
    `INSERT INTO registration_tokens (token, uses_allowed, expiry_time, created_at) VALUES ($1, $2, $3, $4)
     ON CONFLICT (token) DO NOTHING RETURNING ${COLUMNS}`,
    [t.token, t.usesAllowed, t.expiryTime, t.now],
  );
  return r.rows[0];
}

export async function updateRegistrationToken(
  q: Queryable,
  token: string,
  changes: { usesAllowed?: number | null; expiryTime?: number | null },
): Promise<RegistrationTokenRow | undefined> {
  const r = await q.query<RegistrationTokenRow>(
    `UPDATE registration_tokens
        SET uses_allowed = CASE WHEN $2 THEN $3::int ELSE uses_allowed END,
            expiry_time  = CASE WHEN $4 THEN $5::bigint ELSE expiry_time END
      WHERE token = $1 RETURNING ${COLUMNS}`,
    [token, 'usesAllowed' in changes, changes.usesAllowed ?? null, 'expiryTime' in changes, changes.expiryTime ?? null],
  );
  return r.rows[0];
}

export async function deleteRegistrationToken(q: Queryable, token: string): Promise<boolean> {
  const r = await q.query('DELETE FROM registration_tokens WHERE token = $1', [token]);
  return r.rowCount === 1;
}
