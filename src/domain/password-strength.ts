// Password strength by estimated guessability (zxcvbn, @zxcvbn-ts), on top of the character-class
// policy in password-policy.ts. A pure function of the password, the minimum score and the words
// the user supplied (their username, the server name), which the estimator treats as guessable.
import { createRequire } from 'node:module';
import type { ZxcvbnFactory } from '@zxcvbn-ts/core';

// The estimator's dictionaries are loaded at its first use, not at start: they are ~10 MB of heap
// (measured: @zxcvbn-ts/language-en 8.2 MB, language-common 2.2 MB heapUsed after import), wanted
// only when PASSWORD_MIN_STRENGTH is set. The packages are CommonJS, so require() loads them
// synchronously and the functions below stay synchronous.
const require = createRequire(import.meta.url);

/** Only the first characters are estimated: the cost grows with length, and a long password that
* is weak in its first 64 characters is weak. */
export const STRENGTH_MAX_LENGTH = 64;
/** Bounds the l33t matcher (default 100): hostile symbol-heavy passwords cost the event loop otherwise. */
export const L33T_MAX_SUBSTITUTIONS = 8;

let factory: ZxcvbnFactory | undefined;
function estimator(): ZxcvbnFactory {
  if (factory) return factory;
  const core = require('@zxcvbn-ts/core') as typeof import('@zxcvbn-ts/core');
  const common = require('@zxcvbn-ts/language-common') as typeof import('@zxcvbn-ts/language-common');
  const en = require('@zxcvbn-ts/language-en') as typeof import('@zxcvbn-ts/language-en');
  factory = new core.ZxcvbnFactory({
    translations: en.translations,
    graphs: common.adjacencyGraphs,
    dictionary: { ...common.dictionary, ...en.dictionary },
    maxLength: STRENGTH_MAX_LENGTH,
    // The l33t matcher's work grows combinatorially with substitutable characters (@, !, 1, 3…);
    // a password with this many is not a dictionary word in disguise anyway.
    l33tMaxSubstitutions: L33T_MAX_SUBSTITUTIONS,
  });
  return factory;
}

export interface StrengthResult {
  /** 0 (too guessable) to 4 (very unguessable). */
  score: number;
  /** The estimator's warning and suggestions, as one sentence list. */
  feedback: string;
}

export function estimateStrength(password: string, userInputs: readonly string[] = []): StrengthResult {
  const r = estimator().check(password.slice(0, STRENGTH_MAX_LENGTH), [...userInputs]);
  const parts = [r.feedback.warning, ...r.feedback.suggestions].filter((s): s is string => !!s && s.length > 0);
  return { score: r.score, feedback: parts.join(' ') };
}

/**
 * Undefined when the password is guessable no more easily than minScore allows (0 turns the check
 * off), else the M_WEAK_PASSWORD message with the estimator's feedback.
 */
export function passwordStrengthProblem(password: string, minScore: number, userInputs: readonly string[] = []): string | undefined {
  if (minScore <= 0) return undefined;
  const { score, feedback } = estimateStrength(password, userInputs);
  if (score >= minScore) return undefined;
  return `Password is too easy to guess (strength ${score} of 4; at least ${minScore} required).${feedback ? ` ${feedback}` : ''}`;
}
