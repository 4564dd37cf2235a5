// Validation sessions of third-party identifiers.
import type { Medium, ThreepidPurpose } from '../domain/threepid.js';
import type { Queryable } from './db.js';

export interface ThreepidValidationRow {
  sid: string;
  client_secret: string;
  purpose: ThreepidPurpose;
  medium: Medium;
  address: string;
  send_attempt: number;
  token_hash: Buffer | null;
  token_expires_at: number;
  next_link: string | null;
  failed_attempts: number;
  created_at: number;
  expires_at: number;
  validated_at: number | null;
  consumed_at: number | null;
}

export async function findValidationByKey(
  q: Queryable,
  k: { purpose: ThreepidPurpose; medium: Medium; address: string; clientSecret: string },
): Promise<ThreepidValidationRow | undefined> {
  const r = await q.query<ThreepidValidationRow>(
    `SELECT * FROM threepid_validations
      WHERE purpose = $1 AND medium = $2 AND address = $3 AND client_secret = $4 FOR UPDATE`,
    [k.purpose, k.medium, k.address, k.clientSecret],
  );
  return r.rows[0];
}

export async function findValidation(q: Queryable, sid: string): Promise<ThreepidValidationRow | undefined> {
  const r = await q.query<ThreepidValidationRow>('SELECT * FROM threepid_validations WHERE sid = $1', [sid]);
  return r.rows[0];
}

/** Inserts a session; undefined when a concurrent request created the same key first. */
export async function insertValidation(
  q: Queryable,
  v: Omit<ThreepidValidationRow, 'failed_attempts' | 'validated_at' | 'consumed_at'>,
): Promise<ThreepidValidationRow | undefined> {
  const r = await q.query<ThreepidValidationRow>(
    `INSERT INTO threepid_validations
       (sid, client_secret, purpose, medium, address, send_attempt, token_hash, token_expires_at,
        next_link, created_at, expires_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
     ON CONFLICT DO NOTHING RETURNING *`,
    [v.sid, v.client_secret, v.purpose, v.medium, v.address, v.send_attempt, v.token_hash, v.token_expires_at,
      v.next_link, v.created_at, v.expires_at],
  );
  return r.rows[0];
}

/** A new send for a higher send_attempt: a new token replaces the old one (only its hash is kept). */
export async function resendValidation(
  q: Queryable,
  sid: string,
  v: { sendAttempt: number; tokenHash: Buffer | null; tokenExpiresAt: number; nextLink: string | null },
): Promise<void> {
  await q.query(
    `UPDATE threepid_validations
        SET send_attempt = $2, token_hash = COALESCE($3::bytea, token_hash), token_expires_at = $4,
            next_link = COALESCE($5, next_link),
            -- a new code gets a fresh allowance of wrong submissions
            failed_attempts = CASE WHEN $3::bytea IS NULL THEN failed_attempts ELSE 0 END
      WHERE sid = $1`,
    [sid, v.sendAttempt, v.tokenHash, v.tokenExpiresAt, v.nextLink],
  );
}

/** Counts a wrong token; returns the new count. */
export async function recordWrongToken(q: Queryable, sid: string): Promise<number> {
  const r = await q.query<{ failed_attempts: number }>(
    'UPDATE threepid_validations SET failed_attempts = failed_attempts + 1 WHERE sid = $1 RETURNING failed_attempts',
    [sid],
  );
  return r.rows[0]?.failed_attempts ?? 0;
}

/** Marks the session validated (idempotent: the first validation time stays). */
export async function markValidated(q: Queryable, sid: string, now: number): Promise<void> {
  await q.query(
    'UPDATE threepid_validations SET validated_at = COALESCE(validated_at, $2), token_hash = NULL WHERE sid = $1',
    [sid, now],
  );
}

/**
 * Spends a validated session for its operation (registration or reset): exactly one operation
 * may use it. False when it was already spent, expired, or is of another purpose.
 */
export async function consumeValidation(
  q: Queryable,
  v: { sid: string; purpose: ThreepidPurpose; now: number },
): Promise<ThreepidValidationRow | undefined> {
  const r = await q.query<ThreepidValidationRow>(
    `UPDATE threepid_validations SET consumed_at = $3
      WHERE sid = $1 AND purpose = $2 AND validated_at IS NOT NULL AND consumed_at IS NULL AND expires_at > $3
      RETURNING *`,
    [v.sid, v.purpose, v.now],
  );
  return r.rows[0];
}

export async function deleteExpiredValidations(q: Queryable, now: number): Promise<number> {
  const r = await q.query('DELETE FROM threepid_validations WHERE expires_at <= $1', [now]);
  return r.rowCount ?? 0;
}
