// Time and randomness are injected so tests can fix them.
import { randomBytes, randomFillSync } from 'node:crypto';

export interface Clock {
  now(): number;
}

export const systemClock: Clock = { now: () => Date.now() };

/** A clock tests move by hand. */
export class FixedClock implements Clock {
  constructor(private t = Date.UTC(2026, 0, 1)) {}
  now(): number {
    return this.t;
  }
  advance(ms: number): void {
    this.t += ms;
  }
  set(t: number): void {
    this.t = t;
  }
}

export interface Random {
  /** n cryptographically secure random bytes. */
  bytes(n: number): Buffer;
  /** A uniformly random string of `length` characters drawn from `alphabet` (CSPRNG, no modulo bias). */
  string(length: number, alphabet: string): string;
}

/**
 * Random bytes for strings (request ids run this on every request) come from a pool refilled
 * 4 KiB at a time, each byte used once. Every call into the CSPRNG makes a system call (OpenSSL
 * checks the process id), and system calls are what a request costs most on a VM: drawing 24
 * bytes per request cost ~2.5 µs, 16 randomInt calls ~1 µs, the pool ~0.1 µs (node, loop of
 * 200k on the benchmark machine). Node's randomInt keeps a similar cache of its own.
 */
const pool = Buffer.alloc(4096);
let poolOffset = pool.length;
function pooledByte(): number {
  if (poolOffset === pool.length) {
    randomFillSync(pool);
    poolOffset = 0;
  }
  return pool[poolOffset++]!;
}

export const cryptoRandom: Random = {
  bytes: (n) => randomBytes(n),
  string(length, alphabet) {
    const n = alphabet.length;
    if (n < 1 || n > 256) throw new RangeError('alphabet must have 1 to 256 characters');
    // Rejection sampling: a byte is used only below the largest multiple of n that fits in 256,
    // so every character is equally likely.
    const limit = 256 - (256 % n);
    let out = '';
    for (let have = 0; have < length; ) {
      const b = pooledByte();
      if (b >= limit) continue;
      out += alphabet[b % n];
      have += 1;
    }
    return out;
  },
};
