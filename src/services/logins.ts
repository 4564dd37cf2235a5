// Issuing logins: a device with a fresh access token (and refresh token when the client supports
// them). Tokens are 256-bit CSPRNG values; only their SHA-256 hashes are stored.
import type { Clock, Random } from '../lib/clock.js';
import { newToken, tokenHash } from '../lib/secrets.js';
import type { Queryable } from '../store/db.js';
import { createLogin, rotateRefreshToken } from '../store/devices.js';

export interface LoginTokens {
  device_id: string;
  access_token: string;
  refresh_token?: string;
  expires_in_ms?: number;
}

export interface LoginIssuer {
  /** Creates the login inside the caller's transaction (q). */
  issue(q: Queryable, a: { userId: string; deviceId?: string; displayName?: string; refresh: boolean }): Promise<LoginTokens>;
  /**
   * Exchanges a refresh token for new tokens on the same device, inside the caller's
   * transaction (see rotateRefreshToken); undefined for an unknown or retired refresh token.
   */
  refresh(q: Queryable, refreshToken: string): Promise<Required<Omit<LoginTokens, 'device_id'>> | undefined>;
  newDeviceId(): string;
}

const DEVICE_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ';

export function createLoginIssuer(deps: { clock: Clock; random: Random; accessTokenLifetimeMs: number }): LoginIssuer {
  const { clock, random } = deps;
  const newDeviceId = () => random.string(10, DEVICE_ALPHABET);
  return {
    newDeviceId,
    async refresh(q, presented) {
      const now = clock.now();
      const accessToken = newToken(random, 'mat_');
      const refreshToken = newToken(random, 'mrt_');
      const rotated = await rotateRefreshToken(q, {
        presentedHash: tokenHash(presented),
        refreshHash: tokenHash(refreshToken),
        accessHash: tokenHash(accessToken),
        now,
        accessExpiresAt: now + deps.accessTokenLifetimeMs,
      });
      if (!rotated) return undefined;
      return { access_token: accessToken, refresh_token: refreshToken, expires_in_ms: deps.accessTokenLifetimeMs };
    },
    async issue(q, a) {
      const now = clock.now();
      const deviceId = a.deviceId ?? newDeviceId();
      const accessToken = newToken(random, 'mat_');
      const refreshToken = a.refresh ? newToken(random, 'mrt_') : undefined;
      await createLogin(q, {
        userId: a.userId,
        deviceId,
        displayName: a.displayName ?? null,
        now,
        accessTokenHash: tokenHash(accessToken),
        ...(refreshToken
          ? { refresh: { tokenHash: tokenHash(refreshToken), accessExpiresAt: now + deps.accessTokenLifetimeMs } }
          : {}),
      });
      return {
        device_id: deviceId,
        access_token: accessToken,
        ...(refreshToken ? { refresh_token: refreshToken, expires_in_ms: deps.accessTokenLifetimeMs } : {}),
      };
    },
  };
}
