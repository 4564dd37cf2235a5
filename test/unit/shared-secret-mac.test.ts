// The shared-secret registration MAC must be byte-for-byte Synapse's. The expected values were
// computed with Python's hmac/hashlib exactly as synapse/rest/admin/users.py builds want_mac.
import { describe, expect, it } from 'vitest';
import { sharedSecretMac } from '../../src/services/shared-secret-registration.js';

describe('sharedSecretMac', () => {
  it('is HMAC-SHA1 over nonce, username, password and admin, NUL-separated', () => {
    expect(
      sharedSecretMac('shared-secret-for-tests', { nonce: 'abcnonce', username: 'alice', password: 'pass word', admin: true }),
    ).toBe('89c807539088e42cb84dd515a7d500d6b1a16fe0');
  });

  it('appends the user type when there is one', () => {
    expect(
      sharedSecretMac('shared-secret-for-tests', { nonce: 'abcnonce', username: 'bot1', password: 'pw', admin: false, userType: 'bot' }),
    ).toBe('78928cf0ef3d81bcc0949307bcb05b7dc2faeefd');
  });
});
