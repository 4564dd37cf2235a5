// Time and randomness are injected so tests can fix them.
import { randomBytes, randomInt } from 'node:crypto';

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

export const cryptoRandom: Random = {
  bytes: (n) => randomBytes(n),
  string(length, alphabet) {
    let out = '';
    for (let i = 0; i < length; i++) out += alphabet[randomInt(alphabet.length)];
    return out;
  },
};
