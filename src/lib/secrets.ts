// Hashing and comparison of secrets.
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import argon2 from 'argon2';
import type { Random } from './clock.js';

export interface Argon2Params {
  memoryKiB: number;
  iterations: number;
  parallelism: number;
}

export interface PasswordHasher {
  /** argon2id, computed on libuv's thread pool (off the event loop). */
  hash(password: string): Promise<string>;
  verify(hash: string, password: string): Promise<boolean>;
}

export function createPasswordHasher(p: Argon2Params, onHash?: (ms: number) => void): PasswordHasher {
  const opts = { type: argon2.argon2id as 2, memoryCost: p.memoryKiB, timeCost: p.iterations, parallelism: p.parallelism };
  return {
    async hash(password) {
      const t0 = performance.now();
      // The salt comes from the CSPRNG synchronously (16 bytes, microseconds): argon2's own
      // default draws it asynchronously, a job on the same thread pool that queues behind the
      // hashes under load.
      const h = await argon2.hash(password, { ...opts, salt: randomBytes(16) });
      onHash?.(performance.now() - t0);
      return h;
    },
    async verify(hash, password) {
      try {
        return await argon2.verify(hash, password);
      } catch {
        return false;
      }
    },
  };
}

/** SHA-256 of a high-entropy token: what we store instead of the token. */
export function tokenHash(token: string): Buffer {
  return createHash('sha256').update(token, 'utf8').digest();
}

/** Constant-time string comparison (hashes both sides so lengths do not leak either). */
export function safeEqual(a: string, b: string): boolean {
  const ha = createHash('sha256').update(a, 'utf8').digest();
  const hb = createHash('sha256').update(b, 'utf8').digest();
  return timingSafeEqual(ha, hb);
}

/**
 * A salted, keyed digest of a password used only to tell whether a later UIA round carries the
 * same password as the first. It lives in the UIA session row (bounded lifetime, deleted after
 * use); the password itself is never stored.
 */
export function passwordBindingDigest(password: string, salt: string): string {
  return createHmac('sha256', salt).update(password, 'utf8').digest('base64url');
}

/** A new random token: prefix + 256 bits from the CSPRNG, base64url. */
export function newToken(random: Random, prefix: string): string {
  return `${prefix}${random.bytes(32).toString('base64url')}`;
}
