// Nonces of shared-secret registration: created by GET, consumed (deleted) by POST.
import type { Queryable } from './db.js';

export async function insertNonce(q: Queryable, n: { nonce: string; now: number; expiresAt: number }): Promise<void> {
  await q.query('INSERT INTO shared_secret_nonces (nonce, created_at, expires_at) VALUES ($1, $2, $3)', [
    n.nonce,
    n.now,
    n.expiresAt,
  ]);
}

/**
 * Deletes the nonce and says whether it existed and was still live. One statement, so two
 * requests racing with the same nonce see it succeed once.
 */
export async function consumeNonce(q: Queryable, nonce: string, now: number): Promise<boolean> {
  const r = await q.query<{ expires_at: number }>(
    'DELETE FROM shared_secret_nonces WHERE nonce = $1 RETURNING expires_at',
    [nonce],
  );
  const row = r.rows[0];
  return row !== undefined && row.expires_at > now;
}

export async function deleteExpiredNonces(q: Queryable, now: number): Promise<number> {
  const r = await q.query('DELETE FROM shared_secret_nonces WHERE expires_at <= $1', [now]);
  return r.rowCount ?? 0;
}
