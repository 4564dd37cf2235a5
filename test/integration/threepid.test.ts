// Email and phone validation against a real SMTP server (smtp-server) and a real HTTP server
// playing the SMS gateway, on every test database: requestToken, the link page (GET shows a
// button, POST validates), submit_url, the m.login.email.identity / m.login.msisdn stages,
// binding at registration, the non-revealing answers, budgets, the outbox's delivery guarantees
// (outage, retries, two workers), password reset by email and phone, and unbinding at
// deactivation.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DATABASE_KINDS, openTestDatabase, type TestDatabase } from '../helpers/databases.js';
import { startApp, uniqueName, type TestApp } from '../helpers/app.js';
import { linkAndCode, startSmtpServer, type ReceivedMail, type TestSmtp } from '../helpers/mail.js';
import { expectRequestTokenResponse } from '../helpers/request-token-schema.js';
import { smsCode, startSmsGateway, type TestSmsGateway } from '../helpers/sms-gateway.js';
import { expectMatrixError, expectSpec } from '../helpers/spec.js';
import { createDelivery } from '../../src/lib/delivery.js';
import { createOutboxWorker } from '../../src/services/outbox.js';

const V3 = '/_matrix/client/v3';
const SUBMIT = '/_registration/v1/threepid/submit_token';
const PAGE = '/_registration/v1/threepid/validate';
const GATEWAY_SECRET = 'Bearer gateway-secret-123';

let smtp: TestSmtp;
let gateway: TestSmsGateway;

beforeAll(async () => {
  smtp = await startSmtpServer();
  gateway = await startSmsGateway();
});
afterAll(async () => {
  await smtp?.stop();
  await gateway?.close();
});

let phoneCounter = 0;
/** A distinct valid UK mobile number per call (national format) and its msisdn. */
function uniquePhone(): { national: string; msisdn: string } {
  phoneCounter += 1;
  const tail = String((process.pid * 37 + phoneCounter * 7919) % 1_000_000).padStart(6, '0');
  return { national: `07400 ${tail}`, msisdn: `447400${tail}` };
}
const uniqueEmail = (prefix = 'u') => `${uniqueName(prefix)}@example.org`;
const secret = () => `cs_${uniqueName('s')}`;

describe.each(DATABASE_KINDS)('third-party identifiers (%s)', (kind) => {
  let database: TestDatabase;
  let t: TestApp;

  const env = () => ({
    ENABLE_REGISTRATION_WITHOUT_VERIFICATION: 'false',
    REGISTRATION_REQUIRES_3PID: 'either',
    PUBLIC_BASEURL: 'https://matrix.test.example',
    SMTP_URL: smtp.url,
    EMAIL_FROM: 'Registration <noreply@test.example>',
    SMTP_REQUIRE_TLS: 'false',
    SMS_GATEWAY_URL: gateway.url,
    SMS_GATEWAY_AUTH_VALUE: GATEWAY_SECRET,
    NEXT_LINK_ALLOWED_HOSTS: 'client.example',
    THREEPID_ALLOWED_EMAIL_PATTERNS: '[^@]+@example\\.org [^@]+@allowed\\.example',
    THREEPID_ALLOWED_MSISDN_PATTERNS: '44\\d+',
    RATE_LIMIT_REGISTER_BURST: '1000',
    RATE_LIMIT_3PID_SENDS_PER_IP: '1000',
    RATE_LIMIT_3PID_FAILURES_PER_IP: '1000',
    RATE_LIMIT_3PID_REQUESTS_PER_MINUTE: '100000',
    OUTBOX_RETRY_BASE: '10s',
    OUTBOX_SEND_TIMEOUT: '5s',
  });

  beforeAll(async () => {
    database = await openTestDatabase(kind);
    t = await startApp(database, env());
  });
  afterAll(async () => {
    await t?.close();
    await database?.close();
  });

  const post = (url: string, payload: unknown, a: TestApp = t, remoteAddress?: string) =>
    a.app.inject({ method: 'POST', url, payload: payload as object, ...(remoteAddress ? { remoteAddress } : {}) });

  const requestEmail = (path: 'register' | 'account/password', email: string, clientSecret: string, extra: object = {}, a: TestApp = t) =>
    post(`${V3}/${path}/email/requestToken`, { client_secret: clientSecret, email, send_attempt: 1, ...extra }, a);
  const requestMsisdn = (path: 'register' | 'account/password', national: string, clientSecret: string, extra: object = {}, a: TestApp = t) =>
    post(`${V3}/${path}/msisdn/requestToken`, { client_secret: clientSecret, country: 'GB', phone_number: national, send_attempt: 1, ...extra }, a);

  /** Runs the outbox and returns the mails that arrived for `to` (waiting for `count` of them). */
  async function mailsFor(to: string, count = 1, a: TestApp = t): Promise<ReceivedMail[]> {
    await a.app.outbox.runOnce();
    const deadline = Date.now() + 10_000;
    for (;;) {
      const got = smtp.received.filter((m) => m.to.includes(to));
      if (got.length >= count) return got;
      if (Date.now() > deadline) throw new Error(`expected ${count} mails to ${to}, got ${got.length}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }
  async function smsFor(msisdn: string, count = 1) {
    await t.app.outbox.runOnce();
    const deadline = Date.now() + 10_000;
    for (;;) {
      const got = gateway.received.filter((m) => m.to === `+${msisdn}`);
      if (got.length >= count) return got;
      if (Date.now() > deadline) throw new Error(`expected ${count} SMS to ${msisdn}, got ${got.length}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  const form = (fields: Record<string, string>, a: TestApp = t) =>
    a.app.inject({
      method: 'POST',
      url: PAGE,
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: new URLSearchParams(fields).toString(),
    });

  /** Opens the emailed link: GET (the button), then POST of the page's form. */
  async function confirmByLink(mail: ReceivedMail) {
    const { url } = linkAndCode(mail);
    expect(url.origin).toBe('https://matrix.test.example');
    const get = await t.app.inject({ url: `${url.pathname}${url.search}` });
    expect(get.statusCode).toBe(200);
    expect(get.headers['content-type']).toMatch(/^text\/html/);
    expect(get.body).toContain('<form method="post"');
    return form(Object.fromEntries(url.searchParams));
  }

  async function startRegistration(username: string) {
    const res = await post(`${V3}/register`, { username, password: 'a good password' });
    expect(res.statusCode).toBe(401);
    return expectSpec(res, 'registration.yaml', '/register', 'post');
  }
  const registerWith = (session: string, type: string, sid: string, clientSecret: string) =>
    post(`${V3}/register`, { auth: { type, session, threepid_creds: { sid, client_secret: clientSecret } } });

  async function registerByEmail(email: string) {
    const cs = secret();
    const { sid } = expectRequestTokenResponse(await requestEmail('register', email, cs));
    const [mail] = (await mailsFor(email)).slice(-1);
    expect((await confirmByLink(mail!)).statusCode).toBe(200);
    const username = uniqueName();
    const challenge = await startRegistration(username);
    const done = await registerWith(challenge.session, 'm.login.email.identity', sid, cs);
    expect(done.statusCode, done.body).toBe(200);
    return expectSpec(done, 'registration.yaml', '/register', 'post').user_id as string;
  }

  it('offers the email and phone flows and registers by email through the link page (GET shows, POST validates)', async () => {
    const email = uniqueEmail();
    const cs = secret();
    const username = uniqueName();
    const challenge = await startRegistration(username);
    expect(challenge.flows).toEqual([{ stages: ['m.login.email.identity'] }, { stages: ['m.login.msisdn'] }]);

    // id_server and id_access_token are accepted and ignored; the address is canonicalised.
    const res = await requestEmail('register', `  ${email.toUpperCase()} `, cs, { id_server: 'id.example', id_access_token: 'x' });
    const body = expectRequestTokenResponse(res);
    expect(body.submit_url).toBe(`https://matrix.test.example${SUBMIT}`);

    const [mail] = await mailsFor(email);
    expect(mail!.to).toEqual([email]);
    expect(mail!.from).toBe('noreply@test.example');
    const { url, code } = linkAndCode(mail!);
    expect(mail!.html).toContain(code);
    expect(url.searchParams.get('sid')).toBe(body.sid);

    // The GET (what a mail scanner does) validates nothing: the stage still fails.
    const get = await t.app.inject({ url: `${url.pathname}${url.search}` });
    expect(get.statusCode).toBe(200);
    expect(get.headers['cache-control']).toBe('no-store');
    const early = await registerWith(challenge.session, 'm.login.email.identity', body.sid, cs);
    expect(early.statusCode).toBe(401);
    expect(expectSpec(early, 'registration.yaml', '/register', 'post').errcode).toBe('M_UNAUTHORIZED');

    const confirmed = await form(Object.fromEntries(url.searchParams));
    expect(confirmed.statusCode).toBe(200);
    expect(confirmed.body).toContain('Address confirmed');

    const done = await registerWith(challenge.session, 'm.login.email.identity', body.sid, cs);
    expect(done.statusCode, done.body).toBe(200);
    expect(expectSpec(done, 'registration.yaml', '/register', 'post').user_id).toBe(`@${username}:test.example`);
    const bound = await t.db.query('SELECT user_id FROM user_threepids WHERE medium = $1 AND address = $2', ['email', email]);
    expect(bound.rows).toEqual([{ user_id: `@${username}:test.example` }]);
  });

  it('registers by phone: SMS through the gateway with its auth header, code through submit_url', async () => {
    const phone = uniquePhone();
    const cs = secret();
    const body = expectRequestTokenResponse(await requestMsisdn('register', phone.national, cs));
    expect(body.msisdn).toBe(phone.msisdn);
    expect(body.submit_url).toBe(`https://matrix.test.example${SUBMIT}`);
    const [sms] = await smsFor(phone.msisdn);
    expect(sms!.headers.authorization).toBe(GATEWAY_SECRET);
    const code = smsCode(sms!);

    const ok = await post(SUBMIT, { sid: body.sid, client_secret: cs, token: code });
    expect(ok.statusCode).toBe(200);
    expect(ok.json()).toEqual({ success: true });

    const username = uniqueName();
    const challenge = await startRegistration(username);
    // The email stage cannot be completed with a phone session.
    const wrongStage = await registerWith(challenge.session, 'm.login.email.identity', body.sid, cs);
    expect(wrongStage.statusCode).toBe(401);
    const done = await registerWith(challenge.session, 'm.login.msisdn', body.sid, cs);
    expect(done.statusCode, done.body).toBe(200);
    expectSpec(done, 'registration.yaml', '/register', 'post');
    const bound = await t.db.query('SELECT user_id FROM user_threepids WHERE medium = $1 AND address = $2', ['msisdn', phone.msisdn]);
    expect(bound.rows).toEqual([{ user_id: `@${username}:test.example` }]);
  });

  it('returns the same sid and sends nothing for a repeated send_attempt; a higher one sends a new code', async () => {
    const email = uniqueEmail();
    const cs = secret();
    const first = expectRequestTokenResponse(await requestEmail('register', email, cs));
    const again = expectRequestTokenResponse(await requestEmail('register', email, cs));
    expect(again.sid).toBe(first.sid);
    const one = await mailsFor(email);
    await t.app.outbox.runOnce();
    expect(smtp.received.filter((m) => m.to.includes(email))).toHaveLength(1);

    const third = expectRequestTokenResponse(await requestEmail('register', email, cs, { send_attempt: 2 }));
    expect(third.sid).toBe(first.sid);
    const two = await mailsFor(email, 2);
    const oldCode = linkAndCode(one[0]!).code;
    const newCode = linkAndCode(two[1]!).code;
    expect(newCode).not.toBe(oldCode);
    // Only the newest code validates.
    const stale = await post(SUBMIT, { sid: first.sid, client_secret: cs, token: oldCode });
    expectMatrixError(stale, 400, 'M_THREEPID_AUTH_FAILED');
    expect((await post(SUBMIT, { sid: first.sid, client_secret: cs, token: newCode })).statusCode).toBe(200);
  });

  it('refuses a wrong client_secret, a wrong or expired token, and locks a session after too many wrong codes', async () => {
    const email = uniqueEmail();
    const cs = secret();
    const { sid } = expectRequestTokenResponse(await requestEmail('register', email, cs));
    const { code } = linkAndCode((await mailsFor(email))[0]!);

    expectMatrixError(await post(SUBMIT, { sid, client_secret: `${cs}x`, token: code }), 400, 'M_THREEPID_AUTH_FAILED');
    // The stage refuses a wrong client_secret too.
    const challenge = await startRegistration(uniqueName());
    expect((await registerWith(challenge.session, 'm.login.email.identity', sid, `${cs}x`)).statusCode).toBe(401);

    // client_secret grammar is checked, anchored.
    const bad = await requestEmail('register', email, 'bad secret!');
    expect(expectSpec(bad, 'registration.yaml', '/register/email/requestToken', 'post').errcode).toBe('M_INVALID_PARAM');
    expect((await requestEmail('register', email, `ok\nbad`)).statusCode).toBe(400);

    for (let i = 0; i < 5; i++) {
      expectMatrixError(await post(SUBMIT, { sid, client_secret: cs, token: `WRONG${i}` }), 400, 'M_THREEPID_AUTH_FAILED');
    }
    const locked = await post(SUBMIT, { sid, client_secret: cs, token: code });
    expect(expectMatrixError(locked, 429, 'M_LIMIT_EXCEEDED').retry_after_ms).toBeGreaterThan(0);

    // Expiry: a fresh session whose code has lapsed.
    const email2 = uniqueEmail();
    const cs2 = secret();
    const s2 = expectRequestTokenResponse(await requestEmail('register', email2, cs2));
    const code2 = linkAndCode((await mailsFor(email2))[0]!).code;
    t.clock.advance(t.config.threepid.tokenLifetimeMs + 1);
    expectMatrixError(await post(SUBMIT, { sid: s2.sid, client_secret: cs2, token: code2 }), 400, 'M_THREEPID_AUTH_FAILED');
    const page = await form({ sid: s2.sid, client_secret: cs2, token: code2 });
    expect(page.statusCode).toBe(400);
    expect(page.body).toContain('Validation failed');
  });

  it('does not reveal accounts: a bound address gets a notice instead of a code; an unknown one gets nothing', async () => {
    const email = uniqueEmail('bound');
    await registerByEmail(email);
    const before = smtp.received.filter((m) => m.to.includes(email)).length;

    const cs = secret();
    const res = expectRequestTokenResponse(await requestEmail('register', email, cs));
    const mails = await mailsFor(email, before + 1);
    const notice = mails[before]!;
    expect(notice.subject).toContain('already have an account');
    expect(notice.text).not.toMatch(/code in your app/);
    // The session can never validate, and the stage refuses it.
    expectMatrixError(await post(SUBMIT, { sid: res.sid, client_secret: cs, token: 'ANYTHING' }), 400, 'M_THREEPID_AUTH_FAILED');

    const unknown = uniqueEmail('nobody');
    const reset = await requestEmail('account/password', unknown, secret());
    const resetBody = expectRequestTokenResponse(reset);
    expect(Object.keys(resetBody).sort()).toEqual(Object.keys(res).sort());
    await t.app.outbox.runOnce();
    expect(smtp.received.filter((m) => m.to.includes(unknown))).toHaveLength(0);

    // The revealing option restores Synapse's errors.
    const revealing = await startApp(database, { ...env(), THREEPID_REVEAL_ACCOUNTS: 'true' });
    try {
      const inUse = await requestEmail('register', email, secret(), {}, revealing);
      expect(expectSpec(inUse, 'registration.yaml', '/register/email/requestToken', 'post').errcode).toBe('M_THREEPID_IN_USE');
      const notFound = await requestEmail('account/password', unknown, secret(), {}, revealing);
      expect(expectSpec(notFound, 'password_management.yaml', '/account/password/email/requestToken', 'post').errcode).toBe(
        'M_THREEPID_NOT_FOUND',
      );
    } finally {
      await revealing.close();
    }
  });

  it('answers M_THREEPID_DENIED off the allow-patterns, and refuses bad numbers and next_links', async () => {
    const denied = await requestEmail('register', 'someone@evil.example', secret());
    expect(denied.statusCode).toBe(403);
    expect(expectSpec(denied, 'registration.yaml', '/register/email/requestToken', 'post').errcode).toBe('M_THREEPID_DENIED');
    // Anchored: the allowed domain as a prefix of another does not pass.
    expect((await requestEmail('register', 'x@example.org.evil.example', secret())).statusCode).toBe(403);
    const us = await post(`${V3}/register/msisdn/requestToken`, { client_secret: secret(), country: 'US', phone_number: '2025550123', send_attempt: 1 });
    expect(expectSpec(us, 'registration.yaml', '/register/msisdn/requestToken', 'post').errcode).toBe('M_THREEPID_DENIED');

    const badNumber = await requestMsisdn('register', '12', secret());
    expect(expectSpec(badNumber, 'registration.yaml', '/register/msisdn/requestToken', 'post').errcode).toBe('M_INVALID_PARAM');

    for (const next_link of ['https://evil.example/x', 'javascript:alert(1)', 'ftp://client.example/', 'https://user@client.example/']) {
      const r = await requestEmail('register', uniqueEmail(), secret(), { next_link });
      expect(expectSpec(r, 'registration.yaml', '/register/email/requestToken', 'post').errcode).toBe('M_INVALID_PARAM');
    }

    // On the allow-list: after the POST the page redirects there.
    const email = uniqueEmail();
    expectRequestTokenResponse(await requestEmail('register', email, secret(), { next_link: 'https://client.example/welcome' }));
    const done = await confirmByLink((await mailsFor(email))[0]!);
    expect(done.statusCode).toBe(303);
    expect(done.headers.location).toBe('https://client.example/welcome');
  });

  it('serves the link page safely: incomplete links refused, values escaped, never cached or framed', async () => {
    const missing = await t.app.inject({ url: PAGE });
    expect(missing.statusCode).toBe(400);
    expect(missing.headers['content-type']).toMatch(/^text\/html/);
    const hostile = await t.app.inject({ url: `${PAGE}?sid=abc&client_secret=def&token=${encodeURIComponent('"><script>alert(1)</script>')}` });
    expect(hostile.statusCode).toBe(200);
    expect(hostile.body).not.toContain('<script>');
    expect(hostile.body).toContain('&quot;&gt;&lt;script&gt;');
    expect(hostile.headers['content-security-policy']).toContain("default-src 'none'");
    expect(hostile.headers['x-frame-options']).toBe('DENY');
    expect(hostile.headers['referrer-policy']).toBe('no-referrer');
    // A POST with a bogus token validates nothing and says so.
    const bogus = await form({ sid: 'abc', client_secret: 'def', token: 'nope' });
    expect(bogus.statusCode).toBe(400);
    expect(bogus.body).toContain('Validation failed');
  });

  it('keeps budgets on sends per address and on wrong submissions per IP', async () => {
    const email = uniqueEmail();
    for (let i = 0; i < t.config.threepid.sendsPerAddress; i++) expectRequestTokenResponse(await requestEmail('register', email, secret()));
    const over = await requestEmail('register', email, secret());
    expect(expectMatrixError(over, 429, 'M_LIMIT_EXCEEDED').retry_after_ms).toBeGreaterThan(0);

    const strict = await startApp(database, { ...env(), RATE_LIMIT_3PID_FAILURES_PER_IP: '2' });
    try {
      const body = { sid: 'unknownsid', client_secret: 'x', token: 'y' };
      const ip = '10.9.8.7';
      expectMatrixError(await post(SUBMIT, body, strict, ip), 400, 'M_THREEPID_AUTH_FAILED');
      expectMatrixError(await post(SUBMIT, body, strict, ip), 400, 'M_THREEPID_AUTH_FAILED');
      expect(expectMatrixError(await post(SUBMIT, body, strict, ip), 429, 'M_LIMIT_EXCEEDED').retry_after_ms).toBeGreaterThan(0);
      // Another address is not affected.
      expectMatrixError(await post(SUBMIT, body, strict, '10.9.8.6'), 400, 'M_THREEPID_AUTH_FAILED');
    } finally {
      await strict.close();
    }
  });

  it('fails the registration cleanly when the address was bound by another account meanwhile', async () => {
    const email = uniqueEmail('race');
    const sessions: { sid: string; cs: string }[] = [];
    for (let i = 0; i < 2; i++) {
      const cs = secret();
      const { sid } = expectRequestTokenResponse(await requestEmail('register', email, cs));
      const mail = (await mailsFor(email, i + 1))[i]!;
      expect((await confirmByLink(mail)).statusCode).toBe(200);
      sessions.push({ sid, cs });
    }
    const a = await startRegistration(uniqueName());
    const bName = uniqueName();
    const b = await startRegistration(bName);
    expect((await registerWith(a.session, 'm.login.email.identity', sessions[0]!.sid, sessions[0]!.cs)).statusCode).toBe(200);
    const second = await registerWith(b.session, 'm.login.email.identity', sessions[1]!.sid, sessions[1]!.cs);
    expect(expectSpec(second, 'registration.yaml', '/register', 'post').errcode).toBe('M_THREEPID_IN_USE');
    const avail = await t.app.inject({ url: `${V3}/register/available?username=${bName}` });
    expect(expectSpec(avail, 'registration.yaml', '/register/available', 'get')).toEqual({ available: true });
  });

  it('delays mail while SMTP is down and loses nothing; marks a message failed after its last attempt', async () => {
    const email = uniqueEmail('outage');
    await smtp.stop();
    try {
      expectRequestTokenResponse(await requestEmail('register', email, secret()));
      await t.app.outbox.runOnce();
      const row = await t.db.query('SELECT status, attempts, last_error FROM outbox WHERE recipient = $1', [email]);
      expect(row.rows).toMatchObject([{ status: 'pending', attempts: 1 }]);
      expect(row.rows[0].last_error).toBeTruthy();
    } finally {
      await smtp.start();
    }
    // Not due yet: nothing is sent before the backoff.
    await t.app.outbox.runOnce();
    expect(smtp.received.filter((m) => m.to.includes(email))).toHaveLength(0);
    t.clock.advance(t.config.outbox.retryBaseMs);
    const mails = await mailsFor(email);
    expect(mails).toHaveLength(1);
    const sent = await t.db.query('SELECT status, attempts, body_text FROM outbox WHERE recipient = $1', [email]);
    expect(sent.rows).toEqual([{ status: 'sent', attempts: 2, body_text: '' }]);

    // The gateway stays down: after OUTBOX_MAX_ATTEMPTS the message is marked failed.
    const lastChance = await startApp(database, { ...env(), OUTBOX_MAX_ATTEMPTS: '2' }, { clock: t.clock });
    const phone = uniquePhone();
    gateway.failing = true;
    try {
      expectRequestTokenResponse(await requestMsisdn('register', phone.national, secret(), {}, lastChance));
      await lastChance.app.outbox.runOnce();
      t.clock.advance(t.config.outbox.retryBaseMs);
      await lastChance.app.outbox.runOnce();
      const failed = await t.db.query('SELECT status, attempts FROM outbox WHERE recipient = $1', [`+${phone.msisdn}`]);
      expect(failed.rows).toEqual([{ status: 'failed', attempts: 2 }]);
    } finally {
      gateway.failing = false;
      await lastChance.close();
    }
  });

  it('shares the outbox between two workers without sending any message twice', async () => {
    // Real Postgres: a second instance (its own pool) on the same database. Embedded: one data
    // directory serves one instance over one connection, so the second worker shares the pool.
    const other = kind === 'postgres' ? await startApp(database, env(), { clock: t.clock }) : undefined;
    const delivery = createDelivery({ email: t.config.email, sms: t.config.sms, timeoutMs: 5000 });
    const second =
      other?.app.outbox ??
      createOutboxWorker({
        db: t.db,
        clock: t.clock,
        delivery,
        log: { info() {}, warn() {}, error() {} },
        maxAttempts: 3,
        retryBaseMs: 10_000,
        retryMaxMs: 60_000,
        leaseMs: 60_000,
        batchSize: 3,
      });
    try {
      const emails = Array.from({ length: 8 }, () => uniqueEmail('pair'));
      for (const e of emails) expectRequestTokenResponse(await requestEmail('register', e, secret()));
      const [a, b] = await Promise.all([t.app.outbox.runOnce(), second.runOnce()]);
      expect(a + b).toBe(emails.length);
      for (const e of emails) expect(smtp.received.filter((m) => m.to.includes(e))).toHaveLength(1);
      const rows = await t.db.query(`SELECT status, attempts FROM outbox WHERE recipient = ANY($1::text[])`, [emails]);
      expect(rows.rows).toEqual(emails.map(() => ({ status: 'sent', attempts: 1 })));
      // Nothing is left to send.
      expect(await t.app.outbox.runOnce()).toBe(0);
    } finally {
      delivery.close();
      await other?.close();
    }
  });
  /** Registers by email and returns the login (user_id, access_token) and the address. */
  async function registerAccountByEmail() {
    const email = uniqueEmail('owner');
    const cs = secret();
    const { sid } = expectRequestTokenResponse(await requestEmail('register', email, cs));
    const mail = (await mailsFor(email)).slice(-1)[0]!;
    expect((await confirmByLink(mail)).statusCode).toBe(200);
    const username = uniqueName();
    const challenge = await startRegistration(username);
    const done = await registerWith(challenge.session, 'm.login.email.identity', sid, cs);
    expect(done.statusCode, done.body).toBe(200);
    const body = expectSpec(done, 'registration.yaml', '/register', 'post');
    return { email, username, userId: body.user_id as string, accessToken: body.access_token as string };
  }

  const whoami = (token: string) =>
    t.app.inject({ url: `${V3}/account/whoami`, headers: { authorization: `Bearer ${token}` } });
  const login = (user: string, password: string) =>
    post(`${V3}/login`, { type: 'm.login.password', identifier: { type: 'm.id.user', user }, password });
  const resetPassword = (payload: object) => post(`${V3}/account/password`, payload);

  it('resets the password by email without an access token, logging out every device by default', async () => {
    const acct = await registerAccountByEmail();
    expect((await whoami(acct.accessToken)).statusCode).toBe(200);

    const cs = secret();
    const res = await requestEmail('account/password', acct.email, cs);
    const { sid } = expectRequestTokenResponse(res);
    const mail = (await mailsFor(acct.email)).slice(-1)[0]!;
    expect(mail.subject).toContain('Reset your password');
    expect((await confirmByLink(mail)).statusCode).toBe(200);

    const first = await resetPassword({ new_password: 'a brand new password' });
    expect(first.statusCode).toBe(401);
    const challenge = expectSpec(first, 'password_management.yaml', '/account/password', 'post');
    expect(challenge.flows).toEqual([{ stages: ['m.login.email.identity'] }, { stages: ['m.login.msisdn'] }]);

    const done = await resetPassword({
      auth: { type: 'm.login.email.identity', session: challenge.session, threepid_creds: { sid, client_secret: cs } },
    });
    expect(done.statusCode, done.body).toBe(200);
    expect(expectSpec(done, 'password_management.yaml', '/account/password', 'post')).toEqual({});

    expect((await whoami(acct.accessToken)).statusCode).toBe(401);
    expect((await login(acct.username, 'a good password')).statusCode).toBe(403);
    expect((await login(acct.username, 'a brand new password')).statusCode).toBe(200);

    // The validation session is spent: it cannot reset again.
    const again = await resetPassword({ new_password: 'yet another password' });
    const replay = await resetPassword({
      auth: { type: 'm.login.email.identity', session: again.json().session, threepid_creds: { sid, client_secret: cs } },
    });
    expect(replay.statusCode).toBe(401);
    expect(expectSpec(replay, 'password_management.yaml', '/account/password', 'post').errcode).toBe('M_UNAUTHORIZED');
  });

  it('resets the password by phone, keeping devices with logout_devices=false; purposes do not mix', async () => {
    const phone = uniquePhone();
    const cs = secret();
    const reg = expectRequestTokenResponse(await requestMsisdn('register', phone.national, cs));
    const regCode = smsCode((await smsFor(phone.msisdn))[0]!);
    expect((await post(SUBMIT, { sid: reg.sid, client_secret: cs, token: regCode })).statusCode).toBe(200);

    // A registration session cannot reset a password.
    const early = await resetPassword({ new_password: 'phone new password' });
    const wrongPurpose = await resetPassword({
      auth: { type: 'm.login.msisdn', session: early.json().session, threepid_creds: { sid: reg.sid, client_secret: cs } },
    });
    expect(wrongPurpose.statusCode).toBe(401);

    const username = uniqueName();
    const challenge = await startRegistration(username);
    const done = await registerWith(challenge.session, 'm.login.msisdn', reg.sid, cs);
    expect(done.statusCode, done.body).toBe(200);
    const accessToken = done.json().access_token as string;

    const cs2 = secret();
    const rs = expectRequestTokenResponse(await requestMsisdn('account/password', phone.national, cs2));
    expect(rs.msisdn).toBe(phone.msisdn);
    const code = smsCode((await smsFor(phone.msisdn, 2))[1]!);
    expect((await post(SUBMIT, { sid: rs.sid, client_secret: cs2, token: code })).statusCode).toBe(200);

    // A reset session cannot register.
    const regChallenge = await startRegistration(uniqueName());
    expect((await registerWith(regChallenge.session, 'm.login.msisdn', rs.sid, cs2)).statusCode).toBe(401);

    const first = await resetPassword({ new_password: 'phone new password', logout_devices: false });
    const ok = await resetPassword({
      auth: { type: 'm.login.msisdn', session: first.json().session, threepid_creds: { sid: rs.sid, client_secret: cs2 } },
    });
    expect(ok.statusCode, ok.body).toBe(200);
    expectSpec(ok, 'password_management.yaml', '/account/password', 'post');
    expect((await whoami(accessToken)).statusCode).toBe(200);
    expect((await login(username, 'phone new password')).statusCode).toBe(200);
  });

  it('unbinds the identifiers of a deactivated account', async () => {
    const acct = await registerAccountByEmail();
    const first = await t.app.inject({
      method: 'POST',
      url: `${V3}/account/deactivate`,
      headers: { authorization: `Bearer ${acct.accessToken}` },
      payload: {},
    });
    const session = first.json().session as string;
    const done = await t.app.inject({
      method: 'POST',
      url: `${V3}/account/deactivate`,
      headers: { authorization: `Bearer ${acct.accessToken}` },
      payload: { auth: { type: 'm.login.password', session, identifier: { type: 'm.id.user', user: acct.username }, password: 'a good password' } },
    });
    expect(done.statusCode, done.body).toBe(200);
    const bound = await t.db.query('SELECT 1 FROM user_threepids WHERE user_id = $1', [acct.userId]);
    expect(bound.rowCount).toBe(0);
    // The address is free again: a registration request gets a code, not the "account exists" notice.
    const before = smtp.received.filter((m) => m.to.includes(acct.email)).length;
    expectRequestTokenResponse(await requestEmail('register', acct.email, secret()));
    const mail = (await mailsFor(acct.email, before + 1))[before]!;
    expect(linkAndCode(mail).code).toMatch(/^[A-Z0-9]{24}$/);
  });
});
