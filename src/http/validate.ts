// zod at the edge. A body that does not match its schema is M_BAD_JSON naming the field; a query
// parameter with a bad value is M_INVALID_PARAM; a required field that is absent is
// M_MISSING_PARAM.
import type { z } from 'zod';
import { errors } from '../errors.js';

function valueAt(input: unknown, path: readonly PropertyKey[]): unknown {
  let v = input;
  for (const key of path) {
    if (v === null || typeof v !== 'object') return undefined;
    v = (v as Record<PropertyKey, unknown>)[key];
  }
  return v;
}

export function parseWith<S extends z.ZodType>(schema: S, input: unknown, source: 'body' | 'query' = 'body'): z.output<S> {
  const r = schema.safeParse(input);
  if (r.success) return r.data;
  const issue = r.error.issues[0]!;
  const field = issue.path.map(String).join('.') || source;
  if (issue.code === 'invalid_type' && valueAt(input, issue.path) === undefined) throw errors.missingParam(field);
  if (source === 'query') throw errors.invalidParam(`${field}: ${issue.message}`);
  throw errors.badJson(`${field}: ${issue.message}`);
}
