// isTokenValid at every boundary of expiry and uses, and the token grammar.
import { describe, expect, it } from 'vitest';
import { isTokenValid, TOKEN_ALPHABET, TOKEN_GRAMMAR } from '../../src/domain/registration-token.js';

const NOW = 1_700_000_000_000;
const t = (o: Partial<Parameters<typeof isTokenValid>[0]>) => ({
  usesAllowed: null,
  pending: 0,
  completed: 0,
  expiryTime: null,
  ...o,
});

describe('isTokenValid: expiry', () => {
  it('null expiry never expires', () => {
    expect(isTokenValid(t({}), NOW)).toBe(true);
    expect(isTokenValid(t({}), Number.MAX_SAFE_INTEGER)).toBe(true);
  });
  it('valid until the millisecond before expiry_time, invalid at and after it', () => {
    expect(isTokenValid(t({ expiryTime: NOW + 1 }), NOW)).toBe(true);
    expect(isTokenValid(t({ expiryTime: NOW }), NOW)).toBe(false);
    expect(isTokenValid(t({ expiryTime: NOW - 1 }), NOW)).toBe(false);
  });
});

describe('isTokenValid: uses', () => {
  it('uses_allowed null is unlimited whatever the counters', () => {
    expect(isTokenValid(t({ pending: 1000, completed: 1_000_000 }), NOW)).toBe(true);
  });
  it('uses_allowed 0 admits nobody', () => {
    expect(isTokenValid(t({ usesAllowed: 0 }), NOW)).toBe(false);
  });
  it.each([
    // [usesAllowed, pending, completed, valid]
    [1, 0, 0, true],
    [1, 1, 0, false],
    [1, 0, 1, false],
    [2, 1, 0, true],
    [2, 0, 1, true],
    [2, 1, 1, false],
    [2, 2, 0, false],
    [2, 0, 2, false],
    [3, 1, 1, true],
    [3, 2, 1, false],
    [1, 0, 5, false], // uses_allowed lowered below completed
  ])('uses_allowed=%i pending=%i completed=%i → %s', (usesAllowed, pending, completed, valid) => {
    expect(isTokenValid(t({ usesAllowed, pending, completed }), NOW)).toBe(valid);
  });
  it('pending holds count like completed uses', () => {
    expect(isTokenValid(t({ usesAllowed: 5, pending: 4 }), NOW)).toBe(true);
    expect(isTokenValid(t({ usesAllowed: 5, pending: 5 }), NOW)).toBe(false);
  });
});

describe('isTokenValid: both rules', () => {
  it('expired with uses left is invalid; in time but used up is invalid', () => {
    expect(isTokenValid(t({ usesAllowed: 10, expiryTime: NOW }), NOW)).toBe(false);
    expect(isTokenValid(t({ usesAllowed: 1, completed: 1, expiryTime: NOW + 1000 }), NOW)).toBe(false);
    expect(isTokenValid(t({ usesAllowed: 1, expiryTime: NOW + 1000 }), NOW)).toBe(true);
  });
});

describe('TOKEN_GRAMMAR', () => {
  it.each(['a', 'A', '0', '.', '_', '~', '-', 'fBVFdqVE', 'a.b_c~d-e', 'x'.repeat(64), TOKEN_ALPHABET.slice(0, 64)])(
    'accepts %j',
    (s) => expect(TOKEN_GRAMMAR.test(s)).toBe(true),
  );
  it.each(['', 'x'.repeat(65), 'a b', 'a/b', 'a+b', 'a=b', 'a:b', 'a%20', 'é', 'a\n', 'a\nb', '😀', 'a!'])(
    'refuses %j',
    (s) => expect(TOKEN_GRAMMAR.test(s)).toBe(false),
  );
  it('TOKEN_ALPHABET is exactly the grammar\'s 66 characters, no duplicates', () => {
    expect(TOKEN_ALPHABET.length).toBe(66);
    expect(new Set(TOKEN_ALPHABET).size).toBe(66);
    for (const c of TOKEN_ALPHABET) expect(TOKEN_GRAMMAR.test(c)).toBe(true);
    for (let code = 0; code < 128; code++) {
      const c = String.fromCharCode(code);
      expect(TOKEN_GRAMMAR.test(c)).toBe(TOKEN_ALPHABET.includes(c));
    }
  });
});
