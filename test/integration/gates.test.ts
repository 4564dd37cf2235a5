// Password strength (zxcvbn), REGISTRATION_TOKEN_OPTIONAL, the engine's stage order, the
// registration audit log (listing and retention) and the email-domain gate, each off and on,
// against every test database.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { STAGE } from '../../src/domain/flows.js';
import { cryptoRandom, FixedClock } from '../../src/lib/clock.js';
import { createPasswordHasher } from '../../src/lib/secrets.js';
import { createUiaEngine } from '../../src/uia/engine.js';
import { dummyStage } from '../../src/uia/stages/dummy.js';
import { createRegistrationTokenStage } from '../../src/uia/stages/registration-token.js';
import { ADMIN_TOKEN, startApp, uniqueName, type TestApp } from '../helpers/app.js';
import { DATABASE_KINDS, openTestDatabase, type TestDatabase } from '../helpers/databases.js';
import { expectMatrixError, expectSpec, responseValidator } from '../helpers/spec.js';

const PW = 'a good password';
const STRONG = 'correct-horse-battery-staple-zebra-quartz';
const LIMITS = { RATE_LIMIT_REGISTER_BURST: '10000', RATE_LIMIT_REGISTER_REQUESTS_PER_MINUTE: '100000' };
const admin = { authorization: `Bearer ${ADMIN_TOKEN}` };
const DAY = 86_400_000;

describe.each(DATABASE_KINDS)('registration gates (%s)', (kind) => {
  let database: TestDatabase;
  beforeAll(async () => {
    database = await openTestDatabase(kind);
  });
  afterAll(async () => {
    await database?.close();
  });

  async function withApp(env: Record<string, string>, fn: (t: TestApp) => Promise<void>, clock = new FixedClock()) {
    const t = await startApp(database, { ...LIMITS, ...env }, { clock });
    try {
      await fn(t);
    } finally {
      await t.close();
      await t.db.close();
    }
  }
  const post = (t: TestApp, payload: object, opts: { ip?: string; ua?: string } = {}) =>
    t.app.inject({
      method: 'POST', url: '/_matrix/client/v3/register', payload,
      headers: opts.ua ? { 'user-agent': opts.ua } : {}, ...(opts.ip ? { remoteAddress: opts.ip } : {}),
    });
  const spec = (res: Awaited<ReturnType<typeof post>>) => expectSpec(res, 'registration.yaml', '/register', 'post');

  describe('password strength (PASSWORD_MIN_STRENGTH)', () => {
    it('off: a guessable password that meets the character rules is accepted', async () => {
      await withApp({}, async (t) => {
        const res = await post(t, { username: uniqueName(), password: 'password1', auth: { type: STAGE.dummy } });
        expect(res.statusCode).toBe(200);
      });
    });

    it('on: a guessable password is refused with the estimator feedback; a strong one passes', async () => {
      await withApp({ PASSWORD_MIN_STRENGTH: '3' }, async (t) => {
        const weak = await post(t, { username: uniqueName(), password: 'password1' });
        expect(weak.statusCode).toBe(400);
        const body = spec(weak);
        expect(body.errcode).toBe('M_WEAK_PASSWORD');
        expect(body.error).toMatch(/^Password is too easy to guess \(strength [0-2] of 4; at least 3 required\)\. \S/);
        const username = uniqueName('wolfgang');
        const own = await post(t, { username, password: `${username}` });
        expect(spec(own).errcode).toBe('M_WEAK_PASSWORD');
        const ok = await post(t, { username: uniqueName(), password: STRONG, auth: { type: STAGE.dummy } });
        expect(ok.statusCode).toBe(200);
        // After a refusal the client may pick another password in the same session.
        const session = spec(await post(t, { username: uniqueName() })).session;
        expect(spec(await post(t, { password: 'password1', auth: { session } })).errcode).toBe('M_WEAK_PASSWORD');
        expect((await post(t, { password: STRONG, auth: { type: STAGE.dummy, session } })).statusCode).toBe(200);
      });
    });
  });

  describe('REGISTRATION_TOKEN_OPTIONAL', () => {
    it('off: only the tokenless flow is offered', async () => {
      await withApp({}, async (t) => {
        const res = await post(t, { username: uniqueName(), password: PW });
        expect(spec(res).flows).toEqual([{ stages: [STAGE.dummy] }]);
      });
    });

    it('on: offers a token flow besides the tokenless one, and records the token an account used', async () => {
      await withApp({ REGISTRATION_TOKEN_OPTIONAL: 'true' }, async (t) => {
        const created = await t.app.inject({ method: 'POST', url: '/_synapse/admin/v1/registration_tokens/new', headers: admin, payload: { uses_allowed: 5 } });
        expect(created.statusCode).toBe(200);
        const token = created.json().token as string;

        const first = await post(t, { username: uniqueName(), password: PW });
        expect(first.statusCode).toBe(401);
        expect(spec(first).flows).toEqual([{ stages: [STAGE.dummy] }, { stages: [STAGE.registrationToken] }]);

        // Without a token: the dummy flow; nothing recorded.
        const plain = await post(t, { auth: { type: STAGE.dummy, session: first.json().session } });
        expect(plain.statusCode).toBe(200);
        const plainRow = await t.db.query('SELECT registration_token FROM users WHERE user_id = $1', [plain.json().user_id]);
        expect(plainRow.rows[0].registration_token).toBeNull();

        // A wrong token fails the stage; the session can still take either flow.
        const username = uniqueName();
        const s = spec(await post(t, { username, password: PW })).session;
        const wrong = await post(t, { auth: { type: STAGE.registrationToken, token: 'wrongtoken', session: s } });
        expect(wrong.statusCode).toBe(401);
        expect(spec(wrong).errcode).toBe('M_UNAUTHORIZED');
        const withToken = await post(t, { auth: { type: STAGE.registrationToken, token, session: s } });
        expect(withToken.statusCode).toBe(200);
        const userId = spec(withToken).user_id;
        const row = await t.db.query('SELECT registration_token FROM users WHERE user_id = $1', [userId]);
        expect(row.rows[0].registration_token).toBe(token);
        const info = await t.app.inject({ url: `/_synapse/admin/v1/registration_tokens/${token}`, headers: admin });
        expect(info.json()).toMatchObject({ completed: 1, pending: 0 });
        const user = await t.app.inject({ url: `/_synapse/admin/v2/users/${encodeURIComponent(userId)}`, headers: admin });
        expect(user.json().registration_token).toBe(token);
      });
    });
    it('on, with terms: the token goes first in its flow and is recorded; the tokenless flow still works', async () => {
      const policies = { terms_of_service: { version: '1', en: { name: 'Terms', url: 'https://example.org/terms' } } };
      await withApp({ REGISTRATION_TOKEN_OPTIONAL: 'true', TERMS_POLICIES: JSON.stringify(policies) }, async (t) => {
        const token = (await t.app.inject({ method: 'POST', url: '/_synapse/admin/v1/registration_tokens/new', headers: admin, payload: {} })).json().token;
        const first = await post(t, { username: uniqueName(), password: PW });
        const { session, flows } = spec(first);
        expect(flows).toEqual([{ stages: [STAGE.terms] }, { stages: [STAGE.registrationToken, STAGE.terms] }]);
        const afterToken = await post(t, { auth: { type: STAGE.registrationToken, token, session } });
        expect(spec(afterToken).completed).toEqual([STAGE.registrationToken]);
        const done = await post(t, { auth: { type: STAGE.terms, session } });
        expect(done.statusCode).toBe(200);
        const row = await t.db.query('SELECT registration_token FROM users WHERE user_id = $1', [spec(done).user_id]);
        expect(row.rows[0].registration_token).toBe(token);

        const plain = spec(await post(t, { username: uniqueName(), password: PW })).session;
        const plainDone = await post(t, { auth: { type: STAGE.terms, session: plain } });
        expect(plainDone.statusCode).toBe(200);
      });
    });
  });

  describe('stage order (the engine enforces a flow order)', () => {
    it('refuses a stage before the earlier stages of every flow that has it, then accepts it in order', async () => {
      const db = database.connect();
      try {
        const clock = new FixedClock();
        const uia = createUiaEngine({
          db, clock, random: cryptoRandom, sessionLifetimeMs: 3_600_000,
          hasher: createPasswordHasher({ memoryKiB: 1024, iterations: 1, parallelism: 1 }),
          stages: [dummyStage, createRegistrationTokenStage({ db, holdMs: 60_000, failureBudget: { max: 5, windowMs: 60_000 } })],
        });
        const tokenRow = await db.query(
          `INSERT INTO registration_tokens (token, uses_allowed, created_at) VALUES ($1, 1, $2) RETURNING token`,
          [`order${Date.now()}`, clock.now()],
        );
        const token = tokenRow.rows[0].token as string;
        // A cheap gate first, then the last stage (dummy stands in for email/phone here).
        const flows = [[STAGE.registrationToken, STAGE.dummy]];
        const validate = responseValidator('registration.yaml', '/register', 'post', 401);
        const request = (auth?: Record<string, unknown>) => ({ operation: 'POST /register', flows, auth, binding: {}, ip: '127.0.0.1' });

        let session = await uia.open(request());
        const early = await uia.authenticate(session, request({ type: STAGE.dummy, session: session.session_id }));
        expect(early.status).toBe('auth_required');
        if (early.status !== 'auth_required') return;
        expect(validate(early.body)).toBe(true);
        expect(early.body).toMatchObject({ errcode: 'M_FORBIDDEN', error: `Complete the earlier stages of a flow before ${STAGE.dummy}.` });
        expect(early.body.completed).toBeUndefined();

        session = await uia.open(request({ session: session.session_id }));
        const tokenDone = await uia.authenticate(session, request({ type: STAGE.registrationToken, token, session: session.session_id }));
        expect(tokenDone.status).toBe('auth_required');
        if (tokenDone.status !== 'auth_required') return;
        expect(tokenDone.body.completed).toEqual([STAGE.registrationToken]);

        session = await uia.open(request({ session: session.session_id }));
        const done = await uia.authenticate(session, request({ type: STAGE.dummy, session: session.session_id }));
        expect(done.status).toBe('complete');
      } finally {
        await db.close();
      }
    });
  });

  describe('audit log (REGISTRATION_AUDIT)', () => {
    it('off: nothing is recorded', async () => {
      await withApp({}, async (t) => {
        expect((await post(t, { username: uniqueName(), password: PW, auth: { type: STAGE.dummy } })).statusCode).toBe(200);
        expect((await t.db.query('SELECT count(*)::int AS n FROM registration_attempts')).rows[0].n).toBe(0);
      });
    });

    it('on: records every attempt that ended, lists it for the admin, and forgets it after the retention', async () => {
      const clock = new FixedClock(Date.UTC(2026, 5, 1));
      await withApp(
        { REGISTRATION_AUDIT: 'true', REGISTRATION_AUDIT_RETENTION: '30d', REGISTRATION_BANNED_IPS: '203.0.113.0/24', PASSWORD_MIN_STRENGTH: '2' },
        async (t) => {
          const ok = await post(t, { username: uniqueName(), password: STRONG, auth: { type: STAGE.dummy } }, { ua: 'Element/1.11' });
          expect(ok.statusCode).toBe(200);
          // A 401 that asks for more authentication is not an ended attempt.
          const taken = ok.json().user_id.slice(1).split(':')[0];
          expect((await post(t, { username: uniqueName(), password: STRONG })).statusCode).toBe(401);
          expect((await post(t, { username: uniqueName(), password: STRONG }, { ip: '203.0.113.5', ua: 'bot/1' })).statusCode).toBe(403);
          expect((await post(t, { username: uniqueName(), password: 'password1' })).statusCode).toBe(400);
          expect((await post(t, { username: taken, password: STRONG })).statusCode).toBe(400);

          const list = await t.app.inject({ url: '/_synapse/admin/v1/registration_attempts', headers: admin });
          expect(list.statusCode).toBe(200);
          const attempts = list.json().attempts;
          expect(attempts.map((a: { outcome: string; reason: string | null }) => [a.outcome, a.reason])).toEqual([
            ['refused', 'Desired user ID is already taken.'],
            ['refused', 'weak_password'],
            ['refused', 'banned_ip'],
            ['registered', null],
          ]);
          expect(attempts[3]).toMatchObject({
            at: clock.now(), errcode: null, ip: '127.0.0.1', user_agent: 'Element/1.11', kind: 'user',
            user_id: ok.json().user_id, flow: [STAGE.dummy], registration_token: null,
          });
          expect(attempts[2]).toMatchObject({ errcode: 'M_FORBIDDEN', ip: '203.0.113.5', user_agent: 'bot/1', user_id: null });
          expect(attempts[0].errcode).toBe('M_USER_IN_USE');

          const refused = await t.app.inject({ url: '/_synapse/admin/v1/registration_attempts?outcome=refused&limit=2', headers: admin });
          expect(refused.json().attempts).toHaveLength(2);
          const next = refused.json().next_token;
          expect(next).toMatch(/^\d+$/);
          const page2 = await t.app.inject({ url: `/_synapse/admin/v1/registration_attempts?outcome=refused&limit=2&from=${next}`, headers: admin });
          expect(page2.json().attempts.map((a: { reason: string }) => a.reason)).toEqual(['banned_ip']);
          const byIp = await t.app.inject({ url: '/_synapse/admin/v1/registration_attempts?ip=203.0.113.5', headers: admin });
          expect(byIp.json().attempts).toHaveLength(1);
          expectMatrixError(await t.app.inject({ url: '/_synapse/admin/v1/registration_attempts?outcome=nope', headers: admin }), 400, 'M_INVALID_PARAM');
          expectMatrixError(await t.app.inject({ url: '/_synapse/admin/v1/registration_attempts' }), 401, 'M_MISSING_TOKEN');

          // Retention: the clean-up job drops records older than REGISTRATION_AUDIT_RETENTION.
          clock.advance(29 * DAY);
          await t.app.maintenance.runOnce();
          expect((await t.app.inject({ url: '/_synapse/admin/v1/registration_attempts', headers: admin })).json().attempts).toHaveLength(4);
          clock.advance(2 * DAY);
          await t.app.maintenance.runOnce();
          expect((await t.app.inject({ url: '/_synapse/admin/v1/registration_attempts', headers: admin })).json().attempts).toHaveLength(0);
        },
        clock,
      );
    });

    it('records accounts left awaiting approval, and the token used', async () => {
      await withApp({ REGISTRATION_AUDIT: 'true', REGISTRATION_REQUIRES_APPROVAL: 'true', REGISTRATION_TOKEN_OPTIONAL: 'true' }, async (t) => {
        const token = (await t.app.inject({ method: 'POST', url: '/_synapse/admin/v1/registration_tokens/new', headers: admin, payload: {} })).json().token;
        const username = uniqueName();
        const res = await post(t, { username, password: PW, auth: { type: STAGE.registrationToken, token } });
        expect(spec(res).errcode).toBe('M_USER_AWAITING_APPROVAL');
        const list = (await t.app.inject({ url: '/_synapse/admin/v1/registration_attempts?outcome=pending_approval', headers: admin })).json();
        expect(list.attempts[0]).toMatchObject({ user_id: `@${username}:test.example`, flow: [STAGE.registrationToken], registration_token: token });
        const pending = (await t.app.inject({ url: '/_synapse/admin/v2/users?approved=false', headers: admin })).json();
        expect(pending.users.find((u: { name: string }) => u.name === `@${username}:test.example`).registration_token).toBe(token);
      });
    });
  });

  describe('email domains (the gate issue 4’s requestToken calls)', () => {
    it('off: every domain is accepted', async () => {
      await withApp({}, async (t) => {
        expect(() => t.app.registrationGates.checkEmailAddress('a@mailinator.com')).not.toThrow();
      });
    });
    it('on: disposable, denied and unlisted domains are refused with 403 M_THREEPID_DENIED', async () => {
      await withApp(
        { REGISTRATION_BANNED_IPS: '192.0.2.0/24', REGISTRATION_REFUSE_DISPOSABLE_EMAIL: 'true', REGISTRATION_EMAIL_DOMAIN_DENYLIST: 'spam.example', REGISTRATION_EMAIL_DOMAIN_ALLOWLIST: 'example.org,mailinator.com,spam.example' },
        async (t) => {
          const refusal = (address: string) => {
            try {
              t.app.registrationGates.checkEmailAddress(address);
              return undefined;
            } catch (err) {
              return err as { status: number; errcode: string; message: string };
            }
          };
          expect(refusal('a@mailinator.com')).toMatchObject({ status: 403, errcode: 'M_THREEPID_DENIED', message: expect.stringMatching(/disposable/) });
          expect(refusal('a@x.spam.example')).toMatchObject({ status: 403, errcode: 'M_THREEPID_DENIED' });
          expect(refusal('a@gmail.com')).toMatchObject({ status: 403, errcode: 'M_THREEPID_DENIED' });
          expect(refusal('a@mail.example.org')).toBeUndefined();

          // The requestToken hook: bans first, and the domain policy only for new addresses.
          const hook = (r: { ip: string; purpose: 'registration' | 'reset'; address: string }) =>
            t.app.registrationGates.checkRequestToken({ ...r, medium: 'email' }).then(() => undefined, (err) => err);
          expect(await hook({ ip: '203.0.113.1', purpose: 'registration', address: 'a@mailinator.com' })).toMatchObject({ errcode: 'M_THREEPID_DENIED' });
          expect(await hook({ ip: '203.0.113.1', purpose: 'reset', address: 'a@mailinator.com' })).toBeUndefined();
          expect(await hook({ ip: '192.0.2.1', purpose: 'registration', address: 'a@example.org' })).toMatchObject({ status: 403, errcode: 'M_FORBIDDEN' });
        },
      );
    });
  });
});
