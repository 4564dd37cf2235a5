import { describe, expect, it } from 'vitest';
import {
  canonicaliseEmail,
  CLIENT_SECRET_GRAMMAR,
  compilePatterns,
  nextLinkAllowed,
  purposeOfOperation,
  retryDelay,
  submitVerdict,
  threepidAllowed,
  usableForStage,
  type ValidationState,
} from '../../src/domain/threepid.js';

describe('client_secret grammar', () => {
  it.each(['a', 'monkeys_are_GREAT', 'A.b=c_d-e', 'x'.repeat(255)])('accepts %s', (s) => {
    expect(CLIENT_SECRET_GRAMMAR.test(s)).toBe(true);
  });
  it.each(['', 'x'.repeat(256), 'has space', 'new\nline', 'ok\n', 'slash/', 'plus+', 'ümlaut'])('refuses %j', (s) => {
    expect(CLIENT_SECRET_GRAMMAR.test(s)).toBe(false);
  });
});

describe('canonicaliseEmail (as Synapse)', () => {
  it('trims, lower-cases both parts', () => {
    expect(canonicaliseEmail('  Alice.Smith@Example.ORG \n')).toBe('alice.smith@example.org');
  });
  it.each(['', 'no-at-sign', 'a@b@example.org', '@example.org', 'alice@', 'al ice@example.org', 'alice@exa mple.org',
    'alice@localhost', 'alice@-bad.example', `${'x'.repeat(65)}@example.org`, 'a<b>@example.org'])('refuses %j', (s) => {
    expect(canonicaliseEmail(s)).toBeUndefined();
  });
  it('accepts plus addressing and subdomains', () => {
    expect(canonicaliseEmail('bob+tag@mail.example.co.uk')).toBe('bob+tag@mail.example.co.uk');
  });
});

describe('nextLinkAllowed', () => {
  const hosts = ['client.example', 'app.example.org'];
  it.each(['https://client.example/welcome', 'http://client.example', 'https://APP.example.org/x?y=1#z', 'https://client.example:8443/'])(
    'allows %s',
    (l) => expect(nextLinkAllowed(l, hosts)).toBe(true),
  );
  it.each([
    'https://evil.example/',
    'https://client.example.evil.example/',
    'https://evil.example/?https://client.example',
    'javascript:alert(1)',
    'data:text/html,hi',
    'ftp://client.example/',
    '//client.example/x',
    '/relative',
    'https://user:pw@client.example/',
    'not a url',
  ])('refuses %s', (l) => expect(nextLinkAllowed(l, hosts)).toBe(false));
  it('refuses everything with an empty allow-list', () => {
    expect(nextLinkAllowed('https://client.example/', [])).toBe(false);
  });
});

describe('allow-patterns', () => {
  const p = compilePatterns(['[^@]+@example\\.org', '44\\d+']);
  it('matches whole addresses only (anchored)', () => {
    expect(threepidAllowed('a@example.org', p)).toBe(true);
    expect(threepidAllowed('447400123456', p)).toBe(true);
    expect(threepidAllowed('a@example.org.evil', p)).toBe(false);
    expect(threepidAllowed('x447400123456', p)).toBe(false);
  });
  it('allows everything without patterns', () => {
    expect(threepidAllowed('anything', [])).toBe(true);
  });
});

describe('validation session states', () => {
  const now = 1_000_000;
  const base: ValidationState = {
    purpose: 'registration',
    token_hash: Buffer.from('h'),
    token_expires_at: now + 1000,
    expires_at: now + 10_000,
    validated_at: null,
    consumed_at: null,
    failed_attempts: 0,
  };
  it('submitVerdict', () => {
    expect(submitVerdict(base, now, 5)).toBe('ok');
    expect(submitVerdict({ ...base, failed_attempts: 5 }, now, 5)).toBe('locked');
    expect(submitVerdict({ ...base, failed_attempts: 4 }, now, 5)).toBe('ok');
    expect(submitVerdict({ ...base, token_expires_at: now }, now, 5)).toBe('expired');
    expect(submitVerdict({ ...base, expires_at: now }, now, 5)).toBe('expired');
    expect(submitVerdict({ ...base, consumed_at: now - 1 }, now, 5)).toBe('expired');
    expect(submitVerdict({ ...base, token_hash: null }, now, 5)).toBe('no_token');
    expect(submitVerdict({ ...base, validated_at: now - 1, failed_attempts: 9 }, now, 5)).toBe('already_validated');
  });
  it('usableForStage needs validated, unspent, unexpired and the right purpose', () => {
    const validated = { ...base, validated_at: now - 1 };
    expect(usableForStage(validated, 'registration', now)).toBe(true);
    expect(usableForStage(validated, 'reset', now)).toBe(false);
    expect(usableForStage(base, 'registration', now)).toBe(false);
    expect(usableForStage({ ...validated, consumed_at: now }, 'registration', now)).toBe(false);
    expect(usableForStage({ ...validated, expires_at: now }, 'registration', now)).toBe(false);
    // The code's own lifetime does not matter once validated.
    expect(usableForStage({ ...validated, token_expires_at: now - 5 }, 'registration', now)).toBe(true);
  });
  it('purposeOfOperation', () => {
    expect(purposeOfOperation('POST /register')).toBe('registration');
    expect(purposeOfOperation('POST /account/password')).toBe('reset');
    expect(purposeOfOperation('POST /account/deactivate')).toBeUndefined();
  });
});

describe('retryDelay', () => {
  it('doubles from the base and is capped', () => {
    expect([1, 2, 3, 4].map((a) => retryDelay(a, 10_000, 3_600_000))).toEqual([10_000, 20_000, 40_000, 80_000]);
    expect(retryDelay(20, 10_000, 3_600_000)).toBe(3_600_000);
    expect(retryDelay(1000, 10_000, 3_600_000)).toBe(3_600_000);
  });
});
