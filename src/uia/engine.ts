// The user-interactive authentication engine (spec: User-Interactive Authentication API).
// Sessions live in Postgres so any instance can continue one. A session is bound to the
// operation that started it and to the security-relevant parameters first seen in it; "more auth
// needed" is a typed result (the 401 body), never an exception.
import { completedFlow, offeredStages, stageAllowed, type Flow } from '../domain/flows.js';
import { errors, MatrixError } from '../errors.js';
import type { Clock, Random } from '../lib/clock.js';
import type { Db } from '../store/db.js';
import {
  createUiaSession,
  findUiaSession,
  freezeBinding,
  markStageCompleted,
  type UiaSessionRow,
} from '../store/uia-sessions.js';
import type { Stage } from './stage.js';

export interface UiaBody {
  flows: { stages: string[] }[];
  params: Record<string, Record<string, unknown>>;
  session: string;
  completed?: string[];
  errcode?: string;
  error?: string;
}

export type UiaOutcome =
  | { status: 'complete'; session: UiaSessionRow; flow: Flow }
  | { status: 'auth_required'; body: UiaBody };

export interface UiaRequest {
  /** Normalised operation, e.g. "POST /register": the same whatever the r0/v3 prefix or query. */
  operation: string;
  flows: Flow[];
  /** The request's `auth` dict, if any (already checked to be an object). */
  auth: Record<string, unknown> | undefined;
  /**
   * Security-relevant parameters of this request. Each is frozen in the session when first
   * seen; a later request carrying a different value is refused.
   */
  binding: Record<string, string | boolean>;
  ip: string;
}

export interface UiaEngine {
  /** Loads the request's session, or starts one; refuses foreign, expired and spent sessions. */
  open(req: UiaRequest): Promise<UiaSessionRow>;
  /** Stores what the operation computed once for the session (e.g. the password hash). */
  freeze(session: UiaSessionRow, binding: Record<string, string | boolean>, passwordHash: string | null): Promise<UiaSessionRow>;
  /** The 401 body for the session's current state, optionally carrying an error. */
  challenge(session: UiaSessionRow, flows: Flow[], error?: MatrixError): UiaBody;
  /** Runs the submitted stage, if any, and says whether a flow is now complete. */
  authenticate(session: UiaSessionRow, req: UiaRequest): Promise<UiaOutcome>;
  /** A session that may still be continued (known, not expired, not spent), for the fallback pages. */
  load(sessionId: string): Promise<SessionLookup>;
  /** Where one stage stands in a session: whether it is offered, allowed now, or already done. */
  stageState(session: UiaSessionRow, flows: Flow[], type: string): StageState;
  /**
   * Runs one stage in a session (the fallback page's submission): the same checks as a stage in
   * `authenticate` (offered, flow order, the stage's own check), then records it as completed.
   */
  attemptStage(session: UiaSessionRow, flows: Flow[], auth: Record<string, unknown>, ip: string): Promise<StageAttempt>;
  /** The stage module for a type, if this service implements it. */
  stage(type: string): Stage | undefined;
}

export type SessionLookup =
  | { status: 'live'; session: UiaSessionRow }
  | { status: 'unknown' }
  | { status: 'spent' };

export type StageState = 'not_offered' | 'completed' | 'blocked' | 'allowed';

export type StageAttempt =
  | { ok: true; session: UiaSessionRow }
  | { ok: false; error: MatrixError };

export interface UiaEngineDeps {
  db: Db;
  clock: Clock;
  random: Random;
  stages: readonly Stage[];
  sessionLifetimeMs: number;
  /** Called once per new session (metrics). */
  onSessionStarted?: (operation: string) => void;
}

const SESSION_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
const SESSION_ID_GRAMMAR = /^[A-Za-z]{1,255}$/;

export function createUiaEngine(deps: UiaEngineDeps): UiaEngine {
  const { db, clock, random } = deps;
  const stages = new Map(deps.stages.map((s) => [s.type, s]));

  function body(session: UiaSessionRow, flows: Flow[], error?: MatrixError): UiaBody {
    const params: UiaBody['params'] = {};
    for (const type of offeredStages(flows)) {
      const p = stages.get(type)?.params?.();
      if (p) params[type] = p;
    }
    const completed = Object.keys(session.completed);
    return {
      ...(error ? { errcode: error.errcode, error: error.message } : {}),
      flows: flows.map((f) => ({ stages: [...f] })),
      params,
      session: session.session_id,
      ...(completed.length > 0 ? { completed } : {}),
    };
  }

  return {
    challenge: body,

    async open(req) {
      const now = clock.now();
      const sessionId = req.auth?.session;
      let session: UiaSessionRow;
      if (sessionId === undefined) {
        session = await createUiaSession(db, {
          sessionId: random.string(24, SESSION_ALPHABET),
          operation: req.operation,
          now,
          expiresAt: now + deps.sessionLifetimeMs,
        });
        deps.onSessionStarted?.(req.operation);
      } else {
        if (typeof sessionId !== 'string') throw errors.badJson('auth.session must be a string');
        // Only strings that could be a session ID reach the database (no NUL, bounded length).
        const found = SESSION_ID_GRAMMAR.test(sessionId) ? await findUiaSession(db, sessionId) : undefined;
        if (!found || found.expires_at <= now) {
          throw new MatrixError(400, 'M_UNKNOWN', 'Unknown or expired authentication session; start a new one.');
        }
        if (found.operation !== req.operation) throw errors.operationChanged();
        if (found.spent_at !== null) throw errors.sessionSpent();
        session = found;
      }
      for (const [key, value] of Object.entries(req.binding)) {
        if (key in session.binding && session.binding[key] !== value) throw errors.operationChanged();
      }
      return session;
    },

    async freeze(session, binding, passwordHash) {
      for (const [key, value] of Object.entries(binding)) {
        if (key in session.binding && session.binding[key] !== value) throw errors.operationChanged();
      }
      const fresh = Object.entries(binding).some(([k]) => !(k in session.binding));
      if (!fresh && (passwordHash === null || session.password_hash !== null)) return session;
      const stored = await freezeBinding(db, session.session_id, binding, passwordHash);
      // Another round may have frozen a different value between our read and our write.
      for (const [key, value] of Object.entries(binding)) {
        if (stored.binding[key] !== value) throw errors.operationChanged();
      }
      return stored;
    },

    async authenticate(session, req) {
      if (req.auth?.type !== undefined) {
        const attempt = await attemptStage(session, req.flows, req.auth, req.ip);
        if (!attempt.ok) return { status: 'auth_required', body: body(session, req.flows, attempt.error) };
        session = attempt.session;
      }
      const flow = completedFlow(req.flows, new Set(Object.keys(session.completed)));
      if (flow) return { status: 'complete', session, flow };
      return { status: 'auth_required', body: body(session, req.flows) };
    },

    async load(sessionId) {
      const found = SESSION_ID_GRAMMAR.test(sessionId) ? await findUiaSession(db, sessionId) : undefined;
      if (!found || found.expires_at <= clock.now()) return { status: 'unknown' };
      if (found.spent_at !== null) return { status: 'spent' };
      return { status: 'live', session: found };
    },

    stageState,
    attemptStage,
    stage: (type) => stages.get(type),
  };

  function stageState(session: UiaSessionRow, flows: Flow[], type: string): StageState {
    if (!stages.has(type) || !offeredStages(flows).has(type)) return 'not_offered';
    const completed = new Set(Object.keys(session.completed));
    if (completed.has(type)) return 'completed';
    return stageAllowed(flows, completed, type) ? 'allowed' : 'blocked';
  }

  async function attemptStage(
    session: UiaSessionRow,
    flows: Flow[],
    auth: Record<string, unknown>,
    ip: string,
  ): Promise<StageAttempt> {
    const type = auth.type;
    if (typeof type !== 'string') throw errors.badJson('auth.type must be a string');
    switch (stageState(session, flows, type)) {
      case 'not_offered':
        return { ok: false, error: errors.stageForbidden(`Authentication type ${type} is not offered here.`) };
      // A completed stage is not retried: answer with the session's state (or the result).
      case 'completed':
        return { ok: true, session };
      case 'blocked':
        return { ok: false, error: errors.stageForbidden(`Complete the earlier stages of a flow before ${type}.`) };
      case 'allowed': {
        const outcome = await stages.get(type)!.attempt(auth, { session, ip, now: clock.now() });
        if (!outcome.ok) return { ok: false, error: outcome.error };
        const updated = await markStageCompleted(db, session.session_id, type, outcome.data ?? true);
        // A racing request spent the session between our read and this write.
        if (!updated) throw errors.sessionSpent();
        return { ok: true, session: updated };
      }
    }
  }
}
