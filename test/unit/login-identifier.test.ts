import { describe, expect, it } from 'vitest';
import { loginIdentifier } from '../../src/domain/login-identifier.js';

describe('loginIdentifier', () => {
  it('reads an m.id.user identifier', () => {
    expect(loginIdentifier({ identifier: { type: 'm.id.user', user: '@a:b' } })).toEqual({ kind: 'user', user: '@a:b' });
  });
  it('prefers identifier over the deprecated user field', () => {
    expect(loginIdentifier({ identifier: { type: 'm.id.user', user: 'x' }, user: 'y' })).toEqual({ kind: 'user', user: 'x' });
  });
  it('reads the deprecated top-level user field', () => {
    expect(loginIdentifier({ user: 'alice' })).toEqual({ kind: 'user', user: 'alice' });
    expect(loginIdentifier({ identifier: null, user: 'alice' })).toEqual({ kind: 'user', user: 'alice' });
  });
  it('calls third-party and phone identifiers unsupported', () => {
    expect(loginIdentifier({ identifier: { type: 'm.id.thirdparty', medium: 'email', address: 'a@b.c' } })).toEqual({ kind: 'unsupported' });
    expect(loginIdentifier({ identifier: { type: 'm.id.phone', country: 'GB', phone: '1' } })).toEqual({ kind: 'unsupported' });
    expect(loginIdentifier({ medium: 'email', address: 'a@b.c' })).toEqual({ kind: 'unsupported' });
  });
  it('names the malformed field', () => {
    expect(loginIdentifier({ identifier: 'alice' })).toEqual({ kind: 'invalid', field: 'identifier' });
    expect(loginIdentifier({ identifier: ['x'] })).toEqual({ kind: 'invalid', field: 'identifier' });
    expect(loginIdentifier({ identifier: { user: 'a' } })).toEqual({ kind: 'invalid', field: 'identifier.type' });
    expect(loginIdentifier({ identifier: { type: 'm.id.user', user: 1 } })).toEqual({ kind: 'invalid', field: 'identifier.user' });
    expect(loginIdentifier({ user: 7 })).toEqual({ kind: 'invalid', field: 'user' });
  });
  it('says when nothing names a user', () => expect(loginIdentifier({})).toEqual({ kind: 'none' }));
});
