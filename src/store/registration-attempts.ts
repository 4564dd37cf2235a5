// The registration audit log (migration 0603).
import type { Queryable } from './db.js';

export type AttemptOutcome = 'registered' | 'pending_approval' | 'refused';

export interface RegistrationAttempt {
  at: number;
  outcome: AttemptOutcome;
  errcode?: string | null;
  reason?: string | null;
  ip: string;
  userAgent?: string | null;
  kind: 'user' | 'guest';
  username?: string | null;
  userId?: string | null;
  flow?: readonly string[] | null;
  registrationToken?: string | null;
}

export interface RegistrationAttemptRow {
  id: number;
  at: number;
  outcome: AttemptOutcome;
  errcode: string | null;
  reason: string | null;
  ip: string;
  user_agent: string | null;
  kind: 'user' | 'guest';
  username: string | null;
  user_id: string | null;
  flow: string[] | null;
  registration_token: string | null;
}

export async function insertAttempt(q: Queryable, a: RegistrationAttempt): Promise<void> {
  await q.query(
    `INSERT INTO registration_attempts
       (at, outcome, errcode, reason, ip, user_agent, kind, username, user_id, flow, registration_token)
     VALUES ($1::bigint, $2, $3, $4, $5, $6, $7, $8, $9, $10::text[], $11)`,
    [
      a.at, a.outcome, a.errcode ?? null, a.reason ?? null, a.ip, a.userAgent ?? null, a.kind,
      a.username ?? null, a.userId ?? null, a.flow ? [...a.flow] : null, a.registrationToken ?? null,
    ],
  );
}

export interface AttemptFilter {
  /** Newest first; rows with id below this (for paging). */
  before?: number;
  limit: number;
  outcome?: AttemptOutcome;
  ip?: string;
  since?: number;
}

export async function listAttempts(q: Queryable, f: AttemptFilter): Promise<RegistrationAttemptRow[]> {
  const r = await q.query<RegistrationAttemptRow>(
    `SELECT id, at, outcome, errcode, reason, ip, user_agent, kind, username, user_id, flow, registration_token
       FROM registration_attempts
      WHERE ($1::bigint IS NULL OR id < $1::bigint)
        AND ($2::text IS NULL OR outcome = $2::text)
        AND ($3::text IS NULL OR ip = $3::text)
        AND ($4::bigint IS NULL OR at >= $4::bigint)
      ORDER BY id DESC
      LIMIT $5::int`,
    [f.before ?? null, f.outcome ?? null, f.ip ?? null, f.since ?? null, f.limit],
  );
  return r.rows;
}

export async function deleteAttemptsBefore(q: Queryable, before: number): Promise<number> {
  const r = await q.query('DELETE FROM registration_attempts WHERE at < $1::bigint', [before]);
  return r.rowCount ?? 0;
}
