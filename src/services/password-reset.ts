// Password reset without an access token (POST /account/password with no token): the client
// proves control of an email address or phone number bound to an account by completing
// m.login.email.identity or m.login.msisdn with a validation session made for the purpose
// "reset" (/account/password/*/requestToken). One transaction then spends the UIA session and
// the validation session, finds the account the identifier is bound to, and sets its new
// password (logging out its devices per logout_devices) through the account service's change.
import type { Config } from '../config.js';
import { resetFlows, type Flow } from '../domain/flows.js';
import { passwordProblem } from '../domain/password-policy.js';
import { errors } from '../errors.js';
import type { Clock } from '../lib/clock.js';
import type { Db, Queryable } from '../store/db.js';
import { recordUiaResult } from '../store/uia-sessions.js';
import { findThreepidOwner } from '../store/user-threepids.js';
import type { UiaBody, UiaEngine } from '../uia/engine.js';
import { authenticateNewPassword } from '../uia/new-password.js';
import type { ThreepidService } from './threepid.js';

export interface ResetInput {
  /** Normalised operation ("POST /account/password"), for UIA session binding. */
  operation: string;
  ip: string;
  auth?: Record<string, unknown>;
  newPassword?: string;
  logoutDevices?: boolean;
}

export type ResetResult = { status: 200; body: Record<string, never> } | { status: 401; body: UiaBody };

/** Sets the account's password hash and logs out its devices, inside the caller's transaction. */
export type ApplyPasswordChange = (q: Queryable, c: { userId: string; newPasswordHash: string; logoutDevices: boolean }) => Promise<void>;

export interface PasswordResetService {
  /** True when email or phone validation is configured, so a reset without a token is possible. */
  readonly available: boolean;
  readonly flows: Flow[];
  reset(input: ResetInput): Promise<ResetResult>;
}

export interface PasswordResetDeps {
  config: Pick<Config, 'password'>;
  db: Db;
  clock: Clock;
  uia: UiaEngine;
  threepids: Pick<ThreepidService, 'media' | 'consumeForOperation'>;
  applyPasswordChange: ApplyPasswordChange;
}

export function createPasswordResetService(deps: PasswordResetDeps): PasswordResetService {
  const { config, db, clock, uia, threepids } = deps;
  const flows = resetFlows(threepids.media);

  return {
    available: flows.length > 0,
    flows,
    async reset(input) {
      if (flows.length === 0) throw errors.missingToken();
      if (input.newPassword !== undefined) {
        const problem = passwordProblem(input.newPassword, config.password);
        if (problem) throw errors.weakPassword(problem);
      }
      const binding: Record<string, string | boolean> = {};
      if (input.logoutDevices !== undefined) binding.logout_devices = input.logoutDevices;
      const request = { operation: input.operation, flows, auth: input.auth, binding, ip: input.ip };
      const outcome = await authenticateNewPassword(uia, request, input.newPassword);
      if (outcome.status === 'auth_required') return { status: 401, body: outcome.body };
      const { session: done, newPasswordHash, logoutDevices } = outcome;

      await db.tx(async (q) => {
        if (!(await uia.spend(q, outcome))) throw errors.sessionSpent();
        const [id] = await threepids.consumeForOperation(q, done.completed, 'reset');
        if (!id) throw errors.forbidden('No validated email address or phone number in this session.');
        const userId = await findThreepidOwner(q, id.medium, id.address);
        if (userId === undefined) throw errors.forbidden('This address no longer belongs to an account.');
        await deps.applyPasswordChange(q, { userId, newPasswordHash, logoutDevices });
        await recordUiaResult(q, done.session_id, { user_id: userId, password_reset: true, medium: id.medium, logout_devices: logoutDevices });
      });
      return { status: 200, body: {} };
    },
  };
}
