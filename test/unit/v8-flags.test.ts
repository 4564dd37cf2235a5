import { describe, expect, it } from 'vitest';
import { v8FlagGiven } from '../../src/lib/v8-flags.js';

describe('V8 flags the service sets on itself', () => {
  it('count as given by the operator in either spelling, with a value, or negated', () => {
    expect(v8FlagGiven('heap-growing-percent', ['--heap-growing-percent=50'])).toBe(true);
    expect(v8FlagGiven('heap-growing-percent', ['--heap_growing_percent=50'])).toBe(true);
    expect(v8FlagGiven('liftoff-only', ['--liftoff-only'])).toBe(true);
    expect(v8FlagGiven('liftoff-only', ['--no-liftoff-only'])).toBe(true);
    expect(v8FlagGiven('liftoff_only', ['--no-liftoff-only'])).toBe(true);
  });
  it('do not count when only another flag with the same beginning is given', () => {
    expect(v8FlagGiven('liftoff-only', ['--liftoff-only-extra', '--liftoff'])).toBe(false);
    expect(v8FlagGiven('heap-growing-percent', ['--max-old-space-size=512', 'dist/main.js'])).toBe(false);
    expect(v8FlagGiven('heap-growing-percent', [])).toBe(false);
  });
});
