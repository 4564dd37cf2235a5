// The web fallback of user-interactive auth (spec: UIA Fallback): a browser page per stage that
// completes the stage in an existing session, for clients that cannot render the stage
// themselves. This service decides what a page shows; http/fallback-page.ts renders it.
// A stage completes through the engine exactly as over the API (offered, flow order, the stage's
// own check), after which the client retries its request with just the session.
import type { Flow } from '../domain/flows.js';
import { MatrixError } from '../errors.js';
import type { Random } from '../lib/clock.js';
import { safeEqual } from '../lib/secrets.js';
import type { Db } from '../store/db.js';
import { ensureFallbackCsrf, type UiaSessionRow } from '../store/uia-sessions.js';
import type { UiaEngine } from '../uia/engine.js';
import { fallbackFieldNames, genericFallback, type FallbackField, type StageFallback } from '../uia/stage.js';

export type FallbackView =
  /** The stage's form. `problem` explains why a submission was not accepted. */
  | {
      kind: 'form';
      status: number;
      type: string;
      sessionId: string;
      page: Pick<StageFallback, 'title' | 'instructions' | 'submitLabel'>;
      fields: FallbackField[];
      csrf: string;
      problem?: string;
    }
  /** The stage is complete in the session: the page tells the client (authDone). */
  | { kind: 'done'; status: 200; type: string }
  | { kind: 'error'; status: number; title: string; message: string };

export interface FallbackService {
  show(type: string, sessionId: string | undefined): Promise<FallbackView>;
  submit(input: { type: string; sessionId: string | undefined; form: ReadonlyMap<string, string>; ip: string }): Promise<FallbackView>;
}

export interface FallbackDeps {
  db: Db;
  random: Random;
  uia: UiaEngine;
  /** The flows of each operation that can be continued in a browser, by normalised operation. */
  flowsByOperation: Readonly<Record<string, Flow[]>>;
}

const CSRF_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
/** The form field that carries the anti-CSRF token. */
export const CSRF_FIELD = 'csrf';

const error = (status: number, title: string, message: string): FallbackView => ({ kind: 'error', status, title, message });

export function createFallbackService(deps: FallbackDeps): FallbackService {
  const { db, random, uia, flowsByOperation } = deps;

  type Located =
    | { ok: true; session: UiaSessionRow; flows: Flow[]; fallback: StageFallback }
    | { ok: false; view: FallbackView };

  /** The session and stage a page is for, or the error page saying why there is none. */
  async function locate(type: string, sessionId: string | undefined): Promise<Located> {
    const stage = uia.stage(type);
    if (!stage) return { ok: false, view: error(404, 'Unknown step', 'This server has no such authentication step.') };
    if (sessionId === undefined || sessionId === '') {
      return { ok: false, view: error(400, 'Missing session', 'The link is incomplete: it names no authentication session. Start again from your app.') };
    }
    const found = await uia.load(sessionId);
    if (found.status === 'unknown') {
      return { ok: false, view: error(404, 'Session not found', 'This authentication session does not exist or has expired. Start again from your app.') };
    }
    if (found.status === 'spent') {
      return { ok: false, view: error(410, 'Already finished', 'This authentication session has already been used. Return to your app.') };
    }
    const flows = flowsByOperation[found.session.operation];
    if (!flows) return { ok: false, view: error(404, 'Not available', 'This request cannot be continued in a browser.') };
    const { session } = found;
    switch (uia.stageState(session, flows, type)) {
      case 'not_offered':
        return { ok: false, view: error(404, 'Step not offered', 'This authentication session does not use this step.') };
      case 'completed':
        return { ok: false, view: { kind: 'done', status: 200, type } };
      case 'blocked':
        return {
          ok: false,
          view: error(409, 'Not yet', 'Complete the earlier steps of this registration first, then open this page again.'),
        };
      case 'allowed':
        return { ok: true, session, flows, fallback: stage.fallback ?? genericFallback(type) };
    }
  }

  async function form(type: string, session: UiaSessionRow, fallback: StageFallback, status: number, problem?: string): Promise<FallbackView> {
    const csrf = await ensureFallbackCsrf(db, session.session_id, random.string(32, CSRF_ALPHABET));
    if (csrf === undefined) return error(404, 'Session not found', 'This authentication session no longer exists. Start again from your app.');
    return {
      kind: 'form',
      status,
      type,
      sessionId: session.session_id,
      page: fallback,
      fields: fallback.fields(),
      csrf,
      ...(problem !== undefined ? { problem } : {}),
    };
  }

  return {
    async show(type, sessionId) {
      const at = await locate(type, sessionId);
      if (!at.ok) return at.view;
      return form(type, at.session, at.fallback, 200);
    },

    async submit({ type, sessionId, form: submitted, ip }) {
      const at = await locate(type, sessionId);
      if (!at.ok) return at.view;
      const { session, flows, fallback } = at;
      const token = submitted.get(CSRF_FIELD);
      if (session.fallback_csrf === null || token === undefined || !safeEqual(token, session.fallback_csrf)) {
        return error(403, 'Form expired', 'This form is out of date or did not come from this site. Reload the page and try again.');
      }
      const fields = fallback.fields();
      const allowed = new Set(fallbackFieldNames(fields));
      const values = new Map([...submitted].filter(([name]) => allowed.has(name)));
      const mapped = fallback.toAuth(values, session);
      if (!mapped.ok) return form(type, session, fallback, 400, mapped.message);
      const attempt = await uia.attemptStage(session, flows, { ...mapped.auth, type, session: session.session_id }, ip);
      if (!attempt.ok) return form(type, session, fallback, 401, attempt.error.message);
      return { kind: 'done', status: 200, type };
    },
  };
}

/** What a thrown MatrixError (429, 503, …) looks like as a page. */
export function errorView(err: MatrixError): FallbackView {
  const title = err.status === 429 ? 'Too many attempts' : err.status >= 500 ? 'Temporarily unavailable' : 'Cannot continue';
  return error(err.status, title, err.message);
}
