import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config.js';

const base = { SERVER_NAME: 'example.org', ENABLE_REGISTRATION: 'true' };
const problems = (env: Record<string, string>) => {
  try {
    loadConfig(env);
    return [];
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
};

describe('3PID configuration', () => {
  it('counts a required 3PID as a verifying stage for open registration', () => {
    expect(problems(base)).toEqual([expect.stringMatching(/^ENABLE_REGISTRATION: /)]);
    const c = loadConfig({ ...base, REGISTRATION_REQUIRES_3PID: 'email', SMTP_URL: 'smtp://mail:25', EMAIL_FROM: 'a@example.org' });
    expect(c.registration.requires3pid).toBe('email');
    expect(c.email).toEqual({ smtpUrl: 'smtp://mail:25', from: 'a@example.org', requireTls: true, rejectUnauthorized: true });
  });
  it('requires the delivery channel a required medium needs', () => {
    expect(problems({ ...base, REGISTRATION_REQUIRES_3PID: 'either' })).toEqual(
      expect.arrayContaining([expect.stringMatching(/^SMTP_URL: /), expect.stringMatching(/^SMS_GATEWAY_URL: /)]),
    );
    expect(problems({ ...base, REGISTRATION_REQUIRES_3PID: 'msisdn', SMS_GATEWAY_URL: 'https://sms.example/send' })).toEqual([]);
    expect(problems({ ...base, REGISTRATION_REQUIRES_3PID: 'sometimes' })).toEqual([expect.stringMatching(/^REGISTRATION_REQUIRES_3PID: /)]);
    expect(problems({ SERVER_NAME: 'example.org', SMTP_URL: 'smtp://mail' })).toEqual([expect.stringMatching(/^EMAIL_FROM: /)]);
    expect(problems({ SERVER_NAME: 'example.org', SMTP_URL: 'http://mail', EMAIL_FROM: 'a@b.c' })).toEqual([expect.stringMatching(/^SMTP_URL: /)]);
  });
  it('refuses invalid allow-patterns and keeps defaults safe', () => {
    expect(problems({ SERVER_NAME: 'example.org', THREEPID_ALLOWED_EMAIL_PATTERNS: 'ok (unclosed' })).toEqual([
      expect.stringMatching(/^THREEPID_ALLOWED_EMAIL_PATTERNS: "\(unclosed"/),
    ]);
    const c = loadConfig({ SERVER_NAME: 'example.org' });
    expect(c.threepid.revealAccounts).toBe(false);
    expect(c.threepid.nextLinkAllowedHosts).toEqual([]);
    expect(c.email).toBeUndefined();
    expect(c.sms).toBeUndefined();
    expect(c.outbox.leaseMs).toBeGreaterThan(c.outbox.sendTimeoutMs);
  });
});
