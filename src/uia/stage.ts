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

export interface Stage {
  readonly type: string;
  /** This stage's entry in the 401 body's `params`, if it has one. */
  params?(): Record<string, unknown>;
  /**
   * Checks one submitted auth dict. May throw a MatrixError that ends the request outright
   * (e.g. 429 when a failure budget is spent).
   */
  attempt(auth: Record<string, unknown>, ctx: StageContext): Promise<StageOutcome>;
}
