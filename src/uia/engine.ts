// The user-interactive authentication engine (spec: User-Interactive Authentication API).
// Sessions live in Postgres so any instance can continue one. A session is bound to the
// operation that started it and to the security-relevant parameters first seen in it; "more auth
// needed" is a typed result (the 401 body), never an exception.
import { completedFlow, offeredStages, stageAllowed, type Flow } from '../domain/flows.js';
import { errors, MatrixError } from '../errors.js';
import type { Clock, Random } from '../lib/clock.js';
import { passwordBindingDigest, type PasswordHasher } from '../lib/secrets.js';
import type { Db, Queryable } from '../store/db.js';
import {
  createUiaSession,
  findUiaSession,
  freezeBinding,
  markStageCompleted,
  spendUiaSession,
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

/**
 * A flow is complete. When this request's stage completed it, that stage is in `session.completed`
 * but not yet stored (`unsaved`): `spend` stores it with the spending write, one round trip fewer,
 * and it stays unstored if the operation fails and rolls back.
 */
export interface UiaComplete {
  status: 'complete';
  session: UiaSessionRow;
  flow: Flow;
  unsaved?: { type: string; data: unknown };
}

export type UiaOutcome = UiaComplete | { status: 'auth_required'; body: UiaBody };

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
  /**
   * A password the operation will set (registration, password change or reset). It is bound to
   * the session by a keyed digest stored under `digestField` (the password itself never is), so
   * a later round cannot swap it, and hashed exactly once, when the session first stores it;
   * later rounds compare the cheap digest. `vet` runs just before that one hash (e.g. the
   * guessability estimate) and may throw, leaving nothing bound so the client may try another.
   */
  newPassword?: { value: string; digestField: string; vet?: () => void };
}

export interface UiaEngine {
  /**
   * Loads the request's session, or starts one, and freezes the request's binding and new
   * password in it; refuses foreign, expired and spent sessions and changed bindings. A new
   * session is written once, with its binding and password hash.
   */
  open(req: UiaRequest): Promise<UiaSessionRow>;
  /**
   * Spends a completed session inside the operation's transaction, as its first statement: the
   * one conditional write that lets exactly one request perform the operation. It also stores the
   * stage left unsaved and the operation's result (when known), and drops the password hash and
   * digests. False when another request spent it first or it expired.
   */
  spend(q: Queryable, done: UiaComplete, result?: Record<string, unknown>): Promise<boolean>;
  /**
   * Stores the stage left unsaved when the operation stops short of spending the session but the
   * session goes on (e.g. the flow is complete but a parameter is still missing).
   */
  keep(done: UiaComplete): Promise<void>;
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
  hasher: PasswordHasher;
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
      const np = req.newPassword;
      if (sessionId === undefined) {
        const id = random.string(24, SESSION_ALPHABET);
        const binding: Record<string, string | boolean> = { ...req.binding };
        let passwordHash: string | null = null;
        if (np) {
          np.vet?.();
          binding[np.digestField] = passwordBindingDigest(np.value, id);
          // Off the event loop and before the session's one write, outside any transaction.
          passwordHash = await deps.hasher.hash(np.value);
        }
        const session = await createUiaSession(db, { sessionId: id, operation: req.operation, now, expiresAt: now + deps.sessionLifetimeMs, binding, passwordHash });
        deps.onSessionStarted?.(req.operation);
        return session;
      }
      if (typeof sessionId !== 'string') throw errors.badJson('auth.session must be a string');
      // Only strings that could be a session ID reach the database (no NUL, bounded length).
      const found = SESSION_ID_GRAMMAR.test(sessionId) ? await findUiaSession(db, sessionId) : undefined;
      if (!found || found.expires_at <= now) {
        throw new MatrixError(400, 'M_UNKNOWN', 'Unknown or expired authentication session; start a new one.');
      }
      if (found.operation !== req.operation) throw errors.operationChanged();
      if (found.spent_at !== null) throw errors.sessionSpent();

      const binding: Record<string, string | boolean> = { ...req.binding };
      if (np) binding[np.digestField] = passwordBindingDigest(np.value, found.session_id);
      for (const [key, value] of Object.entries(binding)) {
        if (key in found.binding && found.binding[key] !== value) throw errors.operationChanged();
      }
      const fresh = Object.keys(binding).some((k) => !(k in found.binding));
      const needsHash = np !== undefined && found.password_hash === null;
      if (!fresh && !needsHash) return found;
      let passwordHash: string | null = null;
      if (needsHash) {
        np.vet?.();
        passwordHash = await deps.hasher.hash(np.value);
      }
      const stored = await freezeBinding(db, found.session_id, binding, passwordHash);
      // Another round may have frozen a different value between our read and our write.
      for (const [key, value] of Object.entries(binding)) {
        if (stored.binding[key] !== value) throw errors.operationChanged();
      }
      return stored;
    },

    spend: (q, done, result) => spendUiaSession(q, done.session.session_id, clock.now(), { stage: done.unsaved, result }),

    async keep(done) {
      if (done.unsaved) await storeStage(done.session, done.unsaved);
    },

    async authenticate(session, req) {
      let passed: { type: string; data: unknown } | undefined;
      if (req.auth?.type !== undefined) {
        const checked = await checkStage(session, req.flows, req.auth, req.ip);
        if (!checked.ok) return { status: 'auth_required', body: body(session, req.flows, checked.error) };
        passed = checked.passed;
      }
      const completed = passed ? { ...session.completed, [passed.type]: passed.data } : session.completed;
      const flow = completedFlow(req.flows, new Set(Object.keys(completed)));
      // The stage that completes a flow is stored by the operation's spending write (spend).
      if (flow) return passed ? { status: 'complete', session: { ...session, completed }, flow, unsaved: passed } : { status: 'complete', session, flow };
      if (passed) session = await storeStage(session, passed);
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

  /**
   * Runs the submitted stage's checks (offered, flow order, the stage's own check) without storing
   * anything. `passed` is the newly passed stage and its data; absent when the stage had already
   * been completed (it is not retried).
   */
  async function checkStage(
    session: UiaSessionRow,
    flows: Flow[],
    auth: Record<string, unknown>,
    ip: string,
  ): Promise<{ ok: true; passed?: { type: string; data: unknown } } | { ok: false; error: MatrixError }> {
    const type = auth.type;
    if (typeof type !== 'string') throw errors.badJson('auth.type must be a string');
    switch (stageState(session, flows, type)) {
      case 'not_offered':
        return { ok: false, error: errors.stageForbidden(`Authentication type ${type} is not offered here.`) };
      case 'completed':
        return { ok: true };
      case 'blocked':
        return { ok: false, error: errors.stageForbidden(`Complete the earlier stages of a flow before ${type}.`) };
      case 'allowed': {
        const outcome = await stages.get(type)!.attempt(auth, { session, ip, now: clock.now() });
        if (!outcome.ok) return { ok: false, error: outcome.error };
        return { ok: true, passed: { type, data: outcome.data ?? true } };
      }
    }
  }

  async function attemptStage(
    session: UiaSessionRow,
    flows: Flow[],
    auth: Record<string, unknown>,
    ip: string,
  ): Promise<StageAttempt> {
    const checked = await checkStage(session, flows, auth, ip);
    if (!checked.ok) return checked;
    // A completed stage is not retried: answer with the session's state.
    return { ok: true, session: checked.passed ? await storeStage(session, checked.passed) : session };
  }

  async function storeStage(session: UiaSessionRow, passed: { type: string; data: unknown }): Promise<UiaSessionRow> {
    const updated = await markStageCompleted(db, session.session_id, passed.type, passed.data);
    // A racing request spent the session between our read and this write.
    if (!updated) throw errors.sessionSpent();
    return updated;
  }
}
