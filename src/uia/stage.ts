// What a UIA stage is: one small module per auth type, plugged into the engine.
import type { MatrixError } from '../errors.js';
import type { UiaSessionRow } from '../store/uia-sessions.js';

export interface StageContext {
  session: UiaSessionRow;
  /** The client's address (after TRUST_PROXY), for per-IP failure budgets. */
  ip: string;
  now: number;
}

export type StageOutcome =
  /** data is recorded in the session's `completed` map (e.g. which token was used). */
  | { ok: true; data?: unknown }
  /** A failed attempt: answered as a 401 UIA body carrying this error; the client may retry. */
  | { ok: false; error: MatrixError };

/** One control on a stage's fallback page (spec: Fallback). Rendered, escaped, by http/fallback-page.ts. */
export type FallbackField =
  /** A single-line text input; the submitted value arrives under `name`. */
  | { kind: 'text'; name: string; label: string; autocomplete?: string; hint?: string; maxLength?: number }
  /** A required checkbox, optionally with a link (e.g. to a policy document). */
  | { kind: 'checkbox'; name: string; label: string; link?: { href: string; text: string } }
  /**
   * A captcha provider's widget: its script (the only external resource a page may load) and
   * the element it renders into. The widget puts its answer in a form field of its own naming
   * (g-recaptcha-response, h-captcha-response or cf-turnstile-response).
   */
  | { kind: 'captcha'; siteKey: string; widgetClass: string; scriptUrl: string; sources: readonly string[] };

/** Field names the captcha providers' widgets put their answer in, in the order we look for them. */
export const CAPTCHA_RESPONSE_FIELDS = ['g-recaptcha-response', 'h-captcha-response', 'cf-turnstile-response'] as const;

/** The form field names a fallback page may submit (anything else is ignored). */
export function fallbackFieldNames(fields: readonly FallbackField[]): string[] {
  return fields.flatMap((f) => (f.kind === 'captcha' ? [...CAPTCHA_RESPONSE_FIELDS] : [f.name]));
}

export type FallbackSubmission =
  | { ok: true; auth: Record<string, unknown> }
  /** The form was incomplete: shown on the page again, the stage is not attempted. */
  | { ok: false; message: string };

/**
 * How a stage's fallback page looks and how a submitted form becomes the stage's auth dict. A
 * stage without one gets the generic page: an explanation and a "Continue" button that
 * re-checks the stage with an auth dict of just its type (for stages whose proof lives on the
 * server, e.g. an email address validated out of band and linked to the session).
 */
export interface StageFallback {
  title: string;
  /** One or two sentences telling the person what to do. */
  instructions: string;
  submitLabel: string;
  fields(): FallbackField[];
  /** Maps the submitted form (already limited to known field names) to an auth dict. */
  toAuth(form: ReadonlyMap<string, string>, session: UiaSessionRow): FallbackSubmission;
}

export interface Stage {
  readonly type: string;
  /** This stage's entry in the 401 body's `params`, if it has one. */
  params?(): Record<string, unknown>;
  /**
   * Checks one submitted auth dict. May throw a MatrixError that ends the request outright
   * (e.g. 429 when a failure budget is spent).
   */
  attempt(auth: Record<string, unknown>, ctx: StageContext): Promise<StageOutcome>;
  /** Its web fallback page; absent: the generic "I have done this, continue" page. */
  readonly fallback?: StageFallback;
}

/** The generic fallback of a stage that describes none. */
export function genericFallback(type: string): StageFallback {
  return {
    title: 'Continue registration',
    instructions:
      `Complete the step "${type}" as your app or the message you received tells you ` +
      '(for example, open the link in the email or enter the code you were sent), then press Continue.',
    submitLabel: 'I have done this, continue',
    fields: () => [],
    toAuth: () => ({ ok: true, auth: { type } }),
  };
}
