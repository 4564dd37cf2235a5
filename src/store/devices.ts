// Devices and their access and refresh tokens. Only SHA-256 hashes of tokens are stored.
import type { Queryable } from './db.js';

export interface NewLogin {
  userId: string;
  deviceId: string;
  displayName: string | null;
  now: number;
  accessTokenHash: Buffer;
  /** When set, the access token expires and a refresh token with this hash is issued. */
  refresh?: { tokenHash: Buffer; accessExpiresAt: number };
}

/**
 * Creates the device if it is new (an existing one keeps its display name), revokes the device's
 * earlier tokens (spec: the server may invalidate tokens previously associated with the device),
 * and stores the new tokens.
 *
 * One statement, so one round trip on the path of every login and registration. Its parts run on
 * one snapshot: the deletes cannot see the tokens inserted beside them, and the foreign keys are
 * checked at the end of the statement, when the new device exists.
 */
export async function createLogin(q: Queryable, l: NewLogin): Promise<void> {
  await q.query(
    `WITH device AS (
       INSERT INTO devices (user_id, device_id, display_name, created_at) VALUES ($1, $2, $3, $4)
       ON CONFLICT (user_id, device_id) DO NOTHING
     ), old_access AS (
       DELETE FROM access_tokens WHERE user_id = $1 AND device_id = $2
     ), old_refresh AS (
       DELETE FROM refresh_tokens WHERE user_id = $1 AND device_id = $2
     ), refresh AS (
       INSERT INTO refresh_tokens (token_hash, user_id, device_id, created_at)
       SELECT $6::bytea, $1, $2, $4 WHERE $6::bytea IS NOT NULL
       RETURNING id
     )
     INSERT INTO access_tokens (token_hash, user_id, device_id, created_at, expires_at, refresh_token_id)
     VALUES ($5, $1, $2, $4, $7, (SELECT id FROM refresh))`,
    [l.userId, l.deviceId, l.displayName, l.now, l.accessTokenHash, l.refresh?.tokenHash ?? null, l.refresh?.accessExpiresAt ?? null],
  );
}

export interface AccessTokenRow {
  id: number;
  user_id: string;
  device_id: string;
  expires_at: number | null;
  used_at: number | null;
  is_guest: boolean;
}

/**
 * The one indexed lookup behind every authenticated request and every introspection: the token's
 * hash (unique index) joined to its live user (primary key). Deactivated users' tokens are gone
 * already; the join condition is a second guard.
 */
export async function findAccessToken(q: Queryable, hash: Buffer): Promise<AccessTokenRow | undefined> {
  const r = await q.query<AccessTokenRow>(
    `SELECT t.id, t.user_id, t.device_id, t.expires_at, t.used_at, u.is_guest
       FROM access_tokens t JOIN users u ON u.user_id = t.user_id
      WHERE t.token_hash = $1 AND u.deactivated_at IS NULL`,
    [hash],
  );
  return r.rows[0];
}

/**
 * Records the first use of an access token and retires the refresh token it replaced (spec: the
 * old refresh token stays valid until the new access token is first used). Deleting the old
 * refresh token cascades to the access token minted with it.
 *
 * Two autocommitted statements, not one transaction, so this never holds the access token's row
 * while waiting for a refresh token's row: a refresh of the old token locks that row first and
 * then deletes the new access token, and the opposite order would deadlock with it. The retiring
 * comes first, so an interruption in between leaves used_at unset and the next use retries.
 */
export async function markAccessTokenUsed(q: Queryable, tokenId: number, now: number): Promise<void> {
  await q.query(
    `DELETE FROM refresh_tokens
      WHERE next_token_id = (SELECT refresh_token_id FROM access_tokens WHERE id = $1 AND used_at IS NULL)`,
    [tokenId],
  );
  await q.query('UPDATE access_tokens SET used_at = $2 WHERE id = $1 AND used_at IS NULL', [tokenId, now]);
}

export interface RotatedLogin {
  userId: string;
  deviceId: string;
}

/**
 * Exchanges a refresh token for a new access and refresh token, inside the caller's transaction.
 *
 * After locking the device, the claim locks the presented token's row (held to commit), so two
 * concurrent exchanges of one token run one after the other; the second sees what the first
 * minted and deletes it, so exactly one exchange leaves live tokens. Then:
 * - tokens minted by an earlier exchange of this same token, never used, are deleted (the client
 *   is repeating a refresh whose answer it lost);
 * - the token this one replaced is deleted (using the new refresh token retires the old one);
 * - the new tokens are stored and the presented token points at its successor, so it keeps
 *   working until the successor's access token is first used.
 * Returns undefined for an unknown (or already retired) token.
 */
export async function rotateRefreshToken(
  q: Queryable,
  r: { presentedHash: Buffer; refreshHash: Buffer; accessHash: Buffer; now: number; accessExpiresAt: number },
): Promise<RotatedLogin | undefined> {
  // Lock order device → refresh token, the same order a logout or deactivation deletes in (the
  // device, then its tokens by cascade), so a refresh racing them cannot deadlock.
  const device = await q.query(
    `SELECT 1 FROM devices d JOIN refresh_tokens r ON r.user_id = d.user_id AND r.device_id = d.device_id
      WHERE r.token_hash = $1 FOR KEY SHARE OF d`,
    [r.presentedHash],
  );
  if ((device.rowCount ?? 0) === 0) return undefined;
  const claimed = await q.query<{ id: number; user_id: string; device_id: string; superseded: number | null }>(
    `WITH old AS (
       SELECT id, next_token_id FROM refresh_tokens WHERE token_hash = $1 FOR UPDATE
     )
     UPDATE refresh_tokens t SET next_token_id = NULL FROM old WHERE t.id = old.id
     RETURNING t.id, t.user_id, t.device_id, old.next_token_id AS superseded`,
    [r.presentedHash],
  );
  const row = claimed.rows[0];
  if (!row) return undefined;
  if (row.superseded !== null) await q.query('DELETE FROM refresh_tokens WHERE id = $1', [row.superseded]);
  await q.query('DELETE FROM refresh_tokens WHERE next_token_id = $1', [row.id]);
  const next = await q.query<{ id: number }>(
    `INSERT INTO refresh_tokens (token_hash, user_id, device_id, created_at) VALUES ($1, $2, $3, $4) RETURNING id`,
    [r.refreshHash, row.user_id, row.device_id, r.now],
  );
  const nextId = next.rows[0]!.id;
  await q.query('UPDATE refresh_tokens SET next_token_id = $2 WHERE id = $1', [row.id, nextId]);
  await q.query(
    `INSERT INTO access_tokens (token_hash, user_id, device_id, created_at, expires_at, refresh_token_id)
     VALUES ($1, $2, $3, $4, $5, $6)`,
    [r.accessHash, row.user_id, row.device_id, r.now, r.accessExpiresAt, nextId],
  );
  return { userId: row.user_id, deviceId: row.device_id };
}

/** Deletes one device; its access and refresh tokens go with it (ON DELETE CASCADE). */
export async function deleteDevice(q: Queryable, userId: string, deviceId: string): Promise<void> {
  await q.query('DELETE FROM devices WHERE user_id = $1 AND device_id = $2', [userId, deviceId]);
}

/** Deletes every device of the user except `keepDeviceId` (if given), with their tokens. */
export async function deleteDevices(q: Queryable, userId: string, keepDeviceId?: string): Promise<number> {
  const r = await q.query('DELETE FROM devices WHERE user_id = $1 AND device_id IS DISTINCT FROM $2', [
    userId,
    keepDeviceId ?? null,
  ]);
  return r.rowCount ?? 0;
}
