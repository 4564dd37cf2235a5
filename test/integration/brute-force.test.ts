// Brute force: every endpoint that lets a client test a secret stops a guesser with 429
// M_LIMIT_EXCEEDED (retry_after_ms and Retry-After), counts per client IP (another address is
// not refused), and keeps refusing a right guess once the budget is spent.
//
// ADDING A CASE: one entry in CASES: the configuration giving a small budget, how to make one
// wrong guess and one right one, and the spec operation its 429 belongs to. Cases still to add
// when their endpoints land: login (POST /login with wrong passwords: rc_login.failed_attempts
// per account and rc_login.address per IP) and requestToken (POST /register/email/requestToken
// and /register/msisdn/requestToken: sends per IP and per address).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_TOKEN, startApp, uniqueName, type TestApp } from '../helpers/app.js';
import { DATABASE_KINDS, openTestDatabase, type TestDatabase } from '../helpers/databases.js';
import { checkAnswer, type Answer, type SpecRef } from '../helpers/hostile.js';

interface Attempt {
  app: TestApp;
  /** The client address this guess comes from. */
  ip: string;
  /** State the case set up once (e.g. a UIA session per address). */
  state: Map<string, unknown>;
}

interface BruteForceCase {
  name: string;
  env: Record<string, string>;
  /** Guesses allowed per address before 429. */
  budget: number;
  spec: SpecRef;
  /** Runs once before the guesses (e.g. creates the secret that a right guess will name). */
  setup?: (t: TestApp) => Promise<string>;
  /** One wrong guess: the answer must be the endpoint's "no" (checked by `refused`). */
  wrong: (a: Attempt) => Promise<Answer>;
  refused: (a: Answer) => void;
  /** One right guess (the secret from setup). */
  right: (a: Attempt, secret: string) => Promise<Answer>;
  /** The budget comes back after this long (when the limit runs on the injected clock). */
  windowOnClockMs?: number;
}

const answer = (r: { statusCode: number; body: string; headers: Record<string, unknown> }): Answer => ({
  statusCode: r.statusCode,
  body: r.body,
  headers: r.headers,
});

const VALIDITY = '/_matrix/client/v1/register/m.login.registration_token/validity';
const validitySpec: SpecRef = { file: 'registration_tokens.yaml', path: '/register/m.login.registration_token/validity', method: 'get' };
const registerSpec: SpecRef = { file: 'registration.yaml', path: '/register', method: 'post' };

async function createToken(t: TestApp): Promise<string> {
  const r = await t.app.inject({
    method: 'POST', url: '/_synapse/admin/v1/registration_tokens/new', headers: { authorization: `Bearer ${ADMIN_TOKEN}` }, payload: {},
  });
  expect(r.statusCode).toBe(200);
  return r.json().token;
}

/** A UIA registration session per address, started once, in which that address guesses tokens. */
async function sessionFor(a: Attempt): Promise<string> {
  let s = a.state.get(a.ip) as string | undefined;
  if (!s) {
    const r = await a.app.app.inject({
      method: 'POST', url: '/_matrix/client/v3/register', remoteAddress: a.ip, payload: { username: uniqueName(), password: 'a good password' },
    });
    expect(r.statusCode).toBe(401);
    s = r.json().session as string;
    a.state.set(a.ip, s);
  }
  return s;
}

const guessToken = (a: Attempt, token: string) =>
  sessionFor(a).then(async (session) =>
    answer(await a.app.app.inject({
      method: 'POST', url: '/_matrix/client/v3/register', remoteAddress: a.ip,
      payload: { auth: { type: 'm.login.registration_token', token, session } },
    })));

const CASES: BruteForceCase[] = [
  {
    name: 'registration token validity check',
    env: { REGISTRATION_REQUIRES_TOKEN: 'true', RATE_LIMIT_TOKEN_VALIDITY_BURST: '5', RATE_LIMIT_TOKEN_VALIDITY_PER_SECOND: '0.1' },
    budget: 5,
    spec: validitySpec,
    setup: createToken,
    wrong: async (a) => answer(await a.app.app.inject({ url: `${VALIDITY}?token=guess${Math.random().toString(36).slice(2)}`, remoteAddress: a.ip })),
    refused: (r) => {
      expect(r.statusCode).toBe(200);
      expect(checkAnswer('validity', r, { success: [200], spec: validitySpec })).toEqual({ valid: false });
    },
    right: async (a, token) => answer(await a.app.app.inject({ url: `${VALIDITY}?token=${token}`, remoteAddress: a.ip })),
  },
  {
    name: 'm.login.registration_token stage (UIA failure budget)',
    env: {
      REGISTRATION_REQUIRES_TOKEN: 'true',
      RATE_LIMIT_TOKEN_FAILURES: '4',
      RATE_LIMIT_TOKEN_FAILURES_WINDOW: '10m',
      RATE_LIMIT_REGISTER_BURST: '1000',
    },
    budget: 4,
    spec: registerSpec,
    setup: createToken,
    wrong: (a) => guessToken(a, `guess${Math.random().toString(36).slice(2)}`),
    refused: (r) => {
      expect(r.statusCode).toBe(401);
      expect(checkAnswer('token stage', r, { success: [], spec: registerSpec, uia: true }).errcode).toBe('M_UNAUTHORIZED');
    },
    right: (a, token) => guessToken(a, token),
    windowOnClockMs: 10 * 60_000,
  },
];

describe.each(DATABASE_KINDS)('brute force (%s)', (kind) => {
  let database: TestDatabase;
  beforeAll(async () => {
    database = await openTestDatabase(kind);
  });
  afterAll(async () => {
    await database?.close();
  });

  describe.each(CASES)('$name', (c) => {
    let t: TestApp;
    let secret: string;
    const state = new Map<string, unknown>();
    beforeAll(async () => {
      t = await startApp(database, c.env, process.env.BF_DEBUG ? { logger: { level: 'error' } } : {});
      secret = c.setup ? await c.setup(t) : '';
    });
    afterAll(async () => {
      await t?.close();
    });

    const attacker = '203.0.113.7';
    const bystander = '198.51.100.20';

    it(`allows ${c.budget} wrong guesses per address, then answers 429 with retry_after_ms and Retry-After`, async () => {
      for (let i = 0; i < c.budget; i++) c.refused(await c.wrong({ app: t, ip: attacker, state }));
      for (let i = 0; i < 3; i++) {
        const limited = await c.wrong({ app: t, ip: attacker, state });
        expect(limited.statusCode).toBe(429);
        const body = checkAnswer(c.name, limited, { success: [], spec: c.spec });
        expect(body.errcode).toBe('M_LIMIT_EXCEEDED');
        expect(body.retry_after_ms).toBeGreaterThan(0);
        expect(Number(limited.headers['retry-after'])).toBeGreaterThanOrEqual(1);
      }
    });

    it('refuses even a right guess from that address while the budget is spent', async () => {
      const r = await c.right({ app: t, ip: attacker, state }, secret);
      expect(r.statusCode).toBe(429);
      checkAnswer(c.name, r, { success: [], spec: c.spec });
    });

    it('counts per address: another client is not refused', async () => {
      c.refused(await c.wrong({ app: t, ip: bystander, state }));
      const r = await c.right({ app: t, ip: bystander, state }, secret);
      expect(r.statusCode).not.toBe(429);
    });

    if (c.windowOnClockMs !== undefined) {
      it('gives the budget back when its window ends', async () => {
        t.clock.advance(c.windowOnClockMs! + 1);
        c.refused(await c.wrong({ app: t, ip: attacker, state }));
      });
    }
  });
});
