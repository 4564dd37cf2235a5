import type { AccountRegistration } from './account-approval.js';
import type { Queryable } from './db.js';

export interface NewUser {
  userId: string;
  localpart: string;
  passwordHash: string | null;
  isGuest: boolean;
  admin?: boolean;
  createdAt: number;
  registrationToken?: string | null;
  /** False for an account awaiting approval (REGISTRATION_REQUIRES_APPROVAL). */
  approved?: boolean;
  userType?: string | null;
  displayname?: string | null;
  appserviceId?: string | null;
}

export interface UserRow {
  user_id: string;
  password_hash: string | null;
  is_guest: boolean;
  admin: boolean;
  deactivated_at: number | null;
  approved: boolean;
}

const INSERT_USER = `INSERT INTO users (user_id, localpart, password_hash, is_guest, admin, created_at, registration_token,
                        user_type, displayname, appservice_id, approved)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
     ON CONFLICT DO NOTHING`;

/**
 * Inserts the user; false when the localpart is taken (the unique constraint settles races).
 * With `registration`, the same statement records how the account was registered (one round trip
 * on the path of every registration).
 */
export async function insertUser(q: Queryable, u: NewUser, registration?: AccountRegistration): Promise<boolean> {
  const user = [
    u.userId,
    u.localpart,
    u.passwordHash,
    u.isGuest,
    u.admin ?? false,
    u.createdAt,
    u.registrationToken ?? null,
    u.userType ?? null,
    u.displayname ?? null,
    u.appserviceId ?? null,
    u.approved ?? true,
  ];
  const r = registration
    ? await q.query(
        `WITH account AS (${INSERT_USER} RETURNING user_id)
         INSERT INTO account_registrations (user_id, ip, user_agent, registration_token, threepids, created_at)
         SELECT user_id, $12, $13, $14, $15::jsonb, $16::bigint FROM account`,
        [...user, registration.ip, registration.userAgent, registration.registrationToken, JSON.stringify(registration.threepids), registration.createdAt],
      )
    : await q.query(INSERT_USER, user);
  return r.rowCount === 1;
}

/** Whether the localpart is taken, by a live or a deactivated account. */
export async function localpartExists(q: Queryable, localpart: string): Promise<boolean> {
  const r = await q.query('SELECT 1 FROM users WHERE localpart = $1', [localpart]);
  return (r.rowCount ?? 0) > 0;
}

export async function findUser(q: Queryable, userId: string): Promise<UserRow | undefined> {
  const r = await q.query<UserRow>(
    'SELECT user_id, password_hash, is_guest, admin, deactivated_at, approved FROM users WHERE user_id = $1',
    [userId],
  );
  return r.rows[0];
}

/**
 * Locks the user's row against a concurrent password change or deactivation until the caller's
 * transaction ends, if the account is still live and (when given) still has this password hash.
 * A login that verified a password outside the transaction calls this before issuing tokens, so
 * it cannot leave a live token behind a deactivation or a password change that committed first.
 */
export async function lockLiveUser(q: Queryable, userId: string, passwordHash?: string): Promise<boolean> {
  const r = await q.query(
    `SELECT 1 FROM users WHERE user_id = $1 AND deactivated_at IS NULL AND ($2::text IS NULL OR password_hash = $2)
     FOR SHARE`,
    [userId, passwordHash ?? null],
  );
  return (r.rowCount ?? 0) > 0;
}

/** Sets a live user's password hash; false when the account is deactivated (or unknown). */
export async function setPasswordHash(q: Queryable, userId: string, passwordHash: string): Promise<boolean> {
  const r = await q.query('UPDATE users SET password_hash = $2 WHERE user_id = $1 AND deactivated_at IS NULL', [
    userId,
    passwordHash,
  ]);
  return r.rowCount === 1;
}

/**
 * Marks the account deactivated (the row stays, so the user ID is never registered again),
 * records the erase request and drops the password hash. False when it already was deactivated.
 */
export async function markDeactivated(q: Queryable, userId: string, a: { now: number; erase: boolean }): Promise<boolean> {
  const r = await q.query(
    `UPDATE users SET deactivated_at = $2, erased = $3, password_hash = NULL
      WHERE user_id = $1 AND deactivated_at IS NULL`,
    [userId, a.now, a.erase],
  );
  return r.rowCount === 1;
}
