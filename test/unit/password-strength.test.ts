import { describe, expect, it } from 'vitest';
import { estimateStrength, passwordStrengthProblem, STRENGTH_MAX_LENGTH } from '../../src/domain/password-strength.js';

describe('password strength (zxcvbn)', () => {
  it('is off at minimum score 0', () => {
    expect(passwordStrengthProblem('password', 0)).toBeUndefined();
  });
  it('refuses guessable passwords with the estimator feedback', () => {
    const problem = passwordStrengthProblem('password1', 3);
    expect(problem).toMatch(/too easy to guess \(strength [0-2] of 4; at least 3 required\)/);
    expect(problem!.length).toBeGreaterThan('Password is too easy to guess (strength 0 of 4; at least 3 required).'.length);
  });
  it('accepts an unguessable passphrase', () => {
    expect(passwordStrengthProblem('correct-horse-battery-staple-zebra-quartz', 4)).toBeUndefined();
  });
  it('treats the user inputs (username, server name) as guessable', () => {
    const pw = 'wolfgangamadeus2026';
    const without = estimateStrength(pw).score;
    const withInputs = estimateStrength(pw, ['wolfgangamadeus2026']).score;
    expect(withInputs).toBeLessThan(without);
    expect(withInputs).toBe(0);
  });
  it('bounds the work on long passwords', () => {
    expect(STRENGTH_MAX_LENGTH).toBe(64);
    expect(estimateStrength('a'.repeat(10_000)).score).toBeLessThanOrEqual(1);
    expect(passwordStrengthProblem('a'.repeat(10_000), 2)).toMatch(/too easy to guess/);
  });
});
