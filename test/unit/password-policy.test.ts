// The password policy: length in code points and each character-class rule on its own.
import { describe, expect, it } from 'vitest';
import { passwordProblem, type PasswordPolicy } from '../../src/domain/password-policy.js';

const base: PasswordPolicy = {
  minLength: 8,
  maxLength: 16,
  requireDigit: false,
  requireSymbol: false,
  requireLowercase: false,
  requireUppercase: false,
};

describe('passwordProblem: length', () => {
  it('accepts exactly minLength and maxLength, refuses one less / one more', () => {
    expect(passwordProblem('a'.repeat(8), base)).toBeUndefined();
    expect(passwordProblem('a'.repeat(16), base)).toBeUndefined();
    expect(passwordProblem('a'.repeat(7), base)).toMatch(/at least 8/);
    expect(passwordProblem('a'.repeat(17), base)).toMatch(/at most 16/);
    expect(passwordProblem('', base)).toMatch(/at least 8/);
  });

  it('counts code points: an astral emoji is one character, not two UTF-16 units', () => {
    const emoji = '😀'; // 2 UTF-16 code units
    expect(emoji.length).toBe(2);
    expect(passwordProblem(emoji.repeat(8), base)).toBeUndefined();
    expect(passwordProblem(emoji.repeat(7), base)).toMatch(/at least/);
    expect(passwordProblem(emoji.repeat(16), base)).toBeUndefined(); // 32 UTF-16 units
    expect(passwordProblem(emoji.repeat(17), base)).toMatch(/at most/);
  });

  it('counts multi-byte BMP characters as one each', () => {
    expect(passwordProblem('ééééééé', base)).toMatch(/at least/);
    expect(passwordProblem('éééééééé', base)).toBeUndefined();
  });
});

describe('passwordProblem: character classes', () => {
  it('digit', () => {
    const p = { ...base, requireDigit: true };
    expect(passwordProblem('abcdefgh', p)).toMatch(/digit/);
    expect(passwordProblem('abcdefg1', p)).toBeUndefined();
    expect(passwordProblem('abcdefg٣', p)).toBeUndefined(); // Arabic-Indic digit is Nd
  });

  it('lower case', () => {
    const p = { ...base, requireLowercase: true };
    expect(passwordProblem('ABCDEFG1', p)).toMatch(/lower-case/);
    expect(passwordProblem('ABCDEFGh', p)).toBeUndefined();
    expect(passwordProblem('ABCDEFGé', p)).toBeUndefined();
  });

  it('upper case', () => {
    const p = { ...base, requireUppercase: true };
    expect(passwordProblem('abcdefg1', p)).toMatch(/upper-case/);
    expect(passwordProblem('abcdefgH', p)).toBeUndefined();
    expect(passwordProblem('abcdefgÉ', p)).toBeUndefined();
  });

  it('symbol: anything that is neither a letter nor a number', () => {
    const p = { ...base, requireSymbol: true };
    expect(passwordProblem('abcdEFG1', p)).toMatch(/symbol/);
    expect(passwordProblem('abcdéFG٣', p)).toMatch(/symbol/);
    for (const s of ['!', ' ', '_', '-', '€', '😀', '.']) expect(passwordProblem(`abcdefg${s}`, p)).toBeUndefined();
  });

  it('rules off accept a password of one class only', () => {
    expect(passwordProblem('aaaaaaaa', base)).toBeUndefined();
    expect(passwordProblem('11111111', base)).toBeUndefined();
    expect(passwordProblem('!!!!!!!!', base)).toBeUndefined();
  });

  it('all rules on: a password meeting every class passes, each missing class is named', () => {
    const p = { ...base, requireDigit: true, requireLowercase: true, requireUppercase: true, requireSymbol: true };
    expect(passwordProblem('Abcdef1!', p)).toBeUndefined();
    expect(passwordProblem('Abcdefg!', p)).toMatch(/digit/);
    expect(passwordProblem('ABCDEF1!', p)).toMatch(/lower-case/);
    expect(passwordProblem('abcdef1!', p)).toMatch(/upper-case/);
    expect(passwordProblem('Abcdef12', p)).toMatch(/symbol/);
  });

  it('length is checked before classes', () => {
    const p = { ...base, requireDigit: true };
    expect(passwordProblem('abc', p)).toMatch(/at least/);
  });
});
