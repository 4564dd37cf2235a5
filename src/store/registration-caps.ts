// Global registration caps, counted per fixed window in Postgres (see migration 0601).
import type { CapWindow } from '../domain/registration-caps.js';
import type { Queryable } from './db.js';

/** The first of the windows that is already full, if any (a cheap check before any work). */
export async function fullCapWindow(q: Queryable, windows: readonly CapWindow[]): Promise<CapWindow | undefined> {
  for (const w of windows) {
    const r = await q.query<{ count: number }>(
      'SELECT count FROM registration_caps WHERE period = $1 AND window_start = $2::bigint',
      [w.period, w.windowStart],
    );
    if ((r.rows[0]?.count ?? 0) >= w.max) return w;
  }
  return undefined;
}

/**
 * Takes one slot in the window, in one conditional upsert: returns false (and counts nothing)
 * when the window is full. Run inside the transaction that creates the account, so a rolled-back
 * registration gives its slot back; the row lock serialises concurrent takers on every instance.
 */
export async function takeCapSlot(q: Queryable, w: CapWindow): Promise<boolean> {
  const r = await q.query(
    `INSERT INTO registration_caps (period, window_start, count) VALUES ($1, $2::bigint, 1)
     ON CONFLICT (period, window_start) DO UPDATE SET count = registration_caps.count + 1
       WHERE registration_caps.count < $3::int
     RETURNING count`,
    [w.period, w.windowStart, w.max],
  );
  return (r.rowCount ?? 0) > 0;
}

/** Ended windows are no longer needed. */
export async function deleteEndedCapWindows(q: Queryable, now: number): Promise<void> {
  await q.query(
    `DELETE FROM registration_caps
      WHERE (period = 'hour' AND window_start + 3600000 <= $1::bigint)
         OR (period = 'day' AND window_start + 86400000 <= $1::bigint)`,
    [now],
  );
}
