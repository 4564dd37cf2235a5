import { describe, expect, it } from 'vitest';
import mailchecker from 'mailchecker';
import { checkEmailDomain, domainAndParents, emailDomain, emailDomainMessage, type EmailDomainPolicy } from '../../src/domain/email-domain.js';

const policy = (p: Partial<EmailDomainPolicy> = {}): EmailDomainPolicy => ({
  allow: [], deny: [], refuseDisposable: false, disposable: new Set(['mailinator.com', 'yopmail.com']), ...p,
});

describe('emailDomain', () => {
  it('takes the part after the last @, lower case, without a trailing dot', () => {
    expect(emailDomain('Alice@Example.ORG')).toBe('example.org');
    expect(emailDomain('"a@b"@example.org.')).toBe('example.org');
  });
  it('is undefined without a domain', () => {
    for (const a of ['alice', 'alice@', '@example.org', 'a@exa mple.org']) expect(emailDomain(a), a).toBeUndefined();
  });
  it('lists the domain and its parents', () => {
    expect(domainAndParents('a.b.example.org')).toEqual(['a.b.example.org', 'b.example.org', 'example.org', 'org']);
  });
});

describe('checkEmailDomain', () => {
  it('accepts everything with every control off', () => {
    expect(checkEmailDomain('a@mailinator.com', policy())).toEqual({ ok: true, domain: 'mailinator.com' });
  });
  it('refuses disposable providers (and their subdomains) only when asked', () => {
    const p = policy({ refuseDisposable: true });
    expect(checkEmailDomain('a@mailinator.com', p)).toEqual({ ok: false, reason: 'disposable', domain: 'mailinator.com' });
    expect(checkEmailDomain('a@x.yopmail.com', p)).toMatchObject({ ok: false, reason: 'disposable' });
    expect(checkEmailDomain('a@example.org', p)).toMatchObject({ ok: true });
  });
  it('with an allow-list, accepts only listed domains and their subdomains', () => {
    const p = policy({ allow: ['example.org', '.corp.example'] });
    expect(checkEmailDomain('a@example.org', p).ok).toBe(true);
    expect(checkEmailDomain('a@mail.example.org', p).ok).toBe(true);
    expect(checkEmailDomain('a@eu.corp.example', p).ok).toBe(true);
    expect(checkEmailDomain('a@badexample.org', p)).toMatchObject({ ok: false, reason: 'not_allowed' });
  });
  it('deny beats allow', () => {
    const p = policy({ allow: ['example.org'], deny: ['spam.example.org'] });
    expect(checkEmailDomain('a@spam.example.org', p)).toMatchObject({ ok: false, reason: 'denied' });
    expect(checkEmailDomain('a@x.spam.example.org', p)).toMatchObject({ ok: false, reason: 'denied' });
    expect(checkEmailDomain('a@example.org', p).ok).toBe(true);
  });
  it('refuses an address without a domain', () => {
    expect(checkEmailDomain('nobody', policy())).toMatchObject({ ok: false, reason: 'malformed' });
  });
  it('explains each refusal', () => {
    expect(emailDomainMessage({ ok: false, reason: 'disposable', domain: 'mailinator.com' })).toMatch(/disposable/);
    expect(emailDomainMessage({ ok: false, reason: 'not_allowed', domain: 'x.org' })).toMatch(/x\.org/);
    expect(emailDomainMessage({ ok: false, reason: 'denied', domain: 'x.org' })).toMatch(/x\.org/);
    expect(emailDomainMessage({ ok: false, reason: 'malformed', domain: '' })).toMatch(/no domain/);
  });
  it('works with the maintained list (mailchecker)', () => {
    const p = policy({ refuseDisposable: true, disposable: mailchecker.blacklist() });
    expect(checkEmailDomain('a@mailinator.com', p)).toMatchObject({ ok: false, reason: 'disposable' });
    expect(checkEmailDomain('a@10minutemail.com', p)).toMatchObject({ ok: false, reason: 'disposable' });
    expect(checkEmailDomain('a@gmail.com', p).ok).toBe(true);
  });
});
