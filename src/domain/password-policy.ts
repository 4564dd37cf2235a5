// The password policy: a pure function of the password and the configured rules.
import { passwordStrengthProblem } from './password-strength.js';

export interface PasswordPolicy {
  minLength: number;
  maxLength: number;
  requireDigit: boolean;
  requireSymbol: boolean;
  requireLowercase: boolean;
  requireUppercase: boolean;
  /** Minimum zxcvbn score (0-4) by estimated guessability; 0 or absent turns the check off. */
  minStrength?: number;
}

/**
 * Returns undefined when the password is acceptable, else why not (for M_WEAK_PASSWORD).
 * userInputs are words the estimator treats as guessable (the username, the server name).
 */
export function passwordProblem(password: string, p: PasswordPolicy, userInputs: readonly string[] = []): string | undefined {
  // Length in code points, so an emoji counts as one character as a person would count it.
  const length = [...password].length;
  if (length < p.minLength) return `Password must be at least ${p.minLength} characters long.`;
  if (length > p.maxLength) return `Password must be at most ${p.maxLength} characters long.`;
  if (p.requireDigit && !/\p{Nd}/u.test(password)) return 'Password must contain a digit.';
  if (p.requireLowercase && !/\p{Ll}/u.test(password)) return 'Password must contain a lower-case letter.';
  if (p.requireUppercase && !/\p{Lu}/u.test(password)) return 'Password must contain an upper-case letter.';
  if (p.requireSymbol && !/[^\p{L}\p{N}]/u.test(password)) return 'Password must contain a symbol.';
  return passwordStrengthProblem(password, p.minStrength ?? 0, userInputs);
}
