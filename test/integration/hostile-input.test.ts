// Hostile input, property-based (fast-check), over every endpoint in src/http/routes: bodies of
// every JSON type and shape, raw bytes and invalid UTF-8, huge and deeply nested bodies, usernames
// and passwords across Unicode, absurd query strings and headers, and malformed HTTP on a real
// socket. Every answer must be a success with the endpoint's status or a well-formed Matrix error,
// never a 5xx, never a hang; afterwards the database holds only complete accounts.
//
// ADDING AN ENDPOINT: add one entry to ENDPOINTS below (its paths, success statuses, spec file,
// and the arbitraries of its own query and body fields). Every property runs over every entry.
// Runs are bounded (numRuns and a time budget per property); FUZZ_SCALE=10 runs ten times longer.
import net from 'node:net';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_TOKEN, startApp, uniqueName, type TestApp } from '../helpers/app.js';
import { DATABASE_KINDS, openTestDatabase, type TestDatabase } from '../helpers/databases.js';
import {
  absurdHeaders,
  absurdQuery,
  accountInvariants,
  anyJson,
  budget,
  checkAnswer,
  contentTypes,
  fieldsOf,
  rawBodies,
  safe,
  unicodeString,
  within,
  type Answer,
  type ObservedAccount,
  type SpecRef,
} from '../helpers/hostile.js';

const BODY_LIMIT = 65_536;
const REQUEST_TIMEOUT_MS = 15_000;
const KNOWN_TOKEN = 'fuzz-known-token';

/** What the test knows while it runs: accounts announced by 200 answers. */
interface Ctx {
  observed: ObservedAccount[];
}

interface Endpoint {
  name: string;
  method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  /** The URL paths of this endpoint; `segment` fills a path parameter (already URL-encoded). */
  paths: (segment: string) => string[];
  /** Values for the path parameter, if the path has one. */
  segment?: fc.Arbitrary<string>;
  /** Sends `Authorization: Bearer ADMIN_TOKEN` unless the headers property replaces it. */
  admin?: boolean;
  success: readonly number[];
  spec?: SpecRef;
  /** A 401 may be a UIA challenge (flows, session). */
  uia?: boolean;
  checkSuccess?: (body: any) => void;
  /** The endpoint's own query parameters and body fields, with hostile but field-shaped values. */
  query?: Record<string, fc.Arbitrary<string>>;
  body?: Record<string, fc.Arbitrary<unknown>>;
  /** Called with every success answer and the body that produced it. */
  onSuccess?: (ctx: Ctx, answer: any, sent: unknown) => void;
  /** A page for people (UIA fallback): its own answers are HTML pages, any status below 500. */
  html?: boolean;
}

const username = fc.oneof(unicodeString(40), fc.stringMatching(/^[a-z0-9._=\-/+]{1,20}$/), fc.constantFrom('admin', '_x', 'A', ''),
  fc.integer({ min: 230, max: 300 }).map((n) => 'a'.repeat(n)));
const password = fc.oneof(unicodeString(30), fc.string({ unit: 'binary', minLength: 8, maxLength: 80 }), fc.integer({ min: 500, max: 2000 }).map((n) => 'p'.repeat(n)));
const tokenString = fc.oneof(unicodeString(70), fc.stringMatching(/^[A-Za-z0-9._~-]{1,64}$/), fc.constant(KNOWN_TOKEN));

const registerSuccess = (guest: boolean) => (ctx: Ctx, body: any, sent: unknown) => {
  const inhibited = !guest && typeof sent === 'object' && sent !== null && (sent as Record<string, unknown>).inhibit_login === true;
  if (!inhibited && typeof body.access_token !== 'string') throw new Error(`200 without access_token: ${JSON.stringify(body)}`);
  ctx.observed.push({ user_id: body.user_id, access_token: body.access_token, device_id: body.device_id, guest });
};

const tokenView = (t: any) => {
  expect(t).toEqual({
    token: expect.any(String),
    uses_allowed: t.uses_allowed === null ? null : expect.any(Number),
    pending: expect.any(Number),
    completed: expect.any(Number),
    expiry_time: t.expiry_time === null ? null : expect.any(Number),
  });
};

const ADMIN = '/_synapse/admin/v1/registration_tokens';
// '', '.' and '..' are dropped: clients normalise them away, landing on the list route.
const adminSegment = fc.oneof(tokenString.filter((s) => !['', '.', '..'].includes(s)).map((s) => encodeURIComponent(safe(s))), fc.constantFrom('%00', '%ZZ', '%C3%28', '..', '%2F', 'a%2Fb', 'x'.repeat(600)));
const adminFields = {
  token: tokenString,
  length: fc.oneof(fc.integer({ min: -5, max: 100 }), fc.double()),
  uses_allowed: fc.oneof(fc.integer(), fc.constant(null), fc.double(), fc.bigInt().map(String)),
  expiry_time: fc.oneof(fc.integer({ min: -1, max: 2 ** 31 }), fc.maxSafeInteger(), fc.constant(null), fc.double()),
};

/** Every endpoint currently in src/http/routes. */
const ENDPOINTS: Endpoint[] = [
  {
    name: 'POST /register',
    method: 'POST',
    paths: () => ['/_matrix/client/v3/register', '/_matrix/client/r0/register', '/_matrix/client/v3/register?kind=user'],
    success: [200],
    uia: true,
    spec: { file: 'registration.yaml', path: '/register', method: 'post' },
    body: {
      username,
      password,
      auth: fieldsOf({ type: fc.constantFrom('m.login.dummy', 'm.login.registration_token', 'm.login.password', ''), session: unicodeString(30), token: tokenString }),
      device_id: unicodeString(30),
      initial_device_display_name: unicodeString(60),
      inhibit_login: fc.boolean(),
      refresh_token: fc.boolean(),
    },
    onSuccess: registerSuccess(false),
  },
  {
    name: 'POST /register?kind=guest',
    method: 'POST',
    paths: () => ['/_matrix/client/v3/register?kind=guest', '/_matrix/client/r0/register?kind=guest'],
    success: [200],
    spec: { file: 'registration.yaml', path: '/register', method: 'post' },
    body: { initial_device_display_name: unicodeString(60), username, password },
    onSuccess: registerSuccess(true),
  },
  {
    name: 'GET /register/available',
    method: 'GET',
    paths: () => ['/_matrix/client/v3/register/available', '/_matrix/client/r0/register/available'],
    success: [200],
    spec: { file: 'registration.yaml', path: '/register/available', method: 'get' },
    query: { username },
  },
  {
    name: 'GET registration token validity',
    method: 'GET',
    paths: () => [
      '/_matrix/client/v1/register/m.login.registration_token/validity',
      '/_matrix/client/unstable/org.matrix.msc3231/register/org.matrix.msc3231.login.registration_token/validity',
    ],
    success: [200],
    spec: { file: 'registration_tokens.yaml', path: '/register/m.login.registration_token/validity', method: 'get' },
    query: { token: tokenString },
  },
  {
    name: 'GET admin registration tokens',
    method: 'GET',
    paths: () => [ADMIN],
    admin: true,
    success: [200],
    checkSuccess: (b) => {
      expect(Array.isArray(b.registration_tokens)).toBe(true);
      b.registration_tokens.forEach(tokenView);
    },
    query: { valid: fc.oneof(fc.constantFrom('true', 'false'), unicodeString(8)) },
  },
  {
    name: 'POST admin registration tokens/new',
    method: 'POST',
    paths: () => [`${ADMIN}/new`],
    admin: true,
    success: [200],
    checkSuccess: tokenView,
    body: adminFields,
  },
  {
    name: 'GET admin registration token',
    method: 'GET',
    paths: (s) => [`${ADMIN}/${s}`],
    segment: adminSegment,
    admin: true,
    success: [200],
    checkSuccess: tokenView,
  },
  {
    name: 'PUT admin registration token',
    method: 'PUT',
    paths: (s) => [`${ADMIN}/${s}`],
    segment: adminSegment,
    admin: true,
    success: [200],
    checkSuccess: tokenView,
    body: { uses_allowed: adminFields.uses_allowed, expiry_time: adminFields.expiry_time },
  },
  {
    name: 'DELETE admin registration token',
    method: 'DELETE',
    paths: (s) => [`${ADMIN}/${s}`],
    segment: adminSegment,
    admin: true,
    success: [200],
    checkSuccess: (b) => expect(b).toEqual({}),
  },
  {
    name: 'GET UIA fallback page',
    method: 'GET',
    paths: (s) => [`/_matrix/client/v3/auth/${s}/fallback/web`, `/_matrix/client/r0/auth/${s}/fallback/web`],
    segment: fc.oneof(fc.constantFrom('m.login.dummy', 'm.login.recaptcha', 'm.login.terms', 'm.login.registration_token'), unicodeString(20).map((x) => encodeURIComponent(safe(x)))).filter((x) => !['', '.', '..'].includes(x)),
    success: [200],
    html: true,
    query: { session: unicodeString(30) },
  },
  {
    name: 'POST UIA fallback page',
    method: 'POST',
    paths: (s) => [`/_matrix/client/v3/auth/${s}/fallback/web`, `/_matrix/client/r0/auth/${s}/fallback/web`],
    segment: fc.oneof(fc.constantFrom('m.login.dummy', 'm.login.recaptcha', 'm.login.terms', 'm.login.registration_token'), unicodeString(20).map((x) => encodeURIComponent(safe(x)))).filter((x) => !['', '.', '..'].includes(x)),
    success: [200],
    html: true,
    query: { session: unicodeString(30) },
    body: { session: unicodeString(30), accept: unicodeString(5), 'g-recaptcha-response': unicodeString(30) },
  },
  {
    name: 'unknown paths and methods',
    method: 'POST',
    paths: (s) => [`/_matrix/client/v3/${s}`, `/_matrix/client/v3/register/${s}`, `/${s}`, `/_synapse/admin/v1/${s}`],
    // Prefixed so that no segment names a real endpoint.
    segment: unicodeString(30).map((s) => `zz${encodeURIComponent(s.replace(/[\uD800-\uDFFF]/g, ''))}`),
    success: [],
  },
];

/** One hostile request for an endpoint: which path, query, body (as JSON or raw bytes), headers. */
function hostileRequest(ep: Endpoint) {
  const jsonBody = fc.oneof(anyJson, ep.body ? fieldsOf(ep.body) : anyJson).map((v) => ({ json: v }));
  const rawBody = rawBodies(BODY_LIMIT).map((b) => ({ raw: b }));
  const query = fc.oneof(
    ep.query ? fieldsOf(ep.query).map((d) => new URLSearchParams(Object.entries(d).map(([k, v]): [string, string] => [k, typeof v === 'string' ? v.replace(/[\uD800-\uDFFF]/g, '\uFFFD') : JSON.stringify(v) ?? ''])).toString()) : fc.constant(''),
    absurdQuery,
    fc.constant(''),
  );
  return fc.record({
    pathIndex: fc.nat(),
    segment: ep.segment ?? fc.constant(''),
    method: fc.oneof({ weight: 8, arbitrary: fc.constant(ep.method) }, { weight: 1, arbitrary: fc.constantFrom('GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'HEAD') }),
    query,
    body: fc.oneof({ weight: 3, arbitrary: jsonBody }, { weight: 2, arbitrary: rawBody }, { weight: 1, arbitrary: fc.constant({}) }),
    contentType: contentTypes,
    headers: fc.oneof({ weight: 3, arbitrary: fc.constant({}) }, { weight: 1, arbitrary: absurdHeaders }),
  });
}

describe.each(DATABASE_KINDS)('hostile input (%s)', (kind) => {
  let database: TestDatabase;
  let t: TestApp;
  const ctx: Ctx = { observed: [] };
  let requests = 0;

  beforeAll(async () => {
    database = await openTestDatabase(kind);
    t = await startApp(database, {
      ALLOW_GUEST_ACCESS: 'true',
      BODY_LIMIT_BYTES: String(BODY_LIMIT),
      PASSWORD_MIN_LENGTH: '8',
      RATE_LIMIT_REGISTER_PER_SECOND: '100000',
      RATE_LIMIT_REGISTER_BURST: '1000000',
      RATE_LIMIT_REGISTER_REQUESTS_PER_MINUTE: '1000000',
      RATE_LIMIT_AVAILABLE_PER_MINUTE: '1000000',
      RATE_LIMIT_TOKEN_VALIDITY_PER_SECOND: '100000',
      RATE_LIMIT_TOKEN_VALIDITY_BURST: '1000000',
      RATE_LIMIT_TOKEN_FAILURES: '1000000',
      RATE_LIMIT_FALLBACK_PER_MINUTE: '1000000',
    });
    const made = await t.app.inject({
      method: 'POST', url: `${ADMIN}/new`, headers: { authorization: `Bearer ${ADMIN_TOKEN}` }, payload: { token: KNOWN_TOKEN, uses_allowed: 3 },
    });
    expect(made.statusCode).toBe(200);
  });
  afterAll(async () => {
    await t?.close();
    await database?.close();
  });

  async function send(what: string, req: { method: string; url: string; headers: Record<string, string>; payload?: string | Buffer }): Promise<Answer> {
    requests += 1;
    const res = await within(REQUEST_TIMEOUT_MS, what, t.app.inject({ ...req, method: req.method as 'GET' }));
    return { statusCode: res.statusCode, body: res.body, headers: res.headers as Record<string, unknown> };
  }

  for (const ep of ENDPOINTS) {
    it(`${ep.name}: every answer is a success or a Matrix error, never a 5xx or a hang`, async () => {
      await fc.assert(
        fc.asyncProperty(hostileRequest(ep), async (r) => {
          const paths = ep.paths(r.segment);
          const path = paths[r.pathIndex % paths.length]!;
          const url = r.query === '' ? path : `${path}${path.includes('?') ? '&' : '?'}${r.query}`;
          const headers: Record<string, string> = {};
          if (ep.admin) headers.authorization = `Bearer ${ADMIN_TOKEN}`;
          if (r.contentType !== undefined) headers['content-type'] = r.contentType;
          Object.assign(headers, r.headers);
          let payload: string | Buffer | undefined;
          let sent: unknown;
          if ('json' in r.body) {
            payload = JSON.stringify(r.body.json) ?? 'null';
            sent = r.body.json;
          } else if ('raw' in r.body) payload = r.body.raw;
          const what = `${r.method} ${url.slice(0, 200)}`;
          const res = await send(what, { method: r.method, url, headers, payload: r.method === 'HEAD' ? undefined : payload });
          if (r.method === 'OPTIONS' && res.statusCode === 204) return;
          if (r.method === 'HEAD') {
            expect(res.statusCode).toBeLessThan(500);
            return;
          }
          // Another method on the same path may be another endpoint (GET and PUT of a token).
          const served = r.method === ep.method ? ep : ENDPOINTS.find((o) => o.method === r.method && o.paths(r.segment).includes(path));
          if (served?.html && /^text\/html/.test(String(res.headers['content-type'] ?? ''))) {
            // A fallback page answers everything, errors included, with an HTML page.
            if (res.statusCode >= 500) throw new Error(`${what}: a ${res.statusCode} page: ${res.body.slice(0, 300)}`);
            expect(res.body).toMatch(/^<!DOCTYPE html>/i);
            return;
          }
          const body = checkAnswer(what, res, { success: served?.success ?? [], spec: served?.spec, checkSuccess: served?.checkSuccess, uia: served?.uia });
          if (res.statusCode === 200 && served) served.onSuccess?.(ctx, body, sent);
        }),
        { ...budget(60, 8), seed: Number(process.env.FUZZ_SEED ?? Date.now() % 2 ** 31) },
      );
    });
  }

  it('POST /register two-step flows with Unicode usernames and passwords leave only complete accounts', async () => {
    const extras = fieldsOf({
      device_id: fc.oneof(fc.stringMatching(/^[A-Z]{1,12}$/), unicodeString(20)),
      initial_device_display_name: unicodeString(40),
      inhibit_login: fc.boolean(),
      refresh_token: fc.boolean(),
    });
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          { weight: 2, arbitrary: username },
          { weight: 1, arbitrary: fc.constant(undefined) },
          { weight: 3, arbitrary: fc.stringMatching(/^[a-z][a-z0-9]{3,10}$/).map((s) => `${uniqueName('f')}${s}`) },
        ),
        fc.oneof({ weight: 1, arbitrary: password }, { weight: 3, arbitrary: fc.string({ unit: 'grapheme', minLength: 8, maxLength: 30 }) }),
        extras,
        extras,
        fc.constantFrom('v3', 'r0'),
        async (user, pass, first, second, prefix) => {
          const url = `/_matrix/client/${prefix}/register`;
          const spec = { file: 'registration.yaml', path: '/register', method: 'post' };
          const b1 = { ...first, ...(user === undefined ? {} : { username: user }), password: pass };
          const r1 = await send(`register ${JSON.stringify(user)}`, { method: 'POST', url, headers: {}, payload: JSON.stringify(b1) });
          const c1 = checkAnswer('first round', r1, { success: [200], spec, uia: true });
          if (r1.statusCode !== 401) return;
          const b2 = { ...second, auth: { type: 'm.login.dummy', session: c1.session } };
          const r2 = await send('second round', { method: 'POST', url, headers: {}, payload: JSON.stringify(b2) });
          const c2 = checkAnswer('second round', r2, { success: [200], spec, uia: true });
          if (r2.statusCode === 200) registerSuccess(false)(ctx, c2, b2);
          // Replaying the spent session never makes a second account.
          const r3 = await send('replay', { method: 'POST', url, headers: {}, payload: JSON.stringify(b2) });
          checkAnswer('replay', r3, { success: [], spec, uia: true });
          if (r2.statusCode === 200) expect(r3.statusCode).toBe(403);
        },
      ),
      {
        ...budget(25, 15),
        seed: Number(process.env.FUZZ_SEED ?? Date.now() % 2 ** 31),
        // Run first, so that every run checks at least these complete registrations.
        examples: [
          [uniqueName('ex'), 'пароль-密码-🔑🔑', {}, { device_id: 'ÄÖÜ\u0301', initial_device_display_name: '\u202Eevil' }, 'v3'],
          [undefined, 'a good password', { inhibit_login: true }, { inhibit_login: true, refresh_token: true }, 'r0'],
        ],
      },
    );
    expect(ctx.observed.filter((o) => !o.guest).length).toBeGreaterThan(0);
  });

  it('POST /register through m.login.registration_token with hostile tokens keeps token counts in bounds', async () => {
    // A second instance on the same database, configured to require registration tokens.
    const tokenApp = await startApp(database, {
      REGISTRATION_REQUIRES_TOKEN: 'true',
      PASSWORD_MIN_LENGTH: '8',
      RATE_LIMIT_REGISTER_BURST: '1000000',
      RATE_LIMIT_REGISTER_REQUESTS_PER_MINUTE: '1000000',
      RATE_LIMIT_TOKEN_FAILURES: '1000000',
    });
    const spec = { file: 'registration.yaml', path: '/register', method: 'post' };
    const post = async (what: string, body: unknown) => {
      requests += 1;
      const res = await within(REQUEST_TIMEOUT_MS, what, tokenApp.app.inject({ method: 'POST', url: '/_matrix/client/v3/register', payload: JSON.stringify(body) }));
      return { statusCode: res.statusCode, body: res.body, headers: res.headers as Record<string, unknown> };
    };
    try {
      await fc.assert(
        fc.asyncProperty(
          fc.oneof(tokenString, anyJson),
          fc.oneof(fc.constant(KNOWN_TOKEN), tokenString, anyJson),
          fc.boolean(),
          async (firstGuess, secondGuess, inhibit) => {
            const r1 = await post('token flow start', { username: uniqueName('t'), password: 'a good password', inhibit_login: inhibit });
            const c1 = checkAnswer('token flow start', r1, { success: [], spec, uia: true });
            for (const guess of [firstGuess, secondGuess]) {
              const b = { auth: { type: 'm.login.registration_token', token: guess, session: c1.session }, inhibit_login: inhibit };
              const r = await post('token guess', b);
              const c = checkAnswer('token guess', r, { success: [200], spec, uia: true });
              if (r.statusCode === 200) {
                registerSuccess(false)(ctx, c, b);
                break;
              }
            }
          },
        ),
        { ...budget(25, 8), seed: Number(process.env.FUZZ_SEED ?? Date.now() % 2 ** 31) },
      );
    } finally {
      await tokenApp.close();
    }
  });

  it('malformed HTTP on a real socket gets a Matrix error, never a 5xx or a hang', async () => {
    const address = await t.app.listen({ host: '127.0.0.1', port: 0 });
    const port = Number(new URL(address).port);
    const target = fc.oneof(
      fc.constantFrom('/_matrix/client/v3/register', '/_matrix/client/v3/register/available?username=x',
        '/_matrix/client/v1/register/m.login.registration_token/validity?token=x', `${ADMIN}/new`),
      fc.uint8Array({ minLength: 1, maxLength: 40 }).map((b) => `/_matrix/client/v3/register/available?username=${Buffer.from(b).toString('latin1')}`),
      fc.constantFrom('*', '//', '/%', '/..%2f..%2f', 'http://evil.example/_matrix/client/v3/register', '/_matrix/client/v3/register/available?username=\xff\xfe', ''),
    );
    const header = fc.oneof(
      fc.constantFrom('Content-Type: application/json', 'X-Odd: \x01\x7f', 'Bad Header: x', ': empty', 'Content-Length: -1', 'Content-Length: 1, 2',
        'Content-Length: 99999999999999999999', 'Transfer-Encoding: chunked', 'Transfer-Encoding: chunked, identity', ' folded: line',
        'Authorization: Bearer \xff', 'Host: a\r\nHost: b', 'Expect: 100-continue', 'Expect: nonsense', 'Connection: upgrade\r\nUpgrade: websocket'),
      fc.integer({ min: 17_000, max: 40_000 }).map((n) => `X-Huge: ${'h'.repeat(n)}`),
      fc.uint8Array({ minLength: 1, maxLength: 30 }).map((b) => `X-Bytes: ${Buffer.from(b).toString('latin1').replace(/[\r\n]/g, '')}`),
    );
    const raw = fc.record({
      method: fc.constantFrom('GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'get', 'BREW', 'G\x00T', 'CONNECT'),
      target,
      version: fc.constantFrom('HTTP/1.1', 'HTTP/1.1', 'HTTP/1.0', 'HTTP/2.0', 'HTTP/9.9', 'HTCPCP/1.0', ''),
      headers: fc.array(header, { maxLength: 4 }),
      body: fc.oneof(fc.constant(Buffer.alloc(0)), rawBodies(BODY_LIMIT).filter((b) => b.length < 200_000), fc.constant(Buffer.from('5\r\nhello\r\nzz\r\n'))),
      declareLength: fc.boolean(),
    });
    try {
      await fc.assert(
        fc.asyncProperty(raw, async (r) => {
          const lines = [`${r.method} ${r.target} ${r.version}`.trimEnd(), 'Host: 127.0.0.1', 'Connection: close', ...r.headers];
          if (r.declareLength && !r.headers.some((h) => /^content-length|^transfer-encoding/i.test(h))) lines.push(`Content-Length: ${r.body.length}`);
          const request = Buffer.concat([Buffer.from(`${lines.join('\r\n')}\r\n\r\n`, 'latin1'), r.body]);
          const what = JSON.stringify(request.subarray(0, 160).toString('latin1'));
          const answers = await within(REQUEST_TIMEOUT_MS, what, rawExchange(port, request));
          for (const a of answers) {
            // 100 Continue (an interim answer to Expect: 100-continue) and 204 (OPTIONS) carry no body.
            if (a.statusCode < 200 || a.statusCode === 204) continue;
            checkAnswer(what, a, { success: [200], uia: true, checkSuccess: () => {} });
          }
        }),
        { ...budget(60, 10), seed: Number(process.env.FUZZ_SEED ?? Date.now() % 2 ** 31) },
      );
    } finally {
      await t.app.server.close();
    }
  });

  it('afterwards the database holds no partial account', async () => {
    expect(requests).toBeGreaterThan(100);
    expect(await accountInvariants(t.db, ctx.observed)).toEqual([]);
  });
});

/**
 * Writes one raw request, reads until the server closes, and parses every HTTP response in what
 * came back (a request with a short Content-Length can be followed by a second, pipelined one).
 */
function rawExchange(port: number, request: Buffer): Promise<Answer[]> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    const chunks: Buffer[] = [];
    socket.on('data', (c) => chunks.push(c));
    socket.on('error', (err) => {
      // The server may reset a connection it refused after answering; what it sent still counts.
      if ((err as NodeJS.ErrnoException).code === 'ECONNRESET' || (err as NodeJS.ErrnoException).code === 'EPIPE') return;
      reject(err);
    });
    socket.on('close', () => {
      try {
        resolve(parseResponses(Buffer.concat(chunks)));
      } catch (err) {
        reject(err);
      }
    });
    socket.write(request, () => socket.end());
  });
}

function parseResponses(data: Buffer): Answer[] {
  const answers: Answer[] = [];
  let rest = data;
  while (rest.length > 0) {
    const end = rest.indexOf('\r\n\r\n');
    if (end < 0) throw new Error(`a truncated HTTP response: ${JSON.stringify(rest.toString('latin1').slice(0, 200))}`);
    const head = rest.subarray(0, end).toString('latin1').split('\r\n');
    const m = /^HTTP\/1\.[01] (\d{3})/.exec(head[0]!);
    if (!m) throw new Error(`not an HTTP response: ${JSON.stringify(head[0])}`);
    const headers: Record<string, unknown> = {};
    for (const line of head.slice(1)) {
      const i = line.indexOf(':');
      headers[line.slice(0, i).trim().toLowerCase()] = line.slice(i + 1).trim();
    }
    rest = rest.subarray(end + 4);
    let body: Buffer = Buffer.alloc(0);
    if (/chunked/i.test(String(headers['transfer-encoding'] ?? ''))) {
      for (;;) {
        const lineEnd = rest.indexOf('\r\n');
        const size = parseInt(rest.subarray(0, lineEnd).toString('latin1'), 16);
        if (lineEnd < 0 || Number.isNaN(size)) throw new Error('broken chunked response');
        body = Buffer.concat([body, rest.subarray(lineEnd + 2, lineEnd + 2 + size)]);
        rest = rest.subarray(lineEnd + 2 + size + 2);
        if (size === 0) break;
      }
    } else {
      const length = Number(headers['content-length'] ?? 0);
      body = rest.subarray(0, length);
      rest = rest.subarray(length);
    }
    answers.push({ statusCode: Number(m[1]), headers, body: body.toString('utf8') });
  }
  return answers;
}
