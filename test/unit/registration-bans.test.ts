import { describe, expect, it } from 'vitest';
import { canonicalCidr, checkBans, compileBans, globMatch, ipInCidr, validUserAgentPattern } from '../../src/domain/registration-bans.js';

describe('canonicalCidr', () => {
  it('turns addresses and ranges into canonical CIDR', () => {
    expect(canonicalCidr('203.0.113.7')).toBe('203.0.113.7/32');
    expect(canonicalCidr('10.1.2.3/8')).toBe('10.0.0.0/8');
    expect(canonicalCidr('2001:DB8::1')).toBe('2001:db8::1/128');
    expect(canonicalCidr('2001:db8:1::/32')).toBe('2001:db8::/32');
    expect(canonicalCidr('::ffff:192.0.2.1')).toBe('192.0.2.1/32');
    expect(canonicalCidr('::ffff:192.0.2.0/120')).toBe('192.0.2.0/24');
  });
  it('refuses what is not an address', () => {
    for (const v of ['', 'example.org', '10.0.0.0/33', '300.1.1.1', '10.0.0.0/x', '::ffff:1.2.3.4/40']) {
      expect(canonicalCidr(v), v).toBeUndefined();
    }
  });
});

describe('ipInCidr', () => {
  it('matches inside the range only, IPv4-mapped addresses as IPv4', () => {
    expect(ipInCidr('10.200.1.1', '10.0.0.0/8')).toBe(true);
    expect(ipInCidr('11.0.0.1', '10.0.0.0/8')).toBe(false);
    expect(ipInCidr('::ffff:10.0.0.9', '10.0.0.0/8')).toBe(true);
    expect(ipInCidr('2001:db8::5', '2001:db8::/32')).toBe(true);
    expect(ipInCidr('10.0.0.1', '2001:db8::/32')).toBe(false);
    expect(ipInCidr('not an ip', '10.0.0.0/8')).toBe(false);
  });
});

describe('globMatch', () => {
  it('matches literally without *, case-insensitively', () => {
    expect(globMatch('curl/8.0', 'CURL/8.0')).toBe(true);
    expect(globMatch('curl/8.0', 'curl/8.01')).toBe(false);
  });
  it('treats * as any run of characters', () => {
    expect(globMatch('curl/*', 'curl/8.4.0')).toBe(true);
    expect(globMatch('*bot*', 'Mozilla/5.0 (compatible; SpamBot/2.1)')).toBe(true);
    expect(globMatch('*bot', 'robot arm')).toBe(false);
    expect(globMatch('a*b*c', 'axxbyyc')).toBe(true);
    expect(globMatch('a*b*c', 'axxcyyb')).toBe(false);
    expect(globMatch('ab*ba', 'aba')).toBe(false);
    expect(globMatch('*', '')).toBe(true);
    expect(globMatch('regex.(chars)+?', 'regex.(chars)+?')).toBe(true);
  });
  it('stays fast on hostile input (no backtracking)', () => {
    expect(globMatch('*a*a*a*a*a*a*a*b', 'a'.repeat(5000))).toBe(false);
  });
  it('validates patterns', () => {
    expect(validUserAgentPattern('python-requests/*')).toBe(true);
    expect(validUserAgentPattern('  ')).toBe(false);
    expect(validUserAgentPattern('x'.repeat(257))).toBe(false);
    expect(validUserAgentPattern('bad\npattern')).toBe(false);
  });
});

describe('checkBans', () => {
  const bans = { ips: ['203.0.113.0/24', '2001:db8::/32'], userAgents: ['python-requests/*', '*spambot*'] };
  it('bans by address, range and user agent, naming the rule', () => {
    expect(checkBans('203.0.113.9', 'Element', bans)).toEqual({ banned: true, reason: 'banned_ip', rule: '203.0.113.0/24' });
    expect(checkBans('2001:db8::1', undefined, bans)).toMatchObject({ banned: true, reason: 'banned_ip' });
    expect(checkBans('198.51.100.1', 'python-requests/2.31', bans)).toEqual({ banned: true, reason: 'banned_user_agent', rule: 'python-requests/*' });
    expect(checkBans('198.51.100.1', 'x SpamBot y', bans)).toMatchObject({ banned: true, reason: 'banned_user_agent' });
  });
  it('lets everyone else through, including clients without a User-Agent', () => {
    expect(checkBans('198.51.100.1', 'Element/1.11', bans)).toEqual({ banned: false });
    expect(checkBans('198.51.100.1', undefined, bans)).toEqual({ banned: false });
    expect(checkBans('198.51.100.1', undefined, { ips: [], userAgents: [] })).toEqual({ banned: false });
  });
  it('gives the same verdicts with the list compiled once', () => {
    const compiled = compileBans({ ...bans, ips: [...bans.ips, 'garbage'] });
    expect(compiled.ranges).toHaveLength(2);
    expect(checkBans('203.0.113.9', 'Element', compiled)).toEqual({ banned: true, reason: 'banned_ip', rule: '203.0.113.0/24' });
    expect(checkBans('::ffff:203.0.113.9', 'Element', compiled)).toMatchObject({ banned: true, reason: 'banned_ip' });
    expect(checkBans('198.51.100.1', 'python-requests/2', compiled)).toMatchObject({ banned: true, reason: 'banned_user_agent' });
    expect(checkBans('not-an-ip', 'Element', compiled)).toEqual({ banned: false });
  });
  it('bans clients without a User-Agent only with the pattern *', () => {
    expect(checkBans('198.51.100.1', undefined, { ips: [], userAgents: ['*'] })).toMatchObject({ banned: true });
  });
});
