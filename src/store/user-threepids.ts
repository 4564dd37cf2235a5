// Third-party identifiers bound to accounts.
import type { Medium } from '../domain/threepid.js';
import type { Queryable } from './db.js';

/** The live account the address is bound to, if any. */
export async function findThreepidOwner(q: Queryable, medium: Medium, address: string): Promise<string | undefined> {
  const r = await q.query<{ user_id: string }>(
    `SELECT t.user_id FROM user_threepids t JOIN users u ON u.user_id = t.user_id
      WHERE t.medium = $1 AND t.address = $2 AND u.deactivated_at IS NULL`,
    [medium, address],
  );
  return r.rows[0]?.user_id;
}

/** Binds the address; false when it is already bound (to anyone). */
export async function bindThreepid(
  q: Queryable,
  b: { medium: Medium; address: string; userId: string; validatedAt: number; now: number },
): Promise<boolean> {
  const r = await q.query(
    `INSERT INTO user_threepids (medium, address, user_id, validated_at, added_at) VALUES ($1, $2, $3, $4, $5)
     ON CONFLICT DO NOTHING`,
    [b.medium, b.address, b.userId, b.validatedAt, b.now],
  );
  return r.rowCount === 1;
}

export async function listThreepids(q: Queryable, userId: string): Promise<{ medium: Medium; address: string }[]> {
  const r = await q.query<{ medium: Medium; address: string }>(
    'SELECT medium, address FROM user_threepids WHERE user_id = $1 ORDER BY medium, address',
    [userId],
  );
  return r.rows;
}

/** Unbinds every identifier of the account (deactivation). */
export async function unbindAllThreepids(q: Queryable, userId: string): Promise<number> {
  const r = await q.query('DELETE FROM user_threepids WHERE user_id = $1', [userId]);
  return r.rowCount ?? 0;
}
