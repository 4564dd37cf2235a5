// The service's whole configuration: one zod schema over process.env, parsed once at start-up,
// frozen and passed down. A wrong value stops start-up with one line per problem, naming the
// variable. Secrets have no defaults.
import { z } from 'zod';
import ipaddr from 'ipaddr.js';
import type { PasswordPolicy } from './domain/password-policy.js';
import { canonicalCidr, validUserAgentPattern } from './domain/registration-bans.js';

const bool = (def: boolean) =>
  z
    .string()
    .trim()
    .toLowerCase()
    .optional()
    .transform((v, ctx) => {
      if (v === undefined || v === '') return def;
      if (['true', '1', 'yes', 'on'].includes(v)) return true;
      if (['false', '0', 'no', 'off'].includes(v)) return false;
      ctx.addIssue({ code: 'custom', message: `expected true or false, got "${v}"` });
      return z.NEVER;
    });

const DURATION = /^(\d+)\s*(ms|s|m|h|d)$/;
const UNIT_MS = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;

/** A duration such as `30s`, `15m`, `2h`, `7d` or `500ms`, in milliseconds. */
const duration = (def: string, min = 1) =>
  z
    .string()
    .trim()
    .optional()
    .transform((v, ctx) => {
      const m = DURATION.exec(v === undefined || v === '' ? def : v);
      if (!m) {
        ctx.addIssue({ code: 'custom', message: `expected a duration like 30s, 15m, 2h or 7d, got "${v}"` });
        return z.NEVER;
      }
      const ms = Number(m[1]) * UNIT_MS[m[2] as keyof typeof UNIT_MS];
      if (ms < min) {
        ctx.addIssue({ code: 'custom', message: `must be at least ${min} ms` });
        return z.NEVER;
      }
      return ms;
    });

const int = (def: number, min: number, max = Number.MAX_SAFE_INTEGER) =>
  z
    .string()
    .trim()
    .optional()
    .transform((v, ctx) => {
      if (v === undefined || v === '') return def;
      if (!/^\d+$/.test(v) || Number(v) < min || Number(v) > max) {
        ctx.addIssue({ code: 'custom', message: `expected an integer from ${min} to ${max}, got "${v}"` });
        return z.NEVER;
      }
      return Number(v);
    });

const positiveNumber = (def: number) =>
  z
    .string()
    .trim()
    .optional()
    .transform((v, ctx) => {
      if (v === undefined || v === '') return def;
      const n = Number(v);
      if (!Number.isFinite(n) || n <= 0) {
        ctx.addIssue({ code: 'custom', message: `expected a positive number, got "${v}"` });
        return z.NEVER;
      }
      return n;
    });

const list = (def: string[]) =>
  z
    .string()
    .optional()
    .transform((v) =>
      v === undefined ? def : v.split(',').map((s) => s.trim()).filter((s) => s.length > 0),
    );

// server_name = hostname [ ":" port ] (appendices: server name grammar).
const SERVER_NAME = /^(?:\[[0-9A-Fa-f:.]{2,45}\]|[0-9A-Za-z.-]{1,255})(?::\d{1,5})?$/;

/** A secret: required when its feature is enabled, never defaulted, never echoed back. */
const secret = (minLength: number) =>
  z
    .string()
    .optional()
    .transform((v, ctx) => {
      if (v === undefined || v === '') return undefined;
      if (v.length < minLength) {
        ctx.addIssue({ code: 'custom', message: `must be at least ${minLength} characters long` });
        return z.NEVER;
      }
      return v;
    });

/** White-space separated regular expressions (each anchored to the whole address). */
const patterns = z
  .string()
  .optional()
  .transform((v, ctx) => {
    const entries = (v ?? '').split(/\s+/).filter(Boolean);
    for (const e of entries) {
      try {
        new RegExp(`^(?:${e})$`, 'u');
      } catch {
        ctx.addIssue({ code: 'custom', message: `"${e}" is not a valid regular expression` });
        return z.NEVER;
      }
    }
    return entries;
  });

/** An optional http(s) URL (no default). */
const optionalHttpUrl = z
  .string()
  .trim()
  .optional()
  .transform((v) => (v === '' ? undefined : v))
  .refine((v) => v === undefined || /^https?:\/\/[^\s/]+(\/\S*)?$/.test(v), 'must be an http(s) URL');

const trustedProxies = z
  .string()
  .optional()
  .transform((v, ctx) => {
    const entries = (v ?? '').split(',').map((s) => s.trim()).filter(Boolean);
    for (const e of entries) {
      const ok = e.includes('/') ? safe(() => ipaddr.parseCIDR(e)) : ipaddr.isValid(e);
      if (!ok) {
        ctx.addIssue({ code: 'custom', message: `"${e}" is not an IP address or CIDR range` });
        return z.NEVER;
      }
    }
    return entries;
  });

/**
 * TERMS_POLICIES: the m.login.terms `policies` object as JSON, in the spec's shape:
 * {"terms_of_service": {"version": "1.2", "en": {"name": "Terms of Service", "url": "https://…"}}}.
 */
const POLICY_ID = /^[A-Za-z0-9._-]{1,64}$/;
const OPAQUE_ID = /^[A-Za-z0-9._~-]{1,255}$/;
const LANGUAGE = /^[A-Za-z]{2,3}(?:[-_][A-Za-z0-9]{1,8})*$/;
const policyDocument = z.object({
  name: z.string().trim().min(1).max(200),
  url: z.string().trim().regex(/^https?:\/\/[^\s]+$/, 'must be an http(s) URL'),
});
const termsPolicies = z
  .string()
  .optional()
  .transform((v, ctx) => {
    if (v === undefined || v.trim() === '') return {};
    let raw: unknown;
    try {
      raw = JSON.parse(v);
    } catch {
      ctx.addIssue({ code: 'custom', message: 'must be a JSON object of policies (see README)' });
      return z.NEVER;
    }
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
      ctx.addIssue({ code: 'custom', message: 'must be a JSON object of policies (see README)' });
      return z.NEVER;
    }
    const out: Record<string, TermsPolicy> = {};
    for (const [id, policy] of Object.entries(raw)) {
      const where = `policy "${id}"`;
      if (!POLICY_ID.test(id)) {
        ctx.addIssue({ code: 'custom', message: `${where}: ids are 1-64 of A-Z a-z 0-9 . _ -` });
        return z.NEVER;
      }
      if (typeof policy !== 'object' || policy === null || Array.isArray(policy)) {
        ctx.addIssue({ code: 'custom', message: `${where}: must be an object` });
        return z.NEVER;
      }
      const { version, ...languages } = policy as Record<string, unknown>;
      if (typeof version !== 'string' || !OPAQUE_ID.test(version.trim())) {
        ctx.addIssue({ code: 'custom', message: `${where}: needs a "version" string of A-Z a-z 0-9 . _ ~ - (the spec's opaque identifier grammar)` });
        return z.NEVER;
      }
      const docs: Record<string, { name: string; url: string }> = {};
      for (const [lang, doc] of Object.entries(languages)) {
        const parsed = policyDocument.safeParse(doc);
        if (!LANGUAGE.test(lang) || !parsed.success) {
          ctx.addIssue({ code: 'custom', message: `${where}: "${lang}" must be a language code mapping to {"name", "url"} with an http(s) url` });
          return z.NEVER;
        }
        docs[lang] = parsed.data;
      }
      if (Object.keys(docs).length === 0) {
        ctx.addIssue({ code: 'custom', message: `${where}: needs at least one language, e.g. "en": {"name", "url"}` });
        return z.NEVER;
      }
      out[id] = { version: version.trim(), documents: docs };
    }
    return out;
  });

const httpUrl = (def: string) =>
  z
    .string()
    .trim()
    .optional()
    .transform((v) => (v === undefined || v === '' ? def : v))
    .refine((v) => /^https?:\/\/[^\s/]+(\/[^\s]*)?$/.test(v), 'must be an http(s) URL');

/** CSP source expressions: origins such as https://www.gstatic.com (no quotes, no wildcards but *.host). */
const cspSources = z
  .string()
  .optional()
  .transform((v, ctx) => {
    if (v === undefined) return undefined;
    const entries = v.split(/[\s,]+/).filter(Boolean);
    for (const e of entries) {
      if (!/^https?:\/\/(\*\.)?[A-Za-z0-9.-]+(:\d{1,5})?$/.test(e)) {
        ctx.addIssue({ code: 'custom', message: `"${e}" is not an origin like https://example.com` });
        return z.NEVER;
      }
    }
    return entries;
  });

/** Comma-separated IP addresses and CIDR ranges, stored in canonical CIDR form. */
const cidrList = z
  .string()
  .optional()
  .transform((v, ctx) => {
    const out: string[] = [];
    for (const e of (v ?? '').split(',').map((s) => s.trim()).filter(Boolean)) {
      const c = canonicalCidr(e);
      if (!c) {
        ctx.addIssue({ code: 'custom', message: `"${e}" is not an IP address or CIDR range` });
        return z.NEVER;
      }
      out.push(c);
    }
    return out;
  });

/** Comma-separated user-agent glob patterns (`*` = any characters). */
const userAgentPatterns = z
  .string()
  .optional()
  .transform((v, ctx) => {
    const out = (v ?? '').split(',').map((s) => s.trim()).filter(Boolean);
    for (const p of out) {
      if (!validUserAgentPattern(p)) {
        ctx.addIssue({ code: 'custom', message: `"${p}" is not a printable pattern of at most 256 characters` });
        return z.NEVER;
      }
    }
    return out;
  });

/** Comma-separated domain names, lower case. */
const domainList = z
  .string()
  .optional()
  .transform((v, ctx) => {
    const out = (v ?? '').split(',').map((s) => s.trim().toLowerCase().replace(/^\*?\./, '')).filter(Boolean);
    for (const d of out) {
      if (!/^[a-z0-9-]+(\.[a-z0-9-]+)*$/.test(d)) {
        ctx.addIssue({ code: 'custom', message: `"${d}" is not a domain name` });
        return z.NEVER;
      }
    }
    return out;
  });

function safe(fn: () => unknown): boolean {
  try {
    fn();
    return true;
  } catch {
    return false;
  }
}

const GOOGLE_SITEVERIFY = 'https://www.google.com/recaptcha/api/siteverify';
const GOOGLE_WIDGET = 'https://www.google.com/recaptcha/api.js';

const schema = z
  .object({
    SERVER_NAME: z
      .string({ error: 'is required (the server name in user IDs, e.g. example.org)' })
      .trim()
      .regex(SERVER_NAME, 'must be a Matrix server name: hostname[:port]'),
    PUBLIC_BASEURL: z
      .string()
      .trim()
      .optional()
      .refine((v) => v === undefined || /^https?:\/\/[^\s/]+(\/.*)?$/.test(v), 'must be an http(s) URL'),
    HOST: z.string().trim().default('0.0.0.0'),
    PORT: int(8008, 0, 65535),
    DATABASE_URL: z
      .string()
      .trim()
      .optional()
      .refine((v) => v === undefined || v === '' || /^postgres(ql)?:\/\//.test(v), 'must be a postgres:// URL')
      .transform((v) => (v === '' ? undefined : v)),
    DATABASE_POOL_SIZE: int(10, 1, 500),
    DATABASE_PREPARED_STATEMENTS: bool(true),
    DATA_DIR: z.string().trim().default('./data'),
    LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
    LOG_FLUSH_INTERVAL: duration('100ms', 1),
    TRUST_PROXY: trustedProxies,
    BODY_LIMIT_BYTES: int(65_536, 1024, 10 * 1024 * 1024),

    ENABLE_REGISTRATION: bool(false),
    REGISTRATION_REQUIRES_TOKEN: bool(false),
    ENABLE_REGISTRATION_WITHOUT_VERIFICATION: bool(false),
    REGISTRATION_REQUIRES_3PID: z
      .string()
      .trim()
      .toLowerCase()
      .optional()
      .transform((v) => (v === undefined || v === '' ? 'none' : v))
      .pipe(z.enum(['none', 'email', 'msisdn', 'either'], { error: 'must be one of none, email, msisdn, either' })),
    ALLOW_GUEST_ACCESS: bool(false),
    RESERVED_USERNAMES: list([
      'admin', 'administrator', 'root', 'abuse', 'postmaster', 'hostmaster', 'webmaster',
      'security', 'support', 'noreply', 'no-reply', 'server', 'notices', 'system', 'mod', 'moderator',
    ]),

    REGISTRATION_TOKEN_OPTIONAL: bool(false),
    REGISTRATION_REQUIRES_APPROVAL: bool(false),
    REGISTRATION_APPROVAL_WEBHOOK_URL: z
      .string()
      .trim()
      .optional()
      .refine((v) => v === undefined || v === '' || /^https?:\/\/[^\s/]+(\/\S*)?$/.test(v), 'must be an http(s) URL')
      .transform((v) => (v === '' ? undefined : v)),
    REGISTRATION_MAX_PER_HOUR: int(0, 0, 1_000_000_000),
    REGISTRATION_MAX_PER_DAY: int(0, 0, 1_000_000_000),
    REGISTRATION_CAP_SHORT_WAIT: duration('5m', 0),
    REGISTRATION_BANNED_IPS: cidrList,
    REGISTRATION_BANNED_USER_AGENTS: userAgentPatterns,
    REGISTRATION_EMAIL_DOMAIN_ALLOWLIST: domainList,
    REGISTRATION_EMAIL_DOMAIN_DENYLIST: domainList,
    REGISTRATION_REFUSE_DISPOSABLE_EMAIL: bool(false),
    REGISTRATION_AUDIT: bool(false),
    REGISTRATION_AUDIT_RETENTION: duration('30d', 60_000),

    ADMIN_TOKEN: secret(32),
    INTROSPECTION_SECRET: secret(32),

    PASSWORD_MIN_LENGTH: int(10, 1, 1024),
    PASSWORD_MAX_LENGTH: int(512, 8, 65536),
    PASSWORD_REQUIRE_DIGIT: bool(false),
    PASSWORD_REQUIRE_SYMBOL: bool(false),
    PASSWORD_REQUIRE_LOWERCASE: bool(false),
    PASSWORD_REQUIRE_UPPERCASE: bool(false),
    PASSWORD_MIN_STRENGTH: int(0, 0, 4),
    ARGON2_MEMORY_KIB: int(19_456, 19_456, 4_194_304),
    ARGON2_ITERATIONS: int(2, 2, 100),
    ARGON2_PARALLELISM: int(1, 1, 64),

    ACCESS_TOKEN_LIFETIME: duration('5m', 10_000),
    UIA_SESSION_LIFETIME: duration('1h', 10_000),
    REGISTRATION_TOKEN_HOLD: duration('15m', 1000),

    RATE_LIMIT_REGISTER_PER_SECOND: positiveNumber(0.17),
    RATE_LIMIT_REGISTER_BURST: int(3, 1, 1_000_000),
    RATE_LIMIT_REGISTER_REQUESTS_PER_MINUTE: int(60, 1, 1_000_000),
    RATE_LIMIT_AVAILABLE_PER_MINUTE: int(120, 1, 1_000_000),
    RATE_LIMIT_TOKEN_VALIDITY_PER_SECOND: positiveNumber(0.1),
    RATE_LIMIT_TOKEN_VALIDITY_BURST: int(5, 1, 1_000_000),
    RATE_LIMIT_TOKEN_FAILURES: int(5, 1, 1_000_000),
    RATE_LIMIT_TOKEN_FAILURES_WINDOW: duration('10m', 1000),
    RATE_LIMIT_LOGIN_REQUESTS_PER_MINUTE: int(60, 1, 1_000_000),
    RATE_LIMIT_LOGIN_FAILURES_PER_ACCOUNT: int(5, 1, 1_000_000),
    RATE_LIMIT_LOGIN_FAILURES_PER_IP: int(20, 1, 1_000_000),
    RATE_LIMIT_LOGIN_FAILURES_WINDOW: duration('10m', 1000),
    RATE_LIMIT_SHARED_SECRET_PER_MINUTE: int(10, 1, 1_000_000),

    REDIS_URL: z
      .string()
      .trim()
      .optional()
      .refine((v) => v === undefined || v === '' || /^rediss?:\/\//.test(v), 'must be a redis:// or rediss:// URL')
      .transform((v) => (v === '' ? undefined : v)),
    REDIS_KEY_PREFIX: z.string().trim().default('mrs:rl:'),

    METRICS_PORT: int(0, 0, 65535),
    METRICS_HOST: z.string().trim().default('127.0.0.1'),
    METRICS_TOKEN: secret(32),
    SHUTDOWN_TIMEOUT: duration('25s', 1000),
    SHUTDOWN_DRAIN_DELAY: duration('0ms', 0),

    REGISTRATION_SHARED_SECRET: secret(16),
    SHARED_SECRET_NONCE_LIFETIME: duration('1m', 1000),
    APPSERVICE_CONFIG_FILES: list([]),

    SMTP_URL: z
      .string()
      .trim()
      .optional()
      .transform((v) => (v === '' ? undefined : v))
      .refine((v) => v === undefined || /^smtps?:\/\/\S+$/.test(v), 'must be an smtp:// or smtps:// URL'),
    EMAIL_FROM: z.string().trim().optional().transform((v) => (v === '' ? undefined : v)),
    SMTP_REQUIRE_TLS: bool(true),
    SMTP_TLS_REJECT_UNAUTHORIZED: bool(true),
    SMS_GATEWAY_URL: optionalHttpUrl,
    SMS_GATEWAY_AUTH_HEADER: z.string().trim().default('Authorization'),
    SMS_GATEWAY_AUTH_VALUE: secret(8),
    SMS_FROM: z.string().trim().optional().transform((v) => (v === '' ? undefined : v)),
    THREEPID_TOKEN_LIFETIME: duration('1h', 60_000),
    THREEPID_SESSION_LIFETIME: duration('24h', 60_000),
    THREEPID_MAX_ATTEMPTS: int(5, 1, 1000),
    THREEPID_REVEAL_ACCOUNTS: bool(false),
    THREEPID_ALLOWED_EMAIL_PATTERNS: patterns,
    THREEPID_ALLOWED_MSISDN_PATTERNS: patterns,
    NEXT_LINK_ALLOWED_HOSTS: list([]),
    RATE_LIMIT_3PID_SENDS_PER_ADDRESS: int(5, 1, 1_000_000),
    RATE_LIMIT_3PID_SENDS_PER_IP: int(20, 1, 1_000_000),
    RATE_LIMIT_3PID_SENDS_PER_SESSION: int(3, 1, 1_000_000),
    RATE_LIMIT_3PID_SENDS_WINDOW: duration('1h', 1000),
    RATE_LIMIT_3PID_REQUESTS_PER_MINUTE: int(60, 1, 1_000_000),
    RATE_LIMIT_3PID_FAILURES_PER_IP: int(20, 1, 1_000_000),
    RATE_LIMIT_3PID_FAILURES_WINDOW: duration('10m', 1000),
    OUTBOX_POLL_INTERVAL: duration('2s', 100),
    OUTBOX_MAX_ATTEMPTS: int(8, 1, 100),
    OUTBOX_RETRY_BASE: duration('10s', 10),
    OUTBOX_RETRY_MAX: duration('1h', 10),
    OUTBOX_LEASE: duration('2m', 1000),
    OUTBOX_SEND_TIMEOUT: duration('30s', 100),
    ENABLE_REGISTRATION_CAPTCHA: bool(false),
    CAPTCHA_SITE_KEY: z.string().trim().optional(),
    CAPTCHA_SECRET: secret(16),
    CAPTCHA_SITEVERIFY_URL: httpUrl(GOOGLE_SITEVERIFY),
    CAPTCHA_WIDGET_SCRIPT_URL: httpUrl(GOOGLE_WIDGET),
    CAPTCHA_WIDGET_CLASS: z
      .string()
      .trim()
      .optional()
      .transform((v) => (v === undefined || v === '' ? 'g-recaptcha' : v))
      .refine((v) => /^[A-Za-z][A-Za-z0-9_-]{0,63}$/.test(v), 'must be a CSS class name'),
    CAPTCHA_CSP_SOURCES: cspSources,
    CAPTCHA_VERIFY_TIMEOUT: duration('10s', 100),
    TERMS_POLICIES: termsPolicies,
    FALLBACK_FRAME_ANCESTORS: cspSources,
    RATE_LIMIT_FALLBACK_PER_MINUTE: int(30, 1, 1_000_000),
  })
  .superRefine((c, ctx) => {
    if (c.SHUTDOWN_DRAIN_DELAY >= c.SHUTDOWN_TIMEOUT) {
      ctx.addIssue({ code: 'custom', path: ['SHUTDOWN_DRAIN_DELAY'], message: 'must be shorter than SHUTDOWN_TIMEOUT' });
    }
    if (c.PASSWORD_MIN_LENGTH > c.PASSWORD_MAX_LENGTH) {
      ctx.addIssue({ code: 'custom', path: ['PASSWORD_MIN_LENGTH'], message: 'must not exceed PASSWORD_MAX_LENGTH' });
    }
    if (c.ENABLE_REGISTRATION_CAPTCHA) {
      if (!c.CAPTCHA_SITE_KEY) {
        ctx.addIssue({ code: 'custom', path: ['CAPTCHA_SITE_KEY'], message: 'is required when ENABLE_REGISTRATION_CAPTCHA=true' });
      }
      if (!c.CAPTCHA_SECRET) {
        ctx.addIssue({ code: 'custom', path: ['CAPTCHA_SECRET'], message: 'is required when ENABLE_REGISTRATION_CAPTCHA=true' });
      }
    }
    if (c.REGISTRATION_TOKEN_OPTIONAL && c.REGISTRATION_REQUIRES_TOKEN) {
      ctx.addIssue({
        code: 'custom',
        path: ['REGISTRATION_TOKEN_OPTIONAL'],
        message: 'cannot be combined with REGISTRATION_REQUIRES_TOKEN=true (a token is either required or optional)',
      });
    }
    if (c.REGISTRATION_APPROVAL_WEBHOOK_URL !== undefined && !c.REGISTRATION_REQUIRES_APPROVAL) {
      ctx.addIssue({
        code: 'custom',
        path: ['REGISTRATION_APPROVAL_WEBHOOK_URL'],
        message: 'is only called for accounts awaiting approval: set REGISTRATION_REQUIRES_APPROVAL=true as well',
      });
    }
    // As in Synapse, a captcha counts as verifying the registrant; accepting terms does not. A
    // required email or phone number verifies the registrant as much as a token does.
    const verifying = c.REGISTRATION_REQUIRES_TOKEN || c.ENABLE_REGISTRATION_CAPTCHA || c.REGISTRATION_REQUIRES_3PID !== 'none';
    if (c.ENABLE_REGISTRATION && !verifying && !c.ENABLE_REGISTRATION_WITHOUT_VERIFICATION) {
      ctx.addIssue({
        code: 'custom',
        path: ['ENABLE_REGISTRATION'],
        message:
          'open registration with nothing but m.login.dummy lets anyone create accounts; ' +
          'set REGISTRATION_REQUIRES_TOKEN=true, ENABLE_REGISTRATION_CAPTCHA=true or REGISTRATION_REQUIRES_3PID, ' +
          'or opt in with ENABLE_REGISTRATION_WITHOUT_VERIFICATION=true',
      });
    }
    const needs = c.REGISTRATION_REQUIRES_3PID;
    if ((needs === 'email' || needs === 'either') && !c.SMTP_URL) {
      ctx.addIssue({ code: 'custom', path: ['SMTP_URL'], message: `is required when REGISTRATION_REQUIRES_3PID=${needs}` });
    }
    if ((needs === 'msisdn' || needs === 'either') && !c.SMS_GATEWAY_URL) {
      ctx.addIssue({ code: 'custom', path: ['SMS_GATEWAY_URL'], message: `is required when REGISTRATION_REQUIRES_3PID=${needs}` });
    }
    if (c.SMTP_URL && !c.EMAIL_FROM) {
      ctx.addIssue({ code: 'custom', path: ['EMAIL_FROM'], message: 'is required when SMTP_URL is set' });
    }
    if (c.OUTBOX_RETRY_BASE > c.OUTBOX_RETRY_MAX) {
      ctx.addIssue({ code: 'custom', path: ['OUTBOX_RETRY_BASE'], message: 'must not exceed OUTBOX_RETRY_MAX' });
    }
    if (c.OUTBOX_SEND_TIMEOUT >= c.OUTBOX_LEASE) {
      ctx.addIssue({ code: 'custom', path: ['OUTBOX_LEASE'], message: 'must be longer than OUTBOX_SEND_TIMEOUT' });
    }
  });

type Raw = z.output<typeof schema>;

/** One policy of m.login.terms: its version and, per language, the document's name and URL. */
export interface TermsPolicy {
  version: string;
  documents: Record<string, { name: string; url: string }>;
}

export interface CaptchaConfig {
  siteKey: string;
  secret: string;
  siteverifyUrl: string;
  widgetScriptUrl: string;
  widgetClass: string;
  /** Origins the widget loads scripts, frames and connections from (for the page's CSP). */
  cspSources: string[];
  verifyTimeoutMs: number;
}

export interface Config {
  serverName: string;
  publicBaseUrl: string;
  host: string;
  port: number;
  databaseUrl: string | undefined;
  databasePoolSize: number;
  /** Server-side prepared statements (off behind a pooler that cannot carry them). */
  databasePreparedStatements: boolean;
  dataDir: string;
  logLevel: Raw['LOG_LEVEL'];
  /** Log lines are written out in batches, at least this often (ms). */
  logFlushIntervalMs: number;
  trustProxy: string[];
  bodyLimitBytes: number;
  registration: {
    enabled: boolean;
    requiresToken: boolean;
    withoutVerification: boolean;
    allowGuests: boolean;
    reservedUsernames: string[];
    requires3pid: 'none' | 'email' | 'msisdn' | 'either';
    uiaSessionLifetimeMs: number;
    tokenHoldMs: number;
    tokenOptional: boolean;
  };
  /** Anti-abuse controls (issue 8); each is off by default. */
  abuse: {
    requiresApproval: boolean;
    approvalWebhookUrl: string | undefined;
    maxPerHour: number;
    maxPerDay: number;
    capShortWaitMs: number;
    bannedIps: string[];
    bannedUserAgents: string[];
    emailDomainAllowlist: string[];
    emailDomainDenylist: string[];
    refuseDisposableEmail: boolean;
    audit: boolean;
    auditRetentionMs: number;
  };
  adminToken: string | undefined;
  /** Outgoing email; undefined when SMTP_URL is unset (email validation off). */
  email: { smtpUrl: string; from: string; requireTls: boolean; rejectUnauthorized: boolean } | undefined;
  /** Outgoing text messages; undefined when SMS_GATEWAY_URL is unset (phone validation off). */
  sms: { gatewayUrl: string; authHeader: string; authValue: string | undefined; from: string | undefined } | undefined;
  threepid: {
    tokenLifetimeMs: number;
    sessionLifetimeMs: number;
    maxAttempts: number;
    revealAccounts: boolean;
    allowedEmailPatterns: string[];
    allowedMsisdnPatterns: string[];
    nextLinkAllowedHosts: string[];
    sendsPerAddress: number;
    sendsPerIp: number;
    sendsPerSession: number;
    sendsWindowMs: number;
    failuresPerIp: number;
    failuresWindowMs: number;
    requestsPerMinute: number;
  };
  outbox: {
    pollIntervalMs: number;
    maxAttempts: number;
    retryBaseMs: number;
    retryMaxMs: number;
    leaseMs: number;
    sendTimeoutMs: number;
  };
  /** Shared secret of the token introspection endpoint; unset: the endpoint is off. */
  introspectionSecret: string | undefined;
  password: PasswordPolicy;
  argon2: { memoryKiB: number; iterations: number; parallelism: number };
  accessTokenLifetimeMs: number;
  rateLimits: {
    registerPerSecond: number;
    registerBurst: number;
    registerRequestsPerMinute: number;
    availablePerMinute: number;
    tokenValidityPerSecond: number;
    tokenValidityBurst: number;
    tokenFailures: number;
    tokenFailuresWindowMs: number;
    loginRequestsPerMinute: number;
    /** Failed password checks (login and the m.login.password UIA stage) per account and per IP. */
    loginFailuresPerAccount: number;
    loginFailuresPerIp: number;
    loginFailuresWindowMs: number;
    sharedSecretPerMinute: number;
    fallbackPerMinute: number;
  };
  /** Shared rate-limit counters; undefined: each instance counts in its own memory. */
  redis: { url: string; keyPrefix: string } | undefined;
  metrics: {
    /** A separate listener for /metrics; 0: none. */
    port: number;
    host: string;
    /** Bearer token that opens /metrics on the main port; undefined: not served there. */
    token: string | undefined;
  };
  shutdownTimeoutMs: number;
  /** After SIGTERM, keep serving (reporting not ready) this long so the load balancer stops first. */
  shutdownDrainDelayMs: number;
  sharedSecret: { secret: string | undefined; nonceLifetimeMs: number };
  appserviceConfigFiles: string[];
  /** m.login.recaptcha, when enabled. */
  captcha: CaptchaConfig | undefined;
  /** m.login.terms policies (empty: no terms stage). */
  termsPolicies: Record<string, TermsPolicy>;
  /** Origins allowed to frame the fallback pages (CSP frame-ancestors); empty: none. */
  fallbackFrameAncestors: string[];
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(problems.join('\n'));
  }
}

/** Parses the environment; throws ConfigError listing every problem, one line each. */
export function loadConfig(env: Record<string, string | undefined> = process.env): Readonly<Config> {
  const parsed = schema.safeParse(env);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => {
      const name = String(i.path[0] ?? 'configuration');
      const message = i.code === 'invalid_type' && env[name] === undefined ? 'is required' : i.message;
      return `${name}: ${message}`;
    });
    throw new ConfigError(problems);
  }
  const c = parsed.data;
  return deepFreeze({
    serverName: c.SERVER_NAME,
    publicBaseUrl: (c.PUBLIC_BASEURL ?? `https://${c.SERVER_NAME}`).replace(/\/+$/, ''),
    host: c.HOST,
    port: c.PORT,
    databaseUrl: c.DATABASE_URL,
    databasePoolSize: c.DATABASE_POOL_SIZE,
    databasePreparedStatements: c.DATABASE_PREPARED_STATEMENTS,
    dataDir: c.DATA_DIR,
    logLevel: c.LOG_LEVEL,
    logFlushIntervalMs: c.LOG_FLUSH_INTERVAL,
    trustProxy: c.TRUST_PROXY,
    bodyLimitBytes: c.BODY_LIMIT_BYTES,
    registration: {
      enabled: c.ENABLE_REGISTRATION,
      requiresToken: c.REGISTRATION_REQUIRES_TOKEN,
      withoutVerification: c.ENABLE_REGISTRATION_WITHOUT_VERIFICATION,
      allowGuests: c.ALLOW_GUEST_ACCESS,
      reservedUsernames: c.RESERVED_USERNAMES.map((n) => n.toLowerCase()),
      requires3pid: c.REGISTRATION_REQUIRES_3PID,
      uiaSessionLifetimeMs: c.UIA_SESSION_LIFETIME,
      tokenHoldMs: c.REGISTRATION_TOKEN_HOLD,
      tokenOptional: c.REGISTRATION_TOKEN_OPTIONAL,
    },
    abuse: {
      requiresApproval: c.REGISTRATION_REQUIRES_APPROVAL,
      approvalWebhookUrl: c.REGISTRATION_APPROVAL_WEBHOOK_URL,
      maxPerHour: c.REGISTRATION_MAX_PER_HOUR,
      maxPerDay: c.REGISTRATION_MAX_PER_DAY,
      capShortWaitMs: c.REGISTRATION_CAP_SHORT_WAIT,
      bannedIps: c.REGISTRATION_BANNED_IPS,
      bannedUserAgents: c.REGISTRATION_BANNED_USER_AGENTS,
      emailDomainAllowlist: c.REGISTRATION_EMAIL_DOMAIN_ALLOWLIST,
      emailDomainDenylist: c.REGISTRATION_EMAIL_DOMAIN_DENYLIST,
      refuseDisposableEmail: c.REGISTRATION_REFUSE_DISPOSABLE_EMAIL,
      audit: c.REGISTRATION_AUDIT,
      auditRetentionMs: c.REGISTRATION_AUDIT_RETENTION,
    },
    adminToken: c.ADMIN_TOKEN,
    email:
      c.SMTP_URL && c.EMAIL_FROM
        ? {
            smtpUrl: c.SMTP_URL,
            from: c.EMAIL_FROM,
            requireTls: c.SMTP_REQUIRE_TLS,
            rejectUnauthorized: c.SMTP_TLS_REJECT_UNAUTHORIZED,
          }
        : undefined,
    sms: c.SMS_GATEWAY_URL
      ? { gatewayUrl: c.SMS_GATEWAY_URL, authHeader: c.SMS_GATEWAY_AUTH_HEADER, authValue: c.SMS_GATEWAY_AUTH_VALUE, from: c.SMS_FROM }
      : undefined,
    threepid: {
      tokenLifetimeMs: c.THREEPID_TOKEN_LIFETIME,
      sessionLifetimeMs: c.THREEPID_SESSION_LIFETIME,
      maxAttempts: c.THREEPID_MAX_ATTEMPTS,
      revealAccounts: c.THREEPID_REVEAL_ACCOUNTS,
      allowedEmailPatterns: c.THREEPID_ALLOWED_EMAIL_PATTERNS,
      allowedMsisdnPatterns: c.THREEPID_ALLOWED_MSISDN_PATTERNS,
      nextLinkAllowedHosts: c.NEXT_LINK_ALLOWED_HOSTS.map((h) => h.toLowerCase()),
      sendsPerAddress: c.RATE_LIMIT_3PID_SENDS_PER_ADDRESS,
      sendsPerIp: c.RATE_LIMIT_3PID_SENDS_PER_IP,
      sendsPerSession: c.RATE_LIMIT_3PID_SENDS_PER_SESSION,
      sendsWindowMs: c.RATE_LIMIT_3PID_SENDS_WINDOW,
      failuresPerIp: c.RATE_LIMIT_3PID_FAILURES_PER_IP,
      failuresWindowMs: c.RATE_LIMIT_3PID_FAILURES_WINDOW,
      requestsPerMinute: c.RATE_LIMIT_3PID_REQUESTS_PER_MINUTE,
    },
    outbox: {
      pollIntervalMs: c.OUTBOX_POLL_INTERVAL,
      maxAttempts: c.OUTBOX_MAX_ATTEMPTS,
      retryBaseMs: c.OUTBOX_RETRY_BASE,
      retryMaxMs: c.OUTBOX_RETRY_MAX,
      leaseMs: c.OUTBOX_LEASE,
      sendTimeoutMs: c.OUTBOX_SEND_TIMEOUT,
    },
    introspectionSecret: c.INTROSPECTION_SECRET,
    password: {
      minLength: c.PASSWORD_MIN_LENGTH,
      maxLength: c.PASSWORD_MAX_LENGTH,
      requireDigit: c.PASSWORD_REQUIRE_DIGIT,
      requireSymbol: c.PASSWORD_REQUIRE_SYMBOL,
      requireLowercase: c.PASSWORD_REQUIRE_LOWERCASE,
      requireUppercase: c.PASSWORD_REQUIRE_UPPERCASE,
      minStrength: c.PASSWORD_MIN_STRENGTH,
    },
    argon2: { memoryKiB: c.ARGON2_MEMORY_KIB, iterations: c.ARGON2_ITERATIONS, parallelism: c.ARGON2_PARALLELISM },
    accessTokenLifetimeMs: c.ACCESS_TOKEN_LIFETIME,
    rateLimits: {
      registerPerSecond: c.RATE_LIMIT_REGISTER_PER_SECOND,
      registerBurst: c.RATE_LIMIT_REGISTER_BURST,
      registerRequestsPerMinute: c.RATE_LIMIT_REGISTER_REQUESTS_PER_MINUTE,
      availablePerMinute: c.RATE_LIMIT_AVAILABLE_PER_MINUTE,
      tokenValidityPerSecond: c.RATE_LIMIT_TOKEN_VALIDITY_PER_SECOND,
      tokenValidityBurst: c.RATE_LIMIT_TOKEN_VALIDITY_BURST,
      tokenFailures: c.RATE_LIMIT_TOKEN_FAILURES,
      tokenFailuresWindowMs: c.RATE_LIMIT_TOKEN_FAILURES_WINDOW,
      loginRequestsPerMinute: c.RATE_LIMIT_LOGIN_REQUESTS_PER_MINUTE,
      loginFailuresPerAccount: c.RATE_LIMIT_LOGIN_FAILURES_PER_ACCOUNT,
      loginFailuresPerIp: c.RATE_LIMIT_LOGIN_FAILURES_PER_IP,
      loginFailuresWindowMs: c.RATE_LIMIT_LOGIN_FAILURES_WINDOW,
      sharedSecretPerMinute: c.RATE_LIMIT_SHARED_SECRET_PER_MINUTE,
      fallbackPerMinute: c.RATE_LIMIT_FALLBACK_PER_MINUTE,
    },
    redis: c.REDIS_URL ? { url: c.REDIS_URL, keyPrefix: c.REDIS_KEY_PREFIX } : undefined,
    metrics: { port: c.METRICS_PORT, host: c.METRICS_HOST, token: c.METRICS_TOKEN },
    shutdownTimeoutMs: c.SHUTDOWN_TIMEOUT,
    shutdownDrainDelayMs: c.SHUTDOWN_DRAIN_DELAY,
    sharedSecret: { secret: c.REGISTRATION_SHARED_SECRET, nonceLifetimeMs: c.SHARED_SECRET_NONCE_LIFETIME },
    appserviceConfigFiles: c.APPSERVICE_CONFIG_FILES,
    captcha: c.ENABLE_REGISTRATION_CAPTCHA
      ? {
          siteKey: c.CAPTCHA_SITE_KEY!,
          secret: c.CAPTCHA_SECRET!,
          siteverifyUrl: c.CAPTCHA_SITEVERIFY_URL,
          widgetScriptUrl: c.CAPTCHA_WIDGET_SCRIPT_URL,
          widgetClass: c.CAPTCHA_WIDGET_CLASS,
          cspSources: c.CAPTCHA_CSP_SOURCES ?? defaultCaptchaSources(c.CAPTCHA_WIDGET_SCRIPT_URL),
          verifyTimeoutMs: c.CAPTCHA_VERIFY_TIMEOUT,
        }
      : undefined,
    termsPolicies: c.TERMS_POLICIES,
    fallbackFrameAncestors: c.FALLBACK_FRAME_ANCESTORS ?? [],
  });
}

/**
 * The widget script's own origin; Google's reCAPTCHA also loads from www.gstatic.com. hCaptcha
 * and Turnstile load everything from their script's origin (hCaptcha: add https://*.hcaptcha.com).
 */
function defaultCaptchaSources(widgetScriptUrl: string): string[] {
  const origin = new URL(widgetScriptUrl).origin;
  return widgetScriptUrl === GOOGLE_WIDGET ? [origin, 'https://www.gstatic.com'] : [origin];
}

function deepFreeze<T>(o: T): Readonly<T> {
  if (o && typeof o === 'object') {
    for (const v of Object.values(o)) deepFreeze(v);
    Object.freeze(o);
  }
  return o;
}
