// Pure rules of third-party identifiers (appendices: 3PID types; the requestToken endpoints):
// the client_secret and sid grammar, email canonicalisation as Synapse does it, next_link
// vetting, operator allow-patterns, what a validation session may still do, and the outbox's
// retry schedule.

/** client_secret and sid: `[0-9a-zA-Z.=_-]`, 1 to 255 characters (anchored). */
export const CLIENT_SECRET_GRAMMAR = /^[0-9a-zA-Z.=_-]{1,255}$/;

export type Medium = 'email' | 'msisdn';
export type ThreepidPurpose = 'registration' | 'reset';

/**
 * Synapse's canonicalise_email: surrounding white space removed, exactly one "@", the local part
 * case-folded and the domain lower-cased. Returns undefined for anything that is not a plausible
 * address (no identity server checks it for us, so we refuse what cannot be delivered).
 */
export function canonicaliseEmail(raw: string): string | undefined {
  const address = raw.trim();
  if (address.length === 0 || address.length > 254) return undefined;
  const parts = address.split('@');
  if (parts.length !== 2) return undefined;
  const [local, domain] = parts as [string, string];
  if (local.length === 0 || local.length > 64) return undefined;
  // No white space or control characters anywhere; a dotted domain of letters, digits, hyphens
  // (IDNs arrive as Unicode letters, which we accept).
  if (/[\s\u0000-\u001f\u007f<>(),;:"\\[\]]/u.test(local)) return undefined;
  if (!/^(?:[\p{L}\p{N}](?:[\p{L}\p{N}-]{0,61}[\p{L}\p{N}])?\.)+[\p{L}\p{N}-]{2,63}$/u.test(domain)) return undefined;
  return `${local.toLowerCase()}@${domain.toLowerCase()}`;
}

/**
 * A next_link is accepted only if it is an absolute http(s) URL whose host is on the operator's
 * allow-list (case-insensitive; no credentials in the URL). Anything else would make the
 * validation page an open redirect.
 */
export function nextLinkAllowed(link: string, allowedHosts: readonly string[]): boolean {
  let url: URL;
  try {
    url = new URL(link);
  } catch {
    return false;
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return false;
  if (url.username !== '' || url.password !== '') return false;
  const host = url.hostname.toLowerCase();
  return allowedHosts.some((h) => h.toLowerCase() === host);
}

/** Compiles operator patterns, each anchored to the whole address. */
export function compilePatterns(patterns: readonly string[]): RegExp[] {
  return patterns.map((p) => new RegExp(`^(?:${p})$`, 'u'));
}

/** With no patterns every address is allowed; otherwise the address must match one in full. */
export function threepidAllowed(address: string, patterns: readonly RegExp[]): boolean {
  return patterns.length === 0 || patterns.some((p) => p.test(address));
}

export interface ValidationState {
  purpose: ThreepidPurpose;
  token_hash: Buffer | null;
  token_expires_at: number;
  expires_at: number;
  validated_at: number | null;
  consumed_at: number | null;
  failed_attempts: number;
}

export type SubmitVerdict = 'ok' | 'already_validated' | 'expired' | 'locked' | 'no_token';

/** Whether a token may be submitted to this session now (before comparing the token itself). */
export function submitVerdict(s: ValidationState, now: number, maxAttempts: number): SubmitVerdict {
  if (s.expires_at <= now || s.consumed_at !== null) return 'expired';
  if (s.validated_at !== null) return 'already_validated';
  if (s.failed_attempts >= maxAttempts) return 'locked';
  if (s.token_hash === null) return 'no_token';
  if (s.token_expires_at <= now) return 'expired';
  return 'ok';
}

/** Whether a validated session can complete a UIA stage for an operation of this purpose. */
export function usableForStage(s: ValidationState, purpose: ThreepidPurpose, now: number): boolean {
  return s.purpose === purpose && s.validated_at !== null && s.consumed_at === null && s.expires_at > now;
}

/**
 * Delay before the next delivery attempt after `attempts` failed ones: exponential from `baseMs`,
 * capped at `maxMs`. attempts >= 1.
 */
export function retryDelay(attempts: number, baseMs: number, maxMs: number): number {
  const exp = Math.min(attempts - 1, 30);
  return Math.min(maxMs, baseMs * 2 ** exp);
}

/** The UIA purpose of an operation (normalised, e.g. "POST /register"), if it has one. */
export function purposeOfOperation(operation: string): ThreepidPurpose | undefined {
  if (operation === 'POST /register') return 'registration';
  if (operation === 'POST /account/password') return 'reset';
  return undefined;
}
