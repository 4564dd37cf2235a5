// The password policy: a pure function of the password and the configured rules.

export interface PasswordPolicy {
  minLength: number;
  maxLength: number;
  requireDigit: boolean;
  requireSymbol: boolean;
  requireLowercase: boolean;
  requireUppercase: boolean;
}

/** Returns undefined when the password is acceptable, else why not (for M_WEAK_PASSWORD). */
export function passwordProblem(password: string, p: PasswordPolicy): string | undefined {
  // Length in code points, so an emoji counts as one character as a person would count it.
  const length = [...password].length;
  if (length < p.minLength) return `Password must be at least ${p.minLength} characters long.`;
  if (length > p.maxLength) return `Password must be at most ${p.maxLength} characters long.`;
  if (p.requireDigit && !/\p{Nd}/u.test(password)) return 'Password must contain a digit.';
  if (p.requireLowercase && !/\p{Ll}/u.test(password)) return 'Password must contain a lower-case letter.';
  if (p.requireUppercase && !/\p{Lu}/u.test(password)) return 'Password must contain an upper-case letter.';
  if (p.requireSymbol && !/[^\p{L}\p{N}]/u.test(password)) return 'Password must contain a symbol.';
  return undefined;
}
