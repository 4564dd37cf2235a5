// zod at the edge: a request that does not match its schema is M_BAD_JSON naming the field
// (or M_MISSING_PARAM when a required field is absent).
import type { z } from 'zod';
import { errors } from '../errors.js';

export function parseWith<S extends z.ZodType>(schema: S, input: unknown): z.output<S> {
  const r = schema.safeParse(input);
  if (r.success) return r.data;
  const issue = r.error.issues[0]!;
  const field = issue.path.join('.') || 'body';
  // zod 4 leaves `input` out of issues unless asked, so look the value up by its path.
  const value = issue.path.reduce<unknown>(
    (o, k) => (o !== null && typeof o === 'object' ? (o as Record<PropertyKey, unknown>)[k as PropertyKey] : undefined),
    input,
  );
  if (issue.code === 'invalid_type' && value === undefined) throw errors.missingParam(field);
  throw errors.badJson(`${field}: ${issue.message}`);
}
