import { describe, expect, it } from 'vitest';
import { capRefusal, capWindows } from '../../src/domain/registration-caps.js';

const T = Date.UTC(2026, 10, 22, 13, 45, 0);

describe('capWindows', () => {
  it('is empty with no caps', () => {
    expect(capWindows({ perHour: 0, perDay: 0 }, T)).toEqual([]);
  });
  it('aligns windows to whole UTC hours and days', () => {
    expect(capWindows({ perHour: 5, perDay: 50 }, T)).toEqual([
      { period: 'hour', windowStart: Date.UTC(2026, 10, 22, 13), windowEnd: Date.UTC(2026, 10, 22, 14), max: 5 },
      { period: 'day', windowStart: Date.UTC(2026, 10, 22), windowEnd: Date.UTC(2026, 10, 23), max: 50 },
    ]);
    expect(capWindows({ perHour: 0, perDay: 3 }, T).map((w) => w.period)).toEqual(['day']);
  });
});

describe('capRefusal', () => {
  const [hour, day] = capWindows({ perHour: 1, perDay: 1 }, T);
  it('answers 429 with the wait when it is short, 403 otherwise', () => {
    expect(capRefusal(hour!, T, 20 * 60_000)).toEqual({ status: 429, retryAfterMs: 15 * 60_000 });
    expect(capRefusal(hour!, T, 5 * 60_000)).toEqual({ status: 403, retryAfterMs: 15 * 60_000 });
    expect(capRefusal(day!, T, 5 * 60_000).status).toBe(403);
    expect(capRefusal(hour!, T, 0).status).toBe(403);
  });
});
