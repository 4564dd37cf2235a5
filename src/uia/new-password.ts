// The part of a UIA exchange that carries a new password (POST /account/password, with an access
// token or as a reset): the password may come in the first request or in every one; it is bound
// to the session by a digest, hashed exactly once outside any transaction, and never stored.
import { errors } from '../errors.js';
import type { UiaComplete, UiaEngine, UiaOutcome, UiaRequest } from './engine.js';

export type NewPasswordOutcome =
  | (UiaComplete & { newPasswordHash: string; logoutDevices: boolean })
  | Extract<UiaOutcome, { status: 'auth_required' }>;

/**
 * Opens or continues the session for `request`, binding and hashing `newPassword` when present
 * (see UiaRequest.newPassword), runs the submitted stage, and, when a flow is complete, returns
 * the hash and the frozen logout_devices (default true).
 */
export async function authenticateNewPassword(
  uia: UiaEngine,
  request: UiaRequest,
  newPassword: string | undefined,
): Promise<NewPasswordOutcome> {
  if (newPassword === undefined && request.auth?.session === undefined) throw errors.missingParam('new_password');
  const session = await uia.open({
    ...request,
    ...(newPassword !== undefined ? { newPassword: { value: newPassword, digestField: 'new_password_digest' } } : {}),
  });
  const newPasswordHash = session.password_hash;
  if (newPasswordHash === null) throw errors.missingParam('new_password');
  const outcome = await uia.authenticate(session, request);
  if (outcome.status === 'auth_required') return outcome;
  const logoutDevices = typeof outcome.session.binding.logout_devices === 'boolean' ? outcome.session.binding.logout_devices : true;
  return { ...outcome, newPasswordHash, logoutDevices };
}
