import { describe, expect, it } from 'vitest';
import { accessTokenExpired, introspect, localpartOf } from '../../src/domain/access-tokens.js';

const T = Date.UTC(2026, 0, 1);
const token = { user_id: '@alice:example.org', device_id: 'DEV', expires_at: T + 1000, is_guest: false };

describe('accessTokenExpired', () => {
  it('never expires without an expiry', () => expect(accessTokenExpired(null, Number.MAX_SAFE_INTEGER)).toBe(false));
  it('is live strictly before the expiry instant', () => {
    expect(accessTokenExpired(T, T - 1)).toBe(false);
    expect(accessTokenExpired(T, T)).toBe(true);
    expect(accessTokenExpired(T, T + 1)).toBe(true);
  });
});

describe('introspect', () => {
  it('is inactive for an unknown token, with nothing else said', () => expect(introspect(undefined, T)).toEqual({ active: false }));
  it('is inactive once expired', () => expect(introspect(token, T + 1000)).toEqual({ active: false }));
  it('describes a live token, exp in seconds', () => {
    expect(introspect(token, T)).toEqual({
      active: true,
      token_type: 'access_token',
      sub: '@alice:example.org',
      user_id: '@alice:example.org',
      username: 'alice',
      device_id: 'DEV',
      is_guest: false,
      exp: Math.floor((T + 1000) / 1000),
      scope:
        'urn:matrix:client:api:* urn:matrix:client:device:DEV urn:matrix:org.matrix.msc2967.client:api:* urn:matrix:org.matrix.msc2967.client:device:DEV',
    });
  });
  it('omits exp for a non-expiring token and gives guests the guest scope', () => {
    const r = introspect({ ...token, expires_at: null, is_guest: true }, T);
    expect(r).not.toHaveProperty('exp');
    expect(r).toMatchObject({ active: true, is_guest: true });
    expect(r.active && r.scope.split(' ')).toContain('urn:matrix:client:api:guest');
    expect(r.active && r.scope).not.toContain('api:*');
  });
});

describe('localpartOf', () => {
  it('takes what is between @ and the first colon', () => {
    expect(localpartOf('@bob:example.org:8448')).toBe('bob');
    expect(localpartOf('@bob')).toBe('bob');
  });
});
