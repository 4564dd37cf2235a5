// Shared-secret registration, compatible with Synapse's /_synapse/admin/v1/register (and so with
// register_new_matrix_user and tools built for it). GET hands out a nonce; POST carries the nonce,
// the account fields and an HMAC-SHA1 over them keyed by REGISTRATION_SHARED_SECRET. Nonces are
// stored in PostgreSQL (any instance accepts a nonce from any other), single-use and short-lived.
// The MAC is checked in constant time before any password is hashed.
import { createHmac } from 'node:crypto';
import { errors, MatrixError } from '../errors.js';
import type { Clock, Random } from '../lib/clock.js';
import { safeEqual } from '../lib/secrets.js';
import type { Db } from '../store/db.js';
import { consumeNonce, insertNonce } from '../store/shared-secret-nonces.js';
import type { RegisterResponse, RegistrationService } from './registration.js';

/** Synapse's UserTypes.ALL_USER_TYPES. */
export const USER_TYPES = ['support', 'bot'] as const;

export interface SharedSecretRegistration {
  newNonce(): Promise<string>;
  register(body: Record<string, unknown>): Promise<RegisterResponse>;
}

/** The MAC Synapse expects: HMAC-SHA1, hex, over nonce\0username\0password\0admin|notadmin[\0user_type]. */
export function sharedSecretMac(
  secret: string,
  f: { nonce: string; username: string; password: string; admin: boolean; userType?: string },
): string {
  const mac = createHmac('sha1', Buffer.from(secret, 'utf8'));
  mac.update(f.nonce, 'utf8');
  mac.update('\x00');
  mac.update(f.username, 'utf8');
  mac.update('\x00');
  mac.update(f.password, 'utf8');
  mac.update('\x00');
  mac.update(f.admin ? 'admin' : 'notadmin');
  if (f.userType) {
    mac.update('\x00');
    mac.update(f.userType, 'utf8');
  }
  return mac.digest('hex');
}

const NONCE_ALPHABET = 'abcdefghijklmnopqrstuvwxyz0123456789';

export function createSharedSecretRegistration(deps: {
  db: Db;
  clock: Clock;
  random: Random;
  secret: string | undefined;
  nonceLifetimeMs: number;
  registration: RegistrationService;
}): SharedSecretRegistration {
  const { db, clock, random, secret, registration } = deps;

  // Synapse's checks, in Synapse's order, with its messages.
  const text = (body: Record<string, unknown>, name: 'username' | 'password'): string => {
    if (!(name in body)) throw errors.badJson(`${name} must be specified`);
    const v = body[name];
    if (typeof v !== 'string' || v.length > 512 || v.includes('\x00')) {
      throw new MatrixError(400, 'M_UNKNOWN', `Invalid ${name}`);
    }
    return v;
  };

  return {
    async newNonce() {
      if (secret === undefined) throw errors.sharedSecretDisabled();
      const nonce = random.string(32, NONCE_ALPHABET);
      const now = clock.now();
      await insertNonce(db, { nonce, now, expiresAt: now + deps.nonceLifetimeMs });
      return nonce;
    },

    async register(body) {
      if (secret === undefined) throw errors.sharedSecretDisabled();
      if (!('nonce' in body)) throw errors.badJson('nonce must be specified');
      const nonce = body.nonce;
      // Deleted whatever happens next, so a nonce is never tried twice (as in Synapse).
      if (typeof nonce !== 'string' || nonce.length > 255 || !(await consumeNonce(db, nonce, clock.now()))) {
        throw errors.unrecognisedNonce();
      }
      const username = text(body, 'username');
      const password = text(body, 'password');
      const admin = body.admin ?? false;
      if (typeof admin !== 'boolean') throw errors.badJson('admin must be a boolean');
      const userType = body.user_type ?? undefined;
      if (userType !== undefined && !(USER_TYPES as readonly unknown[]).includes(userType)) {
        throw new MatrixError(400, 'M_UNKNOWN', 'Invalid user type');
      }
      const displayname = body.displayname ?? undefined;
      if (displayname !== undefined && (typeof displayname !== 'string' || displayname.length > 256)) {
        throw errors.badJson('displayname must be a string of at most 256 characters');
      }
      if (!('mac' in body)) throw errors.badJson('mac must be specified');
      const got = body.mac;
      if (typeof got !== 'string') throw errors.hmacIncorrect();
      const want = sharedSecretMac(secret, { nonce, username, password, admin, userType: userType as string | undefined });
      if (!safeEqual(got, want)) throw errors.hmacIncorrect();

      const refresh = body.refresh_token ?? false;
      return registration.registerDirect({
        kind: 'admin',
        username,
        password,
        admin,
        userType: userType as string | undefined,
        displayname: displayname as string | undefined,
        inhibitLogin: body.inhibit_login === true,
        refreshToken: refresh === true,
      });
    },
  };
}
