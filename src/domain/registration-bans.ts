// Registration bans: IP addresses and CIDR ranges, and user-agent patterns. Pure functions of the
// request's address and user agent and the ban list (configured ones plus those added through
// the admin API).
import ipaddr from 'ipaddr.js';

export interface BanList {
  /** Canonical CIDR ranges (a single address is a /32 or /128). */
  ips: readonly string[];
  /** Glob patterns over the User-Agent header: `*` matches any run of characters; case-insensitive. */
  userAgents: readonly string[];
}

export type BanVerdict = { banned: false } | { banned: true; reason: 'banned_ip' | 'banned_user_agent'; rule: string };

/** Parses an IP address or CIDR range into its canonical CIDR form; undefined when invalid. */
export function canonicalCidr(value: string): string | undefined {
  const v = value.trim();
  try {
    if (v.includes('/')) {
      const [addr, bits] = ipaddr.parseCIDR(v);
      const a = unmap(addr);
      const prefix = a.kind() === 'ipv4' && addr.kind() === 'ipv6' ? bits - 96 : bits;
      if (prefix < 0) return undefined;
      // Normalise to the network address so "10.1.2.3/8" and "10.0.0.0/8" are one ban.
      const network = a.kind() === 'ipv4'
        ? ipaddr.IPv4.networkAddressFromCIDR(`${a.toString()}/${prefix}`)
        : ipaddr.IPv6.networkAddressFromCIDR(`${a.toString()}/${prefix}`);
      return `${network.toString()}/${prefix}`;
    }
    if (!ipaddr.isValid(v)) return undefined;
    const a = unmap(ipaddr.parse(v));
    return `${a.toString()}/${a.kind() === 'ipv4' ? 32 : 128}`;
  } catch {
    return undefined;
  }
}

/** IPv4-mapped IPv6 addresses (::ffff:1.2.3.4) are treated as the IPv4 address. */
function unmap(a: ipaddr.IPv4 | ipaddr.IPv6): ipaddr.IPv4 | ipaddr.IPv6 {
  return a.kind() === 'ipv6' && (a as ipaddr.IPv6).isIPv4MappedAddress() ? (a as ipaddr.IPv6).toIPv4Address() : a;
}

export function ipInCidr(ip: string, cidr: string): boolean {
  try {
    const a = unmap(ipaddr.parse(ip));
    const [range, bits] = ipaddr.parseCIDR(cidr);
    if (a.kind() !== range.kind()) return false;
    return a.kind() === 'ipv4'
      ? (a as ipaddr.IPv4).match(range as ipaddr.IPv4, bits)
      : (a as ipaddr.IPv6).match(range as ipaddr.IPv6, bits);
  } catch {
    return false;
  }
}

/** A user-agent glob pattern: non-empty, printable, at most 256 characters. */
export function validUserAgentPattern(p: string): boolean {
  return p.trim().length > 0 && p.length <= 256 && /^[\x20-\x7e]+$/.test(p);
}

/**
 * Glob match without regular expressions (no catastrophic backtracking on hostile headers):
 * `*` matches any run of characters, everything else literally, case-insensitively.
 */
export function globMatch(pattern: string, text: string): boolean {
  const p = pattern.toLowerCase();
  const t = text.toLowerCase();
  const parts = p.split('*');
  if (parts.length === 1) return p === t;
  const first = parts[0]!;
  const last = parts[parts.length - 1]!;
  if (!t.startsWith(first) || t.length < first.length + last.length || !t.endsWith(last)) return false;
  let pos = first.length;
  const end = t.length - last.length;
  for (const middle of parts.slice(1, -1)) {
    if (middle === '') continue;
    const i = t.indexOf(middle, pos);
    if (i < 0 || i + middle.length > end) return false;
    pos = i + middle.length;
  }
  return true;
}

type Range = { cidr: string; range: ipaddr.IPv4 | ipaddr.IPv6; bits: number };

/** A ban list with its ranges parsed once (parsing dominates the cost of a check). */
export interface CompiledBanList {
  ranges: Range[];
  userAgents: readonly string[];
}

export function compileBans(bans: BanList): CompiledBanList {
  const ranges: Range[] = [];
  for (const cidr of bans.ips) {
    try {
      const [range, bits] = ipaddr.parseCIDR(cidr);
      ranges.push({ cidr, range, bits });
    } catch {
      // Stored values are canonical CIDR; an unparsable one bans nobody.
    }
  }
  return { ranges, userAgents: bans.userAgents };
}

/** Whether a registration from this address and user agent is banned, and by which rule. */
export function checkBans(ip: string, userAgent: string | undefined, bans: BanList | CompiledBanList): BanVerdict {
  const compiled = 'ranges' in bans ? bans : compileBans(bans);
  let addr: ipaddr.IPv4 | ipaddr.IPv6 | undefined;
  try {
    addr = unmap(ipaddr.parse(ip));
  } catch {
    addr = undefined;
  }
  if (addr) {
    for (const r of compiled.ranges) {
      if (r.range.kind() !== addr.kind()) continue;
      const hit = addr.kind() === 'ipv4'
        ? (addr as ipaddr.IPv4).match(r.range as ipaddr.IPv4, r.bits)
        : (addr as ipaddr.IPv6).match(r.range as ipaddr.IPv6, r.bits);
      if (hit) return { banned: true, reason: 'banned_ip', rule: r.cidr };
    }
  }
  // A missing User-Agent is matched as the empty string: only the pattern "*" bans it.
  const ua = userAgent ?? '';
  for (const pattern of compiled.userAgents) {
    if (globMatch(pattern, ua)) return { banned: true, reason: 'banned_user_agent', rule: pattern };
  }
  return { banned: false };
}
