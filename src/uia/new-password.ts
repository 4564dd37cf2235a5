// The part of a UIA exchange that carries a new password (POST /account/password, with an access
// token or as a reset): the password may come in the first request or in every one; it is bound
// to the session by a digest, hashed exactly once outside any transaction, and never stored.
import { errors } from '../errors.js';
import { passwordBindingDigest, type PasswordHasher } from '../lib/secrets.js';
import type { UiaSessionRow } from '../store/uia-sessions.js';
import type { UiaEngine, UiaOutcome, UiaRequest } from './engine.js';

export type NewPasswordOutcome =
  | { status: 'complete'; session: UiaSessionRow; newPasswordHash: string; logoutDevices: boolean }
  | Extract<UiaOutcome, { status: 'auth_required' }>;

/**
 * Opens or continues the session for `request`, binds and hashes `newPassword` when present,
 * runs the submitted stage, and, when a flow is complete, returns the hash and the frozen
 * logout_devices (default true).
 */
export async function authenticateNewPassword(
  uia: UiaEngine,
  hasher: PasswordHasher,
  request: UiaRequest,
  newPassword: string | undefined,
): Promise<NewPasswordOutcome> {
  if (newPassword === undefined && request.auth?.session === undefined) throw errors.missingParam('new_password');
  let session = await uia.open(request);
  if (newPassword !== undefined) {
    const digest = passwordBindingDigest(newPassword, session.session_id);
    session = await uia.freeze(session, { ...request.binding, new_password_digest: digest }, null);
    // The one hash of the new password; later rounds compare digests.
    if (session.password_hash === null) session = await uia.freeze(session, {}, await hasher.hash(newPassword));
  } else {
    if (session.password_hash === null) throw errors.missingParam('new_password');
    session = await uia.freeze(session, request.binding, null);
  }
  const outcome = await uia.authenticate(session, request);
  if (outcome.status === 'auth_required') return outcome;
  const done = outcome.session;
  if (done.password_hash === null) throw errors.missingParam('new_password');
  const logoutDevices = typeof done.binding.logout_devices === 'boolean' ? done.binding.logout_devices : true;
  return { status: 'complete', session: done, newPasswordHash: done.password_hash, logoutDevices };
}
