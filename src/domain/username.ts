// Pure rules for user IDs (appendices: user identifiers). Upper-case ASCII is mapped to lower case
// everywhere a username enters (register, available, login), so @Alice and @alice are one user.

const LOCALPART = /^[a-z0-9._=\-/+]+$/;
/** The spec's limit on a whole user ID, "@" + localpart + ":" + server_name, in bytes. */
export const MAX_USER_ID_BYTES = 255;

export type UsernameCheck =
  | { ok: true; localpart: string; userId: string }
  | { ok: false; reason: 'empty' | 'grammar' | 'too_long' | 'reserved' | 'underscore'; message: string };

export interface UsernameRules {
  serverName: string;
  reserved: readonly string[];
  /** Application services may register names starting with "_" (bridges use them). */
  allowLeadingUnderscore?: boolean;
}

export function userIdOf(localpart: string, serverName: string): string {
  return `@${localpart}:${serverName}`;
}

/** Maps A-Z to a-z and nothing else: any other character outside the grammar is refused. */
export function normaliseLocalpart(raw: string): string {
  return raw.replace(/[A-Z]/g, (c) => c.toLowerCase());
}

export function checkUsername(raw: string, rules: UsernameRules): UsernameCheck {
  const localpart = normaliseLocalpart(raw);
  if (localpart.length === 0) return { ok: false, reason: 'empty', message: 'User ID cannot be empty.' };
  if (!LOCALPART.test(localpart)) {
    return {
      ok: false,
      reason: 'grammar',
      message: 'User ID can only contain characters a-z, 0-9, or "=_-./+".',
    };
  }
  // A leading underscore is kept for generated and application-service users, as in Synapse.
  if (localpart.startsWith('_') && !rules.allowLeadingUnderscore) {
    return { ok: false, reason: 'underscore', message: 'User ID may not begin with "_".' };
  }
  const userId = userIdOf(localpart, rules.serverName);
  if (Buffer.byteLength(userId, 'utf8') > MAX_USER_ID_BYTES) {
    return { ok: false, reason: 'too_long', message: `User ID may not be longer than ${MAX_USER_ID_BYTES} bytes.` };
  }
  if (rules.reserved.includes(localpart)) {
    return { ok: false, reason: 'reserved', message: 'This user ID is reserved.' };
  }
  return { ok: true, localpart, userId };
}

/**
 * Resolves what a client typed at login (a localpart or a full user ID of this server, any case)
 * to the user ID registration would have produced, or undefined if it cannot name a local user.
 */
export function resolveLoginUser(input: string, serverName: string): string | undefined {
  let localpart = input;
  if (input.startsWith('@')) {
    const colon = input.indexOf(':');
    if (colon < 0) return undefined;
    if (input.slice(colon + 1).toLowerCase() !== serverName.toLowerCase()) return undefined;
    localpart = input.slice(1, colon);
  }
  localpart = normaliseLocalpart(localpart);
  return LOCALPART.test(localpart) ? userIdOf(localpart, serverName) : undefined;
}
