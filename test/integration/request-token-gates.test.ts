// The anti-abuse gates at POST /register/email/requestToken: email-domain policy (disposable
// providers, deny-list) answered 403 M_THREEPID_DENIED and bans answered 403 M_FORBIDDEN, both
// before any message is queued; off, the same addresses get a validation mail. Every database.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApp, uniqueName, type TestApp } from '../helpers/app.js';
import { DATABASE_KINDS, openTestDatabase, type TestDatabase } from '../helpers/databases.js';
import { startSmtpServer, type TestSmtp } from '../helpers/mail.js';
import { expectSpec } from '../helpers/spec.js';

const URL_ = '/_matrix/client/v3/register/email/requestToken';

describe.each(DATABASE_KINDS)('requestToken gates (%s)', (kind) => {
  let database: TestDatabase;
  let smtp: TestSmtp;
  beforeAll(async () => {
    database = await openTestDatabase(kind);
    smtp = await startSmtpServer();
  });
  afterAll(async () => {
    await smtp?.stop();
    await database?.close();
  });

  const env = (extra: Record<string, string> = {}) => ({
    ENABLE_REGISTRATION_WITHOUT_VERIFICATION: 'false',
    REGISTRATION_REQUIRES_3PID: 'email',
    SMTP_URL: smtp.url,
    EMAIL_FROM: 'Registration <noreply@test.example>',
    SMTP_REQUIRE_TLS: 'false',
    RATE_LIMIT_3PID_SENDS_PER_IP: '1000',
    RATE_LIMIT_3PID_REQUESTS_PER_MINUTE: '100000',
    ...extra,
  });
  async function withApp(extra: Record<string, string>, fn: (t: TestApp) => Promise<void>) {
    const t = await startApp(database, env(extra));
    try {
      await fn(t);
    } finally {
      await t.close();
      await t.db.close();
    }
  }
  const request = (t: TestApp, email: string, ip?: string) =>
    t.app.inject({
      method: 'POST', url: URL_, payload: { client_secret: `cs${uniqueName('s')}`, email, send_attempt: 1 },
      ...(ip ? { remoteAddress: ip } : {}),
    });
  const queued = async (t: TestApp, address: string) =>
    (await t.db.query('SELECT count(*)::int AS n FROM outbox WHERE recipient = $1', [address])).rows[0].n;

  it('off: disposable and banned-looking requests are sent a validation message', async () => {
    await withApp({}, async (t) => {
      const address = `${uniqueName()}@mailinator.com`;
      const res = await request(t, address, '203.0.113.5');
      expect(res.statusCode).toBe(200);
      expect(expectSpec(res, 'registration.yaml', '/register/email/requestToken', 'post').sid).toBeDefined();
      expect(await queued(t, address)).toBe(1);
    });
  });

  it('on: refused before anything is queued', async () => {
    await withApp(
      { REGISTRATION_REFUSE_DISPOSABLE_EMAIL: 'true', REGISTRATION_EMAIL_DOMAIN_DENYLIST: 'spam.example', REGISTRATION_BANNED_IPS: '203.0.113.0/24' },
      async (t) => {
        for (const address of [`${uniqueName()}@mailinator.com`, `${uniqueName()}@mx.spam.example`]) {
          const res = await request(t, address);
          expect(res.statusCode, address).toBe(403);
          const body = expectSpec(res, 'registration.yaml', '/register/email/requestToken', 'post');
          expect(body.errcode).toBe('M_THREEPID_DENIED');
          expect(await queued(t, address)).toBe(0);
        }
        const fromBanned = `${uniqueName()}@example.org`;
        const banned = await request(t, fromBanned, '203.0.113.9');
        expect(banned.statusCode).toBe(403);
        expect(expectSpec(banned, 'registration.yaml', '/register/email/requestToken', 'post').errcode).toBe('M_FORBIDDEN');
        expect(await queued(t, fromBanned)).toBe(0);
        const fine = `${uniqueName()}@example.org`;
        expect((await request(t, fine)).statusCode).toBe(200);
        expect(await queued(t, fine)).toBe(1);
      },
    );
  });
});
