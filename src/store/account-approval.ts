// Account approval (MSC3866) and how each account was registered (migration 0600).
import type { Queryable } from './db.js';

/** How an account was registered, for the approval queue and the admin API (written by insertUser). */
export interface AccountRegistration {
  ip: string;
  userAgent: string | null;
  registrationToken: string | null;
  threepids: { medium: string; address: string }[];
  createdAt: number;
}

export interface AdminUserRow {
  user_id: string;
  is_guest: boolean;
  admin: boolean;
  created_at: number;
  deactivated_at: number | null;
  erased: boolean;
  approved: boolean;
  registration_token: string | null;
  registration_ip: string | null;
  registration_user_agent: string | null;
  threepids: { medium: string; address: string }[] | null;
}

const SELECT = `
  SELECT u.user_id, u.is_guest, u.admin, u.created_at, u.deactivated_at, u.erased, u.approved,
         u.registration_token, r.ip AS registration_ip, r.user_agent AS registration_user_agent, r.threepids
    FROM users u LEFT JOIN account_registrations r ON r.user_id = u.user_id`;

export async function findAdminUser(q: Queryable, userId: string): Promise<AdminUserRow | undefined> {
  const r = await q.query<AdminUserRow>(`${SELECT} WHERE u.user_id = $1`, [userId]);
  return r.rows[0];
}

export interface UserListFilter {
  approved?: boolean;
  /** Include deactivated accounts (default: no, as Synapse). */
  deactivated: boolean;
  /** Offset into the list (Synapse's `from`). */
  from: number;
  limit: number;
}

/** Accounts oldest first (the pending queue is worked through in order), with the total count. */
export async function listAdminUsers(q: Queryable, f: UserListFilter): Promise<{ rows: AdminUserRow[]; total: number }> {
  const where = `WHERE ($1::boolean IS NULL OR u.approved = $1::boolean) AND ($2::boolean OR u.deactivated_at IS NULL)`;
  const rows = await q.query<AdminUserRow>(
    `${SELECT} ${where} ORDER BY u.created_at, u.user_id OFFSET $3::int LIMIT $4::int`,
    [f.approved ?? null, f.deactivated, f.from, f.limit],
  );
  const total = await q.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM users u ${where}`,
    [f.approved ?? null, f.deactivated],
  );
  return { rows: rows.rows, total: total.rows[0]!.n };
}

/** Whether the account may be used (MSC3866); false for unknown accounts. */
export async function isApproved(q: Queryable, userId: string): Promise<boolean> {
  const r = await q.query<{ approved: boolean }>('SELECT approved FROM users WHERE user_id = $1', [userId]);
  return r.rows[0]?.approved === true;
}

export async function setApproved(q: Queryable, userId: string, approved: boolean): Promise<boolean> {
  const r = await q.query('UPDATE users SET approved = $2 WHERE user_id = $1', [userId, approved]);
  return r.rowCount === 1;
}
