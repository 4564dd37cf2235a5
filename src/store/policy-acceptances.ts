// Policy documents (m.login.terms) accepted per account.
import type { Queryable } from './db.js';

export async function recordPolicyAcceptances(
  q: Queryable,
  userId: string,
  policies: Readonly<Record<string, string>>,
  now: number,
): Promise<void> {
  const entries = Object.entries(policies);
  if (entries.length === 0) return;
  await q.query(
    `INSERT INTO policy_acceptances (user_id, policy, version, accepted_at)
     SELECT $1, p.policy, p.version, $4 FROM unnest($2::text[], $3::text[]) AS p(policy, version)
     ON CONFLICT (user_id, policy) DO UPDATE SET version = EXCLUDED.version, accepted_at = EXCLUDED.accepted_at`,
    [userId, entries.map(([p]) => p), entries.map(([, v]) => v), now],
  );
}

export async function listPolicyAcceptances(
  q: Queryable,
  userId: string,
): Promise<{ policy: string; version: string; accepted_at: number }[]> {
  const r = await q.query<{ policy: string; version: string; accepted_at: string | number }>(
    'SELECT policy, version, accepted_at FROM policy_acceptances WHERE user_id = $1 ORDER BY policy',
    [userId],
  );
  return r.rows.map((row) => ({ ...row, accepted_at: Number(row.accepted_at) }));
}
