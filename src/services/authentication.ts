// Sessions: who a request is (access token → user and device), password login, refresh, logout,
// and token introspection for the homeserver. Access tokens come only from the
// `Authorization: Bearer` header (the spec removed query-string tokens); the HTTP layer hands the
// raw header value's token here.
import type { Config } from '../config.js';
import { accessTokenExpired, introspect, type Introspection } from '../domain/access-tokens.js';
import { loginIdentifier } from '../domain/login-identifier.js';
import { resolveLoginUser } from '../domain/username.js';
import { errors } from '../errors.js';
import type { Clock } from '../lib/clock.js';
import { tokenHash } from '../lib/secrets.js';
import { isDeadlock, type Db } from '../store/db.js';
import { deleteDevice, deleteDevices, findAccessToken, markAccessTokenUsed } from '../store/devices.js';
import { lockLiveUser } from '../store/users.js';
import type { PasswordVerifier } from '../uia/stages/password.js';
import type { LoginIssuer, LoginTokens } from './logins.js';

export interface Requester {
  userId: string;
  deviceId: string;
  isGuest: boolean;
}

export interface AuthOptions {
  /** Guests get 403 M_GUEST_ACCESS_FORBIDDEN unless allowed. */
  allowGuests: boolean;
  /** Accept a token past its lifetime (logout: a soft-logged-out client may still log out). */
  allowExpired?: boolean;
}

export interface LoginInput {
  body: Record<string, unknown>;
  ip: string;
  deviceId?: string;
  initialDeviceDisplayName?: string;
  refreshToken: boolean;
}

export interface LoginResponse extends LoginTokens {
  user_id: string;
  home_server: string;
}

export const LOGIN_TYPES = ['m.login.password'] as const;

export interface AuthenticationService {
  /** Resolves a bearer token to its user and device, or throws the spec's 401/403. */
  authenticate(token: string | undefined, opts: AuthOptions): Promise<Requester>;
  login(input: LoginInput): Promise<LoginResponse>;
  refresh(refreshToken: string): Promise<{ access_token: string; refresh_token: string; expires_in_ms: number }>;
  logout(requester: Requester): Promise<void>;
  logoutAll(requester: Requester): Promise<void>;
  /** RFC 7662 answer for an access token; marks the token used (as any request does). */
  introspect(token: string): Promise<Introspection>;
}

export interface AuthenticationDeps {
  config: Pick<Config, 'serverName'>;
  db: Db;
  clock: Clock;
  logins: LoginIssuer;
  verifier: PasswordVerifier;
}

export function createAuthenticationService(deps: AuthenticationDeps): AuthenticationService {
  const { config, db, clock, logins, verifier } = deps;

  /** One indexed lookup; the first use of a token also retires the refresh token it replaced. */
  async function lookup(token: string) {
    const row = await findAccessToken(db, tokenHash(token));
    if (row && row.used_at === null) {
      // Best effort: a deadlock with a concurrent logout or deactivation leaves used_at unset,
      // and the next use of the token retires the old refresh token instead.
      await markAccessTokenUsed(db, row.id, clock.now()).catch((err) => {
        if (!isDeadlock(err)) throw err;
      });
    }
    return row;
  }

  return {
    async authenticate(token, opts) {
      if (token === undefined) throw errors.missingToken();
      const row = await lookup(token);
      if (!row) throw errors.unknownToken();
      if (!opts.allowExpired && accessTokenExpired(row.expires_at, clock.now())) throw errors.expiredToken();
      if (row.is_guest && !opts.allowGuests) throw errors.guestAccessForbidden();
      return { userId: row.user_id, deviceId: row.device_id, isGuest: row.is_guest };
    },

    async login(input) {
      const { body } = input;
      if (body.type !== 'm.login.password') throw errors.unknownLoginType();
      const id = loginIdentifier(body);
      if (id.kind === 'invalid') throw errors.badJson(`${id.field}: invalid`);
      if (id.kind === 'unsupported') throw errors.unknownIdentifierType();
      if (id.kind === 'none') throw errors.missingParam('identifier');
      if (typeof body.password !== 'string') {
        throw body.password === undefined ? errors.missingParam('password') : errors.badJson('password: expected string');
      }
      const userId = resolveLoginUser(id.user, config.serverName);
      const verified = await verifier.verify({ userId, password: body.password, ip: input.ip, now: clock.now() });
      if (!verified) throw errors.loginFailed();
      const tokens = await db.tx(async (q) => {
        // The password was checked outside the transaction (hashing is slow); a deactivation or
        // password change that committed since then wins, and this login fails.
        if (!(await lockLiveUser(q, verified.userId, verified.passwordHash))) return undefined;
        return logins.issue(q, {
          userId: verified.userId,
          deviceId: input.deviceId,
          displayName: input.initialDeviceDisplayName,
          refresh: input.refreshToken,
        });
      });
      if (!tokens) throw errors.loginFailed();
      return { user_id: verified.userId, home_server: config.serverName, ...tokens };
    },

    async refresh(refreshToken) {
      const tokens = await db.tx((q) => logins.refresh(q, refreshToken));
      if (!tokens) throw errors.unknownRefreshToken();
      return tokens;
    },

    async logout(requester) {
      await deleteDevice(db, requester.userId, requester.deviceId);
    },

    async logoutAll(requester) {
      await deleteDevices(db, requester.userId);
    },

    async introspect(token) {
      const row = await lookup(token);
      return introspect(row, clock.now());
    },
  };
}
