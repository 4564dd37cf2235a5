// Global registration caps per hour and per day, counted in fixed windows aligned to the epoch
// (whole UTC hours and days). Pure window arithmetic; the counting is in store/registration-caps.ts.

export type CapPeriod = 'hour' | 'day';
export const PERIOD_MS: Record<CapPeriod, number> = { hour: 3_600_000, day: 86_400_000 };

export interface CapLimits {
  /** 0: no cap. */
  perHour: number;
  perDay: number;
}

export interface CapWindow {
  period: CapPeriod;
  windowStart: number;
  windowEnd: number;
  max: number;
}

/** The windows a registration at `now` counts in (only the capped periods). */
export function capWindows(limits: CapLimits, now: number): CapWindow[] {
  const out: CapWindow[] = [];
  for (const [period, max] of [['hour', limits.perHour], ['day', limits.perDay]] as const) {
    if (max <= 0) continue;
    const windowStart = Math.floor(now / PERIOD_MS[period]) * PERIOD_MS[period];
    out.push({ period, windowStart, windowEnd: windowStart + PERIOD_MS[period], max });
  }
  return out;
}

/** How a full window is answered: 429 with retry_after_ms when the wait is short, else 403. */
export function capRefusal(w: CapWindow, now: number, shortWaitMs: number): { status: 429 | 403; retryAfterMs: number } {
  const retryAfterMs = Math.max(0, w.windowEnd - now);
  return { status: retryAfterMs <= shortWaitMs ? 429 : 403, retryAfterMs };
}
