// Tools for hostile-input tests: what a well-formed answer is, fast-check arbitraries for hostile
// requests, a bound on every request (a hang fails the test), and the database invariants that
// must hold whatever clients sent ("no partial account").
import { createHash } from 'node:crypto';
import fc from 'fast-check';
import type { Queryable } from '../../src/store/db.js';
import { errorValidator, responseValidator } from './spec.js';

export interface Answer {
  statusCode: number;
  body: string;
  headers: Record<string, unknown>;
}

/** Where an endpoint's responses are defined in the official OpenAPI files, if they are. */
export interface SpecRef {
  file: string;
  path: string;
  method: string;
}

/** The errcodes each error status may carry in this service (src/errors.ts). */
export const ERRCODES_BY_STATUS: Record<number, readonly string[]> = {
  400: ['M_NOT_JSON', 'M_BAD_JSON', 'M_MISSING_PARAM', 'M_INVALID_PARAM', 'M_INVALID_USERNAME', 'M_USER_IN_USE',
    'M_WEAK_PASSWORD', 'M_UNKNOWN'],
  401: ['M_MISSING_TOKEN', 'M_UNKNOWN_TOKEN', 'M_UNAUTHORIZED', 'M_FORBIDDEN'],
  403: ['M_FORBIDDEN'],
  404: ['M_UNRECOGNIZED', 'M_NOT_FOUND'],
  405: ['M_UNRECOGNIZED'],
  408: ['M_UNKNOWN'],
  413: ['M_TOO_LARGE'],
  414: ['M_TOO_LARGE'],
  417: ['M_UNKNOWN'],
  429: ['M_LIMIT_EXCEEDED'],
  431: ['M_TOO_LARGE'],
};

function specValidator(spec: SpecRef | undefined, status: number) {
  if (!spec) return undefined;
  try {
    return responseValidator(spec.file, spec.path, spec.method, status);
  } catch {
    return undefined; // the spec defines no such response for this operation
  }
}

/**
 * Throws unless the answer is a success with one of the endpoint's success statuses (validated
 * against the spec when it defines one, else by `checkSuccess`) or a well-formed Matrix error
 * (standard error schema, an errcode this status may carry, and for 429 retry_after_ms and
 * Retry-After). A 401 of a UIA endpoint may be the spec's UIA body.
 */
export function checkAnswer(
  what: string,
  res: Answer,
  expect: { success: readonly number[]; spec?: SpecRef; checkSuccess?: (body: any) => void; uia?: boolean },
): any {
  const fail = (why: string): never => {
    throw new Error(`${what}: ${why}; got ${res.statusCode} ${res.body.slice(0, 300)}`);
  };
  if (res.statusCode >= 500) fail('a 5xx answer');
  if (!/^application\/json/.test(String(res.headers['content-type'] ?? ''))) fail('not application/json');
  let body: any;
  try {
    body = JSON.parse(res.body);
  } catch {
    fail('a body that is not JSON');
  }
  if (body === null || typeof body !== 'object' || Array.isArray(body)) fail('a body that is not a JSON object');

  if (expect.success.includes(res.statusCode) || (expect.uia && res.statusCode === 401 && 'flows' in body)) {
    const v = specValidator(expect.spec, res.statusCode);
    if (v && !v(body)) fail(`a ${res.statusCode} body outside the spec schema: ${JSON.stringify(v.errors)}`);
    if (!v && !expect.checkSuccess) fail(`no way to check a ${res.statusCode} success body`);
    expect.checkSuccess?.(body);
    return body;
  }
  const allowed = ERRCODES_BY_STATUS[res.statusCode];
  if (!allowed) fail('a status this endpoint never answers');
  const errorSchema = errorValidator();
  if (!errorSchema(body)) fail(`an error body outside the standard error schema: ${JSON.stringify(errorSchema.errors)}`);
  const spec = specValidator(expect.spec, res.statusCode);
  if (spec && !spec(body)) fail(`an error body outside the spec's ${res.statusCode} schema`);
  if (typeof body.error !== 'string') fail('an error without a message');
  if (!allowed!.includes(body.errcode)) fail(`errcode ${body.errcode} with status ${res.statusCode}`);
  if (res.statusCode === 429) {
    if (typeof body.retry_after_ms !== 'number' || body.retry_after_ms < 0) fail('a 429 without retry_after_ms');
    if (!/^\d+$/.test(String(res.headers['retry-after'] ?? ''))) fail('a 429 without Retry-After');
  }
  return body;
}

/** Resolves with p, or rejects when it takes longer than ms: a hang is a failure, not a stuck run. */
export async function within<T>(ms: number, what: string, p: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms (a hang)`)), ms);
  });
  try {
    return await Promise.race([p, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

// ---------------------------------------------------------------- arbitraries

/** Strings across Unicode: astral planes, combining marks, lone surrogates, controls, NUL. */
export const unicodeString = (maxLength = 40): fc.Arbitrary<string> =>
  fc.oneof(
    fc.string({ unit: 'binary', maxLength }),
    fc.string({ unit: 'grapheme', maxLength }),
    fc.string({ unit: fc.constantFrom('\u0000', '\uD800', '\uDFFF', '\u202E', '\u200B', 'ﬀ', 'İ', 'ß', 'Å', '\uFEFF', '\n', '%', '"', '\\'), maxLength }),
    fc.string({ maxLength }),
  );

/** Any JSON value, including deep and wide ones. */
export const anyJson: fc.Arbitrary<unknown> = fc.oneof(
  fc.jsonValue({ maxDepth: 4 }),
  fc.constantFrom(null, true, false, 0, -0, 1e308, -1, 2 ** 53 + 1, '', [], {}),
);

/** A JSON object with the given fields, each absent, of the right shape, or any JSON at all. */
export function fieldsOf(fields: Record<string, fc.Arbitrary<unknown>>): fc.Arbitrary<Record<string, unknown>> {
  const model: Record<string, fc.Arbitrary<unknown>> = {};
  for (const [k, arb] of Object.entries(fields)) model[k] = fc.oneof({ weight: 3, arbitrary: arb }, { weight: 1, arbitrary: anyJson });
  return fc
    .tuple(fc.record(model, { requiredKeys: [] }), fc.dictionary(unicodeString(12), anyJson, { maxKeys: 3 }))
    .map(([known, extra]) => ({ ...extra, ...known }));
}

const nested = (open: string, close: string, inner: string) => (n: number) => open.repeat(n) + inner + close.repeat(n);

/** Raw request bodies: not JSON, invalid UTF-8, deeply nested, too large, or odd but valid JSON. */
export function rawBodies(bodyLimit: number): fc.Arbitrary<Buffer> {
  return fc.oneof(
    fc.uint8Array({ maxLength: 300 }).map((b) => Buffer.from(b)),
    // Invalid UTF-8 inside otherwise valid JSON: overlong, truncated, surrogate and stray bytes.
    fc
      .tuple(fc.constantFrom('username', 'password', 'token', 'auth', 'initial_device_display_name'),
        fc.constantFrom([0xc3, 0x28], [0xc0, 0xaf], [0xed, 0xa0, 0x80], [0xff], [0xe2, 0x82], [0xf8, 0x88, 0x80, 0x80, 0x80]))
      .map(([k, bad]) => Buffer.concat([Buffer.from(`{"${k}":"a`), Buffer.from(bad), Buffer.from('b"}')])),
    fc.integer({ min: 1, max: 30_000 }).map(nested('[', ']', '')).map((s) => Buffer.from(s)),
    fc.integer({ min: 1, max: 10_000 }).map(nested('{"auth":', '}', '{}')).map((s) => Buffer.from(s)),
    fc.integer({ min: 1, max: 10_000 }).map(nested('{"a":', '}', '1')).map((s) => Buffer.from(s)),
    fc.constantFrom(bodyLimit + 1, bodyLimit * 4).map((n) => Buffer.from(`{"username":"${'a'.repeat(n)}"}`)),
    fc.constantFrom('', ' ', 'null', '"str"', '1e999', '-', '{', '{"a":1,}', '{"__proto__":{"x":1}}', '{"constructor":{"prototype":{}}}', '\uFEFF{}', '{}{}', '[]')
      .map((s) => Buffer.from(s)),
  );
}

export const contentTypes: fc.Arbitrary<string | undefined> = fc.oneof(
  fc.constantFrom(undefined, 'application/json', 'application/json; charset=utf-8', 'text/plain', 'application/x-www-form-urlencoded',
    'multipart/form-data; boundary=x', 'application/json; charset=latin1', 'application/octet-stream', '*/*', ''),
  fc.string({ unit: 'binary-ascii', maxLength: 40 }).filter((s) => /^[\x20-\x7e]*$/.test(s)),
);

/** Absurd query strings: repeated and array keys, broken percent escapes, invalid UTF-8, huge. */
export const absurdQuery: fc.Arbitrary<string> = fc.oneof(
  fc.dictionary(unicodeString(10), fc.oneof(unicodeString(30), fc.array(unicodeString(10), { maxLength: 3 })), { maxKeys: 4 }).map((d) =>
    Object.entries(d)
      .flatMap(([k, v]) => ([] as string[]).concat(v).map((x) => `${encodeURIComponent(safe(k))}=${encodeURIComponent(safe(x))}`))
      .join('&'),
  ),
  fc.constantFrom('%', '%zz', '%C3%28', '%ED%A0%80', '%00', 'username', 'username=', 'username[]=a', 'username[a]=b', 'username=a&username=b',
    'token=a&token=b', 'token', '&&&', '=', '==', '?', '#', 'kind=guest&kind=user', 'kind=GUEST', 'kind=', 'kind[]=guest', 'valid=maybe'),
  fc.integer({ min: 1000, max: 20_000 }).map((n) => `username=${'a'.repeat(n)}`),
  fc.integer({ min: 100, max: 3000 }).map((n) => Array.from({ length: n }, (_, i) => `k${i}=v`).join('&')),
);

/** Lone surrogates cannot be percent-encoded; replace them (they are tested inside bodies). */
export function safe(s: string): string {
  return s.replace(/[\uD800-\uDFFF]/g, '\uFFFD');
}

/** Header values as a client may send them (visible ASCII and spaces; Node refuses the rest). */
const headerValue = fc.oneof(
  fc.string({ unit: 'binary-ascii', maxLength: 60 }).map((s) => s.replace(/[^\x20-\x7e]/g, '')),
  fc.integer({ min: 1000, max: 8000 }).map((n) => 'x'.repeat(n)),
);

export const absurdHeaders: fc.Arbitrary<Record<string, string>> = fc
  .record(
    {
      authorization: fc.oneof(headerValue, headerValue.map((v) => `Bearer ${v}`), fc.constant('Bearer'), fc.constant('Basic Zm9vOmJhcg==')),
      'x-forwarded-for': fc.oneof(headerValue, fc.constantFrom('1.2.3.4', '::1, 10.0.0.1', 'unknown', '999.999.999.999')),
      accept: headerValue,
      'accept-encoding': fc.constantFrom('gzip', 'br', 'identity;q=0', '*;q=0', 'x'),
      'x-requested-with': headerValue,
      origin: headerValue,
      'transfer-encoding': fc.constantFrom('gzip', 'identity'),
      'content-encoding': fc.constantFrom('gzip', 'deflate', 'br', 'x-unknown'),
    },
    { requiredKeys: [] },
  )
  .chain((known) =>
    fc.dictionary(fc.stringMatching(/^x-[a-z0-9-]{1,20}$/), headerValue, { maxKeys: 5 }).map((extra) => ({ ...extra, ...known })),
  );

// ---------------------------------------------------------------- invariants

export interface ObservedAccount {
  user_id: string;
  /** The access token the 200 answer gave, if any (absent when login was inhibited). */
  access_token?: string;
  device_id?: string;
  guest: boolean;
}

/**
 * The database holds exactly the accounts clients were told about, each complete: every user was
 * announced by a 200 answer; a user whose answer carried an access token has that token on that
 * device; a user answered without one asked for inhibit_login; non-guests have a password hash;
 * spent UIA sessions record their result; registration token counters stay within their bounds.
 * Returns a list of problems (empty when all hold).
 */
export async function accountInvariants(
  q: Queryable,
  observed: ObservedAccount[],
  opts: { preexisting?: Set<string> } = {},
): Promise<string[]> {
  const problems: string[] = [];
  const byId = new Map(observed.map((o) => [o.user_id, o]));
  const users = (await q.query<{ user_id: string; password_hash: string | null; is_guest: boolean }>(
    'SELECT user_id, password_hash, is_guest FROM users',
  )).rows;
  for (const u of users) {
    if (opts.preexisting?.has(u.user_id)) continue;
    const o = byId.get(u.user_id);
    if (!o) {
      problems.push(`user ${u.user_id} exists but no answer announced it`);
      continue;
    }
    if (u.is_guest !== o.guest) problems.push(`user ${u.user_id}: is_guest ${u.is_guest}`);
    if (!u.is_guest && u.password_hash === null) problems.push(`user ${u.user_id} has no password hash`);
    if (u.password_hash !== null && !u.password_hash.startsWith('$argon2id$')) problems.push(`user ${u.user_id}: hash is not argon2id`);
    const devices = (await q.query<{ device_id: string }>('SELECT device_id FROM devices WHERE user_id = $1', [u.user_id])).rows;
    const tokens = (await q.query<{ token_hash: Buffer; device_id: string }>(
      'SELECT token_hash, device_id FROM access_tokens WHERE user_id = $1', [u.user_id],
    )).rows;
    if (o.access_token === undefined) {
      if (devices.length > 0 || tokens.length > 0) problems.push(`user ${u.user_id}: login inhibited but has a device or token`);
      continue;
    }
    const hash = createHash('sha256').update(o.access_token, 'utf8').digest();
    const t = tokens.find((r) => Buffer.compare(r.token_hash, hash) === 0);
    if (!t) problems.push(`user ${u.user_id}: the access token it was given is not stored`);
    else if (t.device_id !== o.device_id) problems.push(`user ${u.user_id}: token on device ${t.device_id}, answer said ${o.device_id}`);
    if (!devices.some((d) => d.device_id === o.device_id)) problems.push(`user ${u.user_id}: device ${o.device_id} missing`);
  }
  for (const o of observed) {
    if (!users.some((u) => u.user_id === o.user_id)) problems.push(`answer announced ${o.user_id} but it is not stored`);
  }
  const orphanSessions = await q.query(
    `SELECT session_id FROM uia_sessions s
      WHERE s.spent_at IS NOT NULL
        AND (s.result IS NULL OR NOT EXISTS (SELECT 1 FROM users u WHERE u.user_id = s.result->>'user_id'))`,
  );
  if ((orphanSessions.rowCount ?? 0) > 0) problems.push(`${orphanSessions.rowCount} spent UIA sessions without a stored result user`);
  const badTokens = await q.query(
    `SELECT token FROM registration_tokens
      WHERE pending < 0 OR completed < 0 OR (uses_allowed IS NOT NULL AND pending + completed > uses_allowed)`,
  );
  if ((badTokens.rowCount ?? 0) > 0) problems.push(`registration tokens over their bounds: ${badTokens.rows.map((r) => r.token).join(', ')}`);
  return problems;
}

/** How many runs and how long; FUZZ_SCALE multiplies both (FUZZ_SCALE=10 for a long soak). */
export function budget(defaultRuns: number, defaultSeconds: number): { numRuns: number; interruptAfterTimeLimit: number } {
  const scale = Number(process.env.FUZZ_SCALE ?? '1');
  return {
    numRuns: Math.max(1, Math.round(defaultRuns * scale)),
    interruptAfterTimeLimit: Math.round(defaultSeconds * 1000 * scale),
  };
}
