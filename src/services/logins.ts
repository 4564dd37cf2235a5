// Issuing logins: a device with a fresh access token (and refresh token when the client supports
// them). Tokens are 256-bit CSPRNG values; only their SHA-256 hashes are stored.
import type { Clock, Random } from '../lib/clock.js';
import { newToken, tokenHash } from '../lib/secrets.js';
import type { Queryable } from '../store/db.js';
import { createLogin } from '../store/devices.js';

export interface LoginTokens {
  device_id: string;
  access_token: string;
  refresh_token?: string;
  expires_in_ms?: number;
}

export interface LoginIssuer {
  /** Creates the login inside the caller's transaction (q). */
  issue(q: Queryable, a: { userId: string; deviceId?: string; displayName?: string; refresh: boolean }): Promise<LoginTokens>;
  newDeviceId(): string;
}

const DEVICE_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ';

export function createLoginIssuer(deps: { clock: Clock; random: Random; accessTokenLifetimeMs: number }): LoginIssuer {
  const { clock, random } = deps;
  const newDeviceId = () => random.string(10, DEVICE_ALPHABET);
  return {
    newDeviceId,
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
