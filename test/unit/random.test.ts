import { describe, expect, it } from 'vitest';
import { cryptoRandom } from '../../src/lib/clock.js';

/** How often each character of alphabet appears in `draws` strings of `length`. */
function counts(alphabet: string, length: number, draws: number): Map<string, number> {
  const seen = new Map<string, number>();
  for (let i = 0; i < draws; i++) {
    const s = cryptoRandom.string(length, alphabet);
    expect(s).toHaveLength(length);
    for (const c of s) seen.set(c, (seen.get(c) ?? 0) + 1);
  }
  return seen;
}

describe('cryptoRandom.string', () => {
  it('gives strings of the asked length, drawn only from the alphabet', () => {
    for (const length of [0, 1, 16, 255, 1000]) {
      const s = cryptoRandom.string(length, 'abc');
      expect(s).toMatch(new RegExp(`^[abc]{${length}}$`));
    }
    expect(cryptoRandom.string(32, 'x')).toBe('x'.repeat(32));
  });

  // A chi-square bound that a fair draw exceeds about once in a million runs; a draw biased by
  // `byte % n` (no rejection) exceeds it every time for these alphabets.
  it.each([
    ['36 characters (request and generated ids)', 'abcdefghijklmnopqrstuvwxyz0123456789'],
    ['200 characters: byte % 200 would make the first 56 twice as likely', Array.from({ length: 200 }, (_, i) => String.fromCharCode(0x100 + i)).join('')],
    ['all 256 byte values', Array.from({ length: 256 }, (_, i) => String.fromCharCode(0x100 + i)).join('')],
  ])('is uniform over %s', (_name, alphabet) => {
    const perCharacter = 2000;
    const seen = counts(alphabet, 100, (alphabet.length * perCharacter) / 100);
    expect(seen.size).toBe(alphabet.length);
    const chiSquare = [...seen.values()].reduce((sum, c) => sum + (c - perCharacter) ** 2 / perCharacter, 0);
    // Chi-square with k-1 degrees of freedom has mean k-1 and variance 2(k-1): mean + 5 sd.
    const k = alphabet.length - 1;
    expect(chiSquare).toBeLessThan(k + 5 * Math.sqrt(2 * k));
  });

  it('refuses an empty alphabet or one longer than a byte can index', () => {
    expect(() => cryptoRandom.string(4, '')).toThrow(RangeError);
    expect(() => cryptoRandom.string(4, 'a'.repeat(257))).toThrow(RangeError);
  });
});
