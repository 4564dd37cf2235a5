// m.login.password: the user proves who they are with their password. Used as a UIA stage
// (password change, deactivation) and, through verifyPassword, by POST /login.
//
// Every check costs exactly one argon2id verification, whether or not the user exists, is
// deactivated or has no password: unknown users are verified against a fixed dummy hash computed
// once at start-up, so timing does not tell them apart. Failures spend two budgets kept in
// Postgres (so they hold across instances): one per account and one per client IP; a spent
// budget answers 429 before any hash is computed.
import { STAGE } from '../../domain/flows.js';
import { loginIdentifier } from '../../domain/login-identifier.js';
import { resolveLoginUser } from '../../domain/username.js';
import { errors } from '../../errors.js';
import type { PasswordHasher } from '../../lib/secrets.js';
import type { Db } from '../../store/db.js';
import { peekFailures, recordFailure } from '../../store/failure-counters.js';
import { findUser } from '../../store/users.js';
import type { Stage } from '../stage.js';

export interface PasswordBudgets {
  perAccount: number;
  perIp: number;
  windowMs: number;
}

export interface VerifiedUser {
  userId: string;
  /** The hash the password matched: a later transaction checks it is still the account's. */
  passwordHash: string;
}

export interface PasswordVerifier {
  /**
   * Checks `password` for the user ID `userId` (undefined: the login named no local user).
   * Returns the user on success, undefined on any failure (which is counted); throws 429 when a
   * budget is spent.
   */
  verify(a: { userId: string | undefined; password: string; ip: string; now: number }): Promise<VerifiedUser | undefined>;
}

export const accountFailureKey = (userId: string) => `password:user:${userId}`;
export const ipFailureKey = (ip: string) => `password:ip:${ip}`;

/** The dummy hash: a random password nobody knows, hashed with the service's parameters. */
export async function createDummyHash(hasher: PasswordHasher, randomSecret: string): Promise<string> {
  return hasher.hash(randomSecret);
}

export function createPasswordVerifier(deps: {
  db: Db;
  hasher: PasswordHasher;
  dummyHash: string;
  budgets: PasswordBudgets;
}): PasswordVerifier {
  const { db, hasher, dummyHash, budgets } = deps;
  return {
    async verify({ userId, password, ip, now }) {
      const keys = [ipFailureKey(ip), ...(userId !== undefined ? [accountFailureKey(userId)] : [])];
      const limits = [budgets.perIp, budgets.perAccount];
      for (let i = 0; i < keys.length; i++) {
        const spent = await peekFailures(db, keys[i]!, now);
        if (spent.count >= limits[i]!) throw errors.limitExceeded(spent.windowEnd - now);
      }
      const user = userId !== undefined ? await findUser(db, userId) : undefined;
      const usable = user !== undefined && user.deactivated_at === null && user.password_hash !== null;
      const hash = usable ? user.password_hash! : dummyHash;
      const matches = await hasher.verify(hash, password);
      if (usable && matches) return { userId: user.user_id, passwordHash: hash };
      for (const key of keys) await recordFailure(db, key, now, budgets.windowMs);
      return undefined;
    },
  };
}

/**
 * The UIA stage. The operation binds the requesting user's ID into the session
 * (`binding.user_id`); the stage succeeds only for that user's password. An identifier naming
 * anyone else is refused without checking the password.
 */
export function createPasswordStage(deps: { verifier: PasswordVerifier; serverName: string }): Stage {
  return {
    type: STAGE.password,
    async attempt(auth, { session, ip, now }) {
      const boundUser = session.binding.user_id;
      if (typeof boundUser !== 'string') return { ok: false, error: errors.stageWrongUser() };
      const id = loginIdentifier(auth);
      if (id.kind === 'invalid') throw errors.badJson(`auth.${id.field}: invalid`);
      if (id.kind === 'unsupported') return { ok: false, error: errors.stageWrongUser() };
      // No identifier: the password is checked for the requesting user.
      const named = id.kind === 'user' ? resolveLoginUser(id.user, deps.serverName) : boundUser;
      if (named !== boundUser) return { ok: false, error: errors.stageWrongUser() };
      const password = auth.password;
      if (typeof password !== 'string') throw errors.badJson('auth.password: expected string');
      const verified = await deps.verifier.verify({ userId: boundUser, password, ip, now });
      if (!verified) return { ok: false, error: errors.stageWrongPassword() };
      return { ok: true, data: { user_id: boundUser } };
    },
  };
}
