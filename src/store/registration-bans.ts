// Registration bans added through the admin API (migration 0602).
import type { Queryable } from './db.js';

export type BanKind = 'ip' | 'user_agent';

export interface BanRow {
  id: number;
  kind: BanKind;
  value: string;
  reason: string | null;
  created_at: number;
}

export async function listBans(q: Queryable): Promise<BanRow[]> {
  const r = await q.query<BanRow>('SELECT id, kind, value, reason, created_at FROM registration_bans ORDER BY id');
  return r.rows;
}

/** Inserts a ban; returns the existing row when the same ban is already there. */
export async function insertBan(
  q: Queryable,
  b: { kind: BanKind; value: string; reason: string | null; now: number },
): Promise<{ row: BanRow; created: boolean }> {
  const r = await q.query<BanRow>(
    `INSERT INTO registration_bans (kind, value, reason, created_at) VALUES ($1, $2, $3, $4::bigint)
     ON CONFLICT (kind, value) DO NOTHING RETURNING id, kind, value, reason, created_at`,
    [b.kind, b.value, b.reason, b.now],
  );
  if (r.rows[0]) return { row: r.rows[0], created: true };
  const existing = await q.query<BanRow>(
    'SELECT id, kind, value, reason, created_at FROM registration_bans WHERE kind = $1 AND value = $2',
    [b.kind, b.value],
  );
  return { row: existing.rows[0]!, created: false };
}

export async function deleteBan(q: Queryable, id: number): Promise<boolean> {
  const r = await q.query('DELETE FROM registration_bans WHERE id = $1', [id]);
  return r.rowCount === 1;
}
