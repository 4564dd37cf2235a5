// Pure rules for registration tokens (spec: token-authenticated registration; Synapse's admin API).

export interface RegistrationTokenState {
  usesAllowed: number | null;
  pending: number;
  completed: number;
  expiryTime: number | null;
}

/** Valid: not expired, and a use is left counting the uses held by unfinished sessions. */
export function isTokenValid(t: RegistrationTokenState, now: number): boolean {
  if (t.expiryTime !== null && t.expiryTime <= now) return false;
  if (t.usesAllowed !== null && t.pending + t.completed >= t.usesAllowed) return false;
  return true;
}

/** The opaque identifier grammar, at most 64 characters (spec: m.login.registration_token). */
export const TOKEN_GRAMMAR = /^[A-Za-z0-9._~-]{1,64}$/;
export const TOKEN_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._~-';
