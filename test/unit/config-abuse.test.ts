import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config.js';

const BASE = { SERVER_NAME: 'example.org' };
const problems = (env: Record<string, string>) => {
  try {
    loadConfig({ ...BASE, ...env });
    return [];
  } catch (err) {
    return (err as ConfigError).problems;
  }
};

describe('anti-abuse configuration', () => {
  it('has every control off by default', () => {
    const c = loadConfig(BASE);
    expect(c.abuse).toEqual({
      requiresApproval: false,
      approvalWebhookUrl: undefined,
      maxPerHour: 0,
      maxPerDay: 0,
      capShortWaitMs: 300_000,
      bannedIps: [],
      bannedUserAgents: [],
      emailDomainAllowlist: [],
      emailDomainDenylist: [],
      refuseDisposableEmail: false,
      audit: false,
      auditRetentionMs: 30 * 86_400_000,
    });
    expect(c.password.minStrength).toBe(0);
    expect(c.registration.tokenOptional).toBe(false);
  });
  it('parses each control', () => {
    const c = loadConfig({
      ...BASE,
      REGISTRATION_REQUIRES_APPROVAL: 'true',
      REGISTRATION_APPROVAL_WEBHOOK_URL: 'https://hooks.example.org/new',
      REGISTRATION_MAX_PER_HOUR: '10',
      REGISTRATION_MAX_PER_DAY: '100',
      REGISTRATION_CAP_SHORT_WAIT: '1m',
      REGISTRATION_BANNED_IPS: '203.0.113.4, 10.1.0.0/16,2001:db8::/32',
      REGISTRATION_BANNED_USER_AGENTS: 'python-requests/*, *spambot*',
      REGISTRATION_EMAIL_DOMAIN_ALLOWLIST: 'Example.org,*.corp.example',
      REGISTRATION_EMAIL_DOMAIN_DENYLIST: 'spam.example',
      REGISTRATION_REFUSE_DISPOSABLE_EMAIL: 'yes',
      REGISTRATION_AUDIT: 'on',
      REGISTRATION_AUDIT_RETENTION: '90d',
      PASSWORD_MIN_STRENGTH: '3',
      REGISTRATION_TOKEN_OPTIONAL: 'true',
    });
    expect(c.abuse.bannedIps).toEqual(['203.0.113.4/32', '10.1.0.0/16', '2001:db8::/32']);
    expect(c.abuse.bannedUserAgents).toEqual(['python-requests/*', '*spambot*']);
    expect(c.abuse.emailDomainAllowlist).toEqual(['example.org', 'corp.example']);
    expect(c.abuse).toMatchObject({ requiresApproval: true, maxPerHour: 10, maxPerDay: 100, capShortWaitMs: 60_000, refuseDisposableEmail: true, audit: true, auditRetentionMs: 90 * 86_400_000 });
    expect(c.password.minStrength).toBe(3);
    expect(c.registration.tokenOptional).toBe(true);
  });
  it('names each bad value', () => {
    expect(problems({ REGISTRATION_BANNED_IPS: '10.0.0.0/8,nope' })).toEqual(['REGISTRATION_BANNED_IPS: "nope" is not an IP address or CIDR range']);
    expect(problems({ REGISTRATION_EMAIL_DOMAIN_DENYLIST: 'a b' })[0]).toMatch(/^REGISTRATION_EMAIL_DOMAIN_DENYLIST: /);
    expect(problems({ PASSWORD_MIN_STRENGTH: '5' })[0]).toMatch(/^PASSWORD_MIN_STRENGTH: expected an integer from 0 to 4/);
    expect(problems({ REGISTRATION_MAX_PER_HOUR: '-1' })[0]).toMatch(/^REGISTRATION_MAX_PER_HOUR: /);
    expect(problems({ REGISTRATION_APPROVAL_WEBHOOK_URL: 'ftp://x' })[0]).toMatch(/^REGISTRATION_APPROVAL_WEBHOOK_URL: must be an http/);
  });
  it('refuses contradictory combinations', () => {
    expect(problems({ REGISTRATION_TOKEN_OPTIONAL: 'true', REGISTRATION_REQUIRES_TOKEN: 'true' })[0]).toMatch(/^REGISTRATION_TOKEN_OPTIONAL: cannot be combined/);
    expect(problems({ REGISTRATION_APPROVAL_WEBHOOK_URL: 'https://h.example/x' })[0]).toMatch(/^REGISTRATION_APPROVAL_WEBHOOK_URL: is only called/);
  });
});
