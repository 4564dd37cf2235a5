// Pure rules of user IDs: grammar, upper-case mapping, leading underscore, reserved names, the
// 255-byte limit on the whole user ID, and login resolution.
import { describe, expect, it } from 'vitest';
import {
  checkUsername,
  MAX_USER_ID_BYTES,
  normaliseLocalpart,
  resolveLoginUser,
  userIdOf,
} from '../../src/domain/username.js';

const rules = { serverName: 'example.org', reserved: ['admin', 'root'] };

describe('checkUsername: grammar', () => {
  it.each(['alice', 'a', '0', 'a.b', 'a_b', 'a=b', 'a-b', 'a/b', 'a+b', 'x0123456789', '.', '-', '=', '/', '+', 'a_'])(
    'accepts %j',
    (name) => {
      expect(checkUsername(name, rules)).toEqual({ ok: true, localpart: name, userId: `@${name}:example.org` });
    },
  );

  it.each([
    'a b', 'a:b', 'a@b', '@a', 'a#b', 'a!b', 'a$b', 'a%b', 'a*b', 'a,b', 'a;b', "a'b", 'a"b', 'a\\b', 'a~b',
    'é', 'aé', 'ß', 'İ', '\u212a' /* Kelvin sign */, '\uff41' /* full-width a */, 'a\u0000', 'a\n', '\t', ' a', 'a ', 'a\u200bb',
    '😀',
  ])('refuses %j as grammar', (name) => {
    const r = checkUsername(name, rules);
    expect(r).toMatchObject({ ok: false, reason: 'grammar' });
  });

  it('refuses the empty string as empty', () => {
    expect(checkUsername('', rules)).toMatchObject({ ok: false, reason: 'empty' });
  });

  it('every failure carries a human-readable message', () => {
    for (const name of ['', 'a b', '_x', 'admin', 'a'.repeat(300)]) {
      const r = checkUsername(name, rules);
      expect(r.ok).toBe(false);
      if (!r.ok) expect(r.message.length).toBeGreaterThan(5);
    }
  });
});

describe('checkUsername: upper case', () => {
  it('maps A-Z to a-z', () => {
    expect(checkUsername('Alice', rules)).toEqual({ ok: true, localpart: 'alice', userId: '@alice:example.org' });
    expect(checkUsername('ABCDEFGHIJKLMNOPQRSTUVWXYZ', rules)).toMatchObject({
      ok: true,
      localpart: 'abcdefghijklmnopqrstuvwxyz',
    });
  });

  it('maps only ASCII: non-ASCII upper case is refused, not folded', () => {
    expect(checkUsername('Élise', rules)).toMatchObject({ ok: false, reason: 'grammar' });
    expect(checkUsername('ÀB', rules)).toMatchObject({ ok: false, reason: 'grammar' });
  });

  it('normaliseLocalpart changes A-Z and nothing else', () => {
    expect(normaliseLocalpart('AbC_ÉÀ.=Z')).toBe('abc_ÉÀ.=z');
    expect(normaliseLocalpart('')).toBe('');
    expect(normaliseLocalpart('İ')).toBe('İ');
  });

  it('reserved names are matched after mapping upper case', () => {
    expect(checkUsername('ADMIN', rules)).toMatchObject({ ok: false, reason: 'reserved' });
    expect(checkUsername('Root', rules)).toMatchObject({ ok: false, reason: 'reserved' });
  });
});

describe('checkUsername: leading underscore and reserved names', () => {
  it.each(['_', '_alice', '_user.abc', '__'])('refuses %j (leading underscore)', (name) => {
    expect(checkUsername(name, rules)).toMatchObject({ ok: false, reason: 'underscore' });
  });

  it('allows an underscore elsewhere', () => {
    expect(checkUsername('a_', rules).ok).toBe(true);
    expect(checkUsername('a__b', rules).ok).toBe(true);
  });

  it('refuses exactly the configured reserved names', () => {
    expect(checkUsername('admin', rules)).toMatchObject({ ok: false, reason: 'reserved' });
    expect(checkUsername('root', rules)).toMatchObject({ ok: false, reason: 'reserved' });
    expect(checkUsername('admin2', rules).ok).toBe(true);
    expect(checkUsername('xadmin', rules).ok).toBe(true);
    expect(checkUsername('roo', rules).ok).toBe(true);
  });

  it('an empty reserved list refuses nothing', () => {
    expect(checkUsername('admin', { ...rules, reserved: [] }).ok).toBe(true);
  });
});

describe('checkUsername: the 255-byte user-ID limit', () => {
  // "@" + localpart + ":" + server name
  const fits = (serverName: string) => MAX_USER_ID_BYTES - 2 - Buffer.byteLength(serverName, 'utf8');

  it('is 255', () => expect(MAX_USER_ID_BYTES).toBe(255));

  it.each(['example.org', 'a.b', 'matrix.example.org:8448', '[::1]:8448'])(
    'accepts exactly 255 bytes and refuses 256 on %s',
    (serverName) => {
      const n = fits(serverName);
      const ok = checkUsername('a'.repeat(n), { serverName, reserved: [] });
      expect(ok.ok).toBe(true);
      if (ok.ok) expect(Buffer.byteLength(ok.userId, 'utf8')).toBe(255);
      expect(checkUsername('a'.repeat(n + 1), { serverName, reserved: [] })).toMatchObject({
        ok: false,
        reason: 'too_long',
      });
    },
  );

  it('counts bytes, not characters, of a multi-byte server name', () => {
    // Internationalised names arrive as punycode in practice, but the rule counts UTF-8 bytes.
    const serverName = 'ünïcödé.example'; // 15 characters, 19 bytes
    expect(serverName.length).toBe(15);
    expect(Buffer.byteLength(serverName, 'utf8')).toBe(19);
    const n = fits(serverName);
    expect(n).toBe(234);
    expect(checkUsername('a'.repeat(n), { serverName, reserved: [] }).ok).toBe(true);
    // Counting characters would wrongly admit these 4 extra bytes.
    for (const extra of [1, 2, 3, 4]) {
      expect(checkUsername('a'.repeat(n + extra), { serverName, reserved: [] })).toMatchObject({
        ok: false,
        reason: 'too_long',
      });
    }
  });

  it('upper-case input is measured after mapping (same length)', () => {
    const n = fits('example.org');
    expect(checkUsername('A'.repeat(n), rules).ok).toBe(true);
    expect(checkUsername('A'.repeat(n + 1), rules)).toMatchObject({ ok: false, reason: 'too_long' });
  });
});

describe('userIdOf', () => {
  it('builds @localpart:server', () => {
    expect(userIdOf('alice', 'example.org:8448')).toBe('@alice:example.org:8448');
  });
});

describe('resolveLoginUser', () => {
  const s = 'example.org';
  it.each([
    ['alice', '@alice:example.org'],
    ['Alice', '@alice:example.org'],
    ['@alice:example.org', '@alice:example.org'],
    ['@ALICE:example.org', '@alice:example.org'],
    ['@alice:EXAMPLE.ORG', '@alice:example.org'],
    ['@Alice:Example.Org', '@alice:example.org'],
    ['a.b=c-d/e+f_g', '@a.b=c-d/e+f_g:example.org'],
  ])('%j → %j', (input, expected) => {
    expect(resolveLoginUser(input, s)).toBe(expected);
  });

  it.each([
    ['@alice', 'no server part'],
    ['@alice:other.org', 'another server'],
    ['@alice:example.org.evil', 'a longer server name'],
    ['@alice:example.org:8448', 'another port'],
    ['', 'empty'],
    ['@:example.org', 'empty localpart'],
    ['al ice', 'space'],
    ['élise', 'non-ASCII'],
    ['@a:b:example.org', 'a colon in the localpart'],
  ])('%j is not a local user (%s)', (input) => {
    expect(resolveLoginUser(input, s)).toBeUndefined();
  });

  it('resolves a server name with a port', () => {
    expect(resolveLoginUser('@bob:example.org:8448', 'example.org:8448')).toBe('@bob:example.org:8448');
  });

  it('resolves what registration produced, for any case the user typed', () => {
    const reg = checkUsername('MixedCase', rules);
    expect(reg.ok).toBe(true);
    if (reg.ok) {
      expect(resolveLoginUser('MIXEDCASE', 'example.org')).toBe(reg.userId);
      expect(resolveLoginUser('@mixedcase:example.org', 'example.org')).toBe(reg.userId);
    }
  });
});
