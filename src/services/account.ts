// Account management: POST /account/password and POST /account/deactivate, both behind
// user-interactive auth with m.login.password for the requesting user.
//
// The effect of each operation is a plain function run inside the caller's transaction
// (changePassword, deactivateAccount), so another identity proof - e.g. a password reset by
// email without an access token (issue #4) - can perform the same change after its own checks.
import type { Config } from '../config.js';
import { STAGE, type Flow } from '../domain/flows.js';
import { passwordProblem } from '../domain/password-policy.js';
import { errors } from '../errors.js';
import type { Clock } from '../lib/clock.js';
import type { Db, Queryable } from '../store/db.js';
import { deleteDevices } from '../store/devices.js';
import { unbindAllThreepids } from '../store/user-threepids.js';
import { markDeactivated, setPasswordHash } from '../store/users.js';
import type { UiaBody, UiaComplete, UiaEngine } from '../uia/engine.js';
import { authenticateNewPassword } from '../uia/new-password.js';
import type { Requester } from './authentication.js';

export interface PasswordChange {
  userId: string;
  /** argon2id hash of the new password (the plaintext never reaches the database). */
  newPasswordHash: string;
  /** Delete every other device and its tokens. */
  logoutDevices: boolean;
  /** The device making the request, kept when logging out the others (none for a reset). */
  keepDeviceId?: string;
}

/**
 * Sets the new password and, when asked, removes every other device with its tokens, inside the
 * caller's transaction. Throws M_FORBIDDEN when the account is deactivated (a deactivation that
 * committed first wins).
 */
export async function changePassword(q: Queryable, c: PasswordChange): Promise<void> {
  if (!(await setPasswordHash(q, c.userId, c.newPasswordHash))) throw errors.forbidden('This account is deactivated.');
  if (c.logoutDevices) await deleteDevices(q, c.userId, c.keepDeviceId);
}

/**
 * Deactivates the account inside the caller's transaction: marks it (the users row stays, so
 * the user ID can never be registered again), records `erase`, drops the password hash, and
 * deletes every device (cascading to every access and refresh token), and unbinds the account's
 * third-party identifiers (so the addresses can serve another account; none are bound at
 * identity servers).
 */
export async function deactivateAccount(q: Queryable, a: { userId: string; erase: boolean; now: number }): Promise<void> {
  if (!(await markDeactivated(q, a.userId, a))) throw errors.forbidden('This account is already deactivated.');
  await deleteDevices(q, a.userId);
  await unbindAllThreepids(q, a.userId);
}

export type UiaResult<T> = { status: 200; body: T } | { status: 401; body: UiaBody };

export interface ChangePasswordInput {
  operation: string;
  requester: Requester;
  ip: string;
  auth?: Record<string, unknown>;
  newPassword?: string;
  logoutDevices?: boolean;
}

export interface DeactivateInput {
  operation: string;
  requester: Requester;
  ip: string;
  auth?: Record<string, unknown>;
  erase?: boolean;
}

export interface AccountService {
  changePasswordWithUia(input: ChangePasswordInput): Promise<UiaResult<Record<string, never>>>;
  deactivateWithUia(input: DeactivateInput): Promise<UiaResult<{ id_server_unbind_result: 'success' | 'no-support' }>>;
}

export interface AccountDeps {
  config: Pick<Config, 'password'>;
  db: Db;
  clock: Clock;
  uia: UiaEngine;
}

/** The flows of both operations: the user's own password. */
export const ACCOUNT_FLOWS: Flow[] = [[STAGE.password]];

export function createAccountService(deps: AccountDeps): AccountService {
  const { config, db, clock, uia } = deps;
  const flows = ACCOUNT_FLOWS;

  /** Spends the session and performs the operation in one transaction. */
  async function perform<T>(done: UiaComplete, result: Record<string, unknown>, op: (q: Queryable) => Promise<T>): Promise<T> {
    return db.tx(async (q) => {
      if (!(await uia.spend(q, done, result))) throw errors.sessionSpent();
      return op(q);
    });
  }

  return {
    async changePasswordWithUia(input) {
      if (input.requester.isGuest) throw errors.guestAccessForbidden();
      if (input.newPassword !== undefined) {
        const problem = passwordProblem(input.newPassword, config.password);
        if (problem) throw errors.weakPassword(problem);
      }
      // The session belongs to this user; logout_devices, once sent, cannot change either.
      const binding: Record<string, string | boolean> = { user_id: input.requester.userId };
      if (input.logoutDevices !== undefined) binding.logout_devices = input.logoutDevices;
      // new_password goes in the first request of the exchange (and optionally in every one).
      const request = { operation: input.operation, flows, auth: input.auth, binding, ip: input.ip };
      const outcome = await authenticateNewPassword(uia, request, input.newPassword);
      if (outcome.status === 'auth_required') return { status: 401, body: outcome.body };
      const { newPasswordHash, logoutDevices } = outcome;
      await perform(outcome, { user_id: input.requester.userId, password_changed: true, logout_devices: logoutDevices }, (q) =>
        changePassword(q, {
          userId: input.requester.userId,
          newPasswordHash,
          logoutDevices,
          keepDeviceId: input.requester.deviceId,
        }),
      );
      return { status: 200, body: {} };
    },

    async deactivateWithUia(input) {
      if (input.requester.isGuest) throw errors.guestAccessForbidden();
      const binding: Record<string, string | boolean> = { user_id: input.requester.userId };
      if (input.erase !== undefined) binding.erase = input.erase;
      const request = { operation: input.operation, flows, auth: input.auth, binding, ip: input.ip };
      const session = await uia.open(request);
      const outcome = await uia.authenticate(session, request);
      if (outcome.status === 'auth_required') return { status: 401, body: outcome.body };
      const erase = outcome.session.binding.erase === true;
      await perform(outcome, { user_id: input.requester.userId, deactivated: true, erase }, (q) =>
        deactivateAccount(q, { userId: input.requester.userId, erase, now: clock.now() }),
      );
      return { status: 200, body: { id_server_unbind_result: 'no-support' } };
    },
  };
}
