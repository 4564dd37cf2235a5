// Pure rules about access tokens: whether a stored token is live at a moment, and what the
// introspection endpoint says about it (RFC 7662 shape).

export interface StoredAccessToken {
  user_id: string;
  device_id: string;
  /** ms since the epoch; null: never expires. */
  expires_at: number | null;
  is_guest: boolean;
}

/** A token is live strictly before its expiry instant; at or after it, it has expired. */
export function accessTokenExpired(expiresAt: number | null, now: number): boolean {
  return expiresAt !== null && now >= expiresAt;
}

export type Introspection =
  | { active: false }
  | {
      active: true;
      token_type: 'access_token';
      sub: string;
      user_id: string;
      username: string;
      device_id: string;
      is_guest: boolean;
      scope: string;
      exp?: number;
    };

/** The localpart of a user ID (@localpart:server). */
export function localpartOf(userId: string): string {
  const colon = userId.indexOf(':');
  return userId.slice(1, colon < 0 ? undefined : colon);
}

/**
 * RFC 7662 answer for a token (undefined: unknown or revoked). Expired tokens are inactive.
 * `exp` is in seconds, as RFC 7662 says. `scope` carries the Matrix OAuth scopes (MSC2967:
 * stable and unstable names) so a homeserver that reads scopes sees full API access on the
 * token's device; guests get the guest scope.
 */
export function introspect(token: StoredAccessToken | undefined, now: number): Introspection {
  if (!token || accessTokenExpired(token.expires_at, now)) return { active: false };
  const scopes = [
    token.is_guest ? 'urn:matrix:client:api:guest' : 'urn:matrix:client:api:*',
    `urn:matrix:client:device:${token.device_id}`,
    token.is_guest ? 'urn:matrix:org.matrix.msc2967.client:api:guest' : 'urn:matrix:org.matrix.msc2967.client:api:*',
    `urn:matrix:org.matrix.msc2967.client:device:${token.device_id}`,
  ];
  return {
    active: true,
    token_type: 'access_token',
    sub: token.user_id,
    user_id: token.user_id,
    username: localpartOf(token.user_id),
    device_id: token.device_id,
    is_guest: token.is_guest,
    scope: scopes.join(' '),
    ...(token.expires_at !== null ? { exp: Math.floor(token.expires_at / 1000) } : {}),
  };
}
