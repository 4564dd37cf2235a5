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
 */
export async function createLogin(q: Queryable, l: NewLogin): Promise<void> {
  await q.query(
    `INSERT INTO devices (user_id, device_id, display_name, created_at) VALUES ($1, $2, $3, $4)
     ON CONFLICT (user_id, device_id) DO NOTHING`,
    [l.userId, l.deviceId, l.displayName, l.now],
  );
  await q.query('DELETE FROM access_tokens WHERE user_id = $1 AND device_id = $2', [l.userId, l.deviceId]);
  await q.query('DELETE FROM refresh_tokens WHERE user_id = $1 AND device_id = $2', [l.userId, l.deviceId]);
  let refreshId: number | null = null;
  if (l.refresh) {
    const r = await q.query<{ id: number }>(
      `INSERT INTO refresh_tokens (token_hash, user_id, device_id, created_at) VALUES ($1, $2, $3, $4) RETURNING id`,
      [l.refresh.tokenHash, l.userId, l.deviceId, l.now],
    );
    refreshId = r.rows[0]!.id;
  }
  await q.query(
    `INSERT INTO access_tokens (token_hash, user_id, device_id, created_at, expires_at, refresh_token_id)
     VALUES ($1, $2, $3, $4, $5, $6)`,
    [l.accessTokenHash, l.userId, l.deviceId, l.now, l.refresh?.accessExpiresAt ?? null, refreshId],
  );
}

export interface AccessTokenRow {
  user_id: string;
  device_id: string;
  expires_at: number | null;
  is_guest: boolean;
}

export async function findAccessToken(q: Queryable, hash: Buffer): Promise<AccessTokenRow | undefined> {
  const r = await q.query<AccessTokenRow>(
    `SELECT t.user_id, t.device_id, t.expires_at, u.is_guest
       FROM access_tokens t JOIN users u ON u.user_id = t.user_id
      WHERE t.token_hash = $1 AND u.deactivated_at IS NULL`,
    [hash],
  );
  return r.rows[0];
}
