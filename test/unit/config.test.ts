// loadConfig: every variable's parsing, defaults, the registration refusal, error reporting and
// the frozen result.
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config.js';

const MIN = { SERVER_NAME: 'example.org' };
const load = (env: Record<string, string | undefined>) => loadConfig({ ...MIN, ...env });

/** The problems loadConfig reports for env, one string per line. */
function problems(env: Record<string, string | undefined>, base: Record<string, string> = MIN): string[] {
  try {
    loadConfig({ ...base, ...env });
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    const e = err as ConfigError;
    expect(e.message.split('\n')).toEqual(e.problems);
    return e.problems;
  }
  throw new Error(`expected ${JSON.stringify(env)} to be refused`);
}

describe('defaults', () => {
  it('a minimal environment gives the documented defaults', () => {
    const c = loadConfig(MIN);
    // Features added later bring their own defaults (tested in their own files).
    expect(c).toMatchObject({
      serverName: 'example.org',
      publicBaseUrl: 'https://example.org',
      host: '0.0.0.0',
      port: 8008,
      databaseUrl: undefined,
      databasePoolSize: 10,
      dataDir: './data',
      logLevel: 'info',
      trustProxy: [],
      bodyLimitBytes: 65_536,
      registration: {
        enabled: false,
        requiresToken: false,
        withoutVerification: false,
        allowGuests: false,
        reservedUsernames: [
          'admin', 'administrator', 'root', 'abuse', 'postmaster', 'hostmaster', 'webmaster',
          'security', 'support', 'noreply', 'no-reply', 'server', 'notices', 'system', 'mod', 'moderator',
        ],
        uiaSessionLifetimeMs: 3_600_000,
        tokenHoldMs: 900_000,
        tokenOptional: false,
      },
      abuse: {
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
        auditRetentionMs: 2_592_000_000,
      },
      adminToken: undefined,
      introspectionSecret: undefined,
      password: {
        minLength: 10,
        maxLength: 512,
        requireDigit: false,
        requireSymbol: false,
        requireLowercase: false,
        requireUppercase: false,
        minStrength: 0,
      },
      argon2: { memoryKiB: 19_456, iterations: 2, parallelism: 1 },
      accessTokenLifetimeMs: 300_000,
      rateLimits: {
        registerPerSecond: 0.17,
        registerBurst: 3,
        registerRequestsPerMinute: 60,
        availablePerMinute: 120,
        tokenValidityPerSecond: 0.1,
        tokenValidityBurst: 5,
        tokenFailures: 5,
        tokenFailuresWindowMs: 600_000,
        loginRequestsPerMinute: 60,
        loginFailuresPerAccount: 5,
        loginFailuresPerIp: 20,
        loginFailuresWindowMs: 600_000,
      },
    });
  });

  it('empty strings mean "use the default" for optional values', () => {
    const c = load({ PORT: '', ENABLE_REGISTRATION: '', DATABASE_URL: '', ADMIN_TOKEN: '', UIA_SESSION_LIFETIME: '' });
    expect(c.port).toBe(8008);
    expect(c.registration.enabled).toBe(false);
    expect(c.databaseUrl).toBeUndefined();
    expect(c.adminToken).toBeUndefined();
    expect(c.registration.uiaSessionLifetimeMs).toBe(3_600_000);
  });

  it('ignores unrelated environment variables', () => {
    expect(load({ PATH: '/bin', HOME: '/root', SOMETHING_ELSE: 'x' }).serverName).toBe('example.org');
  });
});

describe('the result', () => {
  it('is deeply frozen', () => {
    const c = load({ TRUST_PROXY: '10.0.0.1' });
    expect(Object.isFrozen(c)).toBe(true);
    expect(Object.isFrozen(c.registration)).toBe(true);
    expect(Object.isFrozen(c.registration.reservedUsernames)).toBe(true);
    expect(Object.isFrozen(c.trustProxy)).toBe(true);
    expect(Object.isFrozen(c.password)).toBe(true);
    expect(Object.isFrozen(c.rateLimits)).toBe(true);
    expect(Object.isFrozen(c.argon2)).toBe(true);
    expect(() => {
      (c as { port: number }).port = 1;
    }).toThrow(TypeError);
    expect(() => (c.trustProxy as string[]).push('x')).toThrow(TypeError);
  });

  it('does not modify the environment object it was given', () => {
    const env = { ...MIN, PORT: ' 80 ' };
    load(env);
    expect(env).toEqual({ ...MIN, PORT: ' 80 ' });
  });
});

describe('SERVER_NAME', () => {
  it('is required', () => {
    expect(problems({}, {})).toEqual(['SERVER_NAME: is required']);
  });
  it.each(['example.org', 'localhost', 'matrix.example.org:8448', '127.0.0.1', '127.0.0.1:8008', '[::1]', '[2001:db8::1]:8448'])(
    'accepts %j',
    (v) => expect(loadConfig({ SERVER_NAME: v }).serverName).toBe(v),
  );
  it.each(['', 'exa mple.org', 'example.org:', 'example.org:123456', 'example.org:port', 'http://example.org', 'ex_ample.org', 'a/b'])(
    'refuses %j',
    (v) => {
      const p = problems({ SERVER_NAME: v }, {});
      expect(p).toHaveLength(1);
      expect(p[0]).toMatch(/^SERVER_NAME: /);
    },
  );
  it('trims surrounding whitespace', () => {
    expect(loadConfig({ SERVER_NAME: '  example.org  ' }).serverName).toBe('example.org');
  });
});

describe('PUBLIC_BASEURL', () => {
  it('defaults to https://SERVER_NAME', () => {
    expect(loadConfig({ SERVER_NAME: 'm.example.org:8448' }).publicBaseUrl).toBe('https://m.example.org:8448');
  });
  it('accepts http and https URLs, dropping trailing slashes', () => {
    expect(load({ PUBLIC_BASEURL: 'https://matrix.example.org/' }).publicBaseUrl).toBe('https://matrix.example.org');
    expect(load({ PUBLIC_BASEURL: 'http://localhost:8008//' }).publicBaseUrl).toBe('http://localhost:8008');
    expect(load({ PUBLIC_BASEURL: 'https://example.org/matrix' }).publicBaseUrl).toBe('https://example.org/matrix');
  });
  it.each(['example.org', 'ftp://example.org', 'https://', 'https:// example.org'])('refuses %j', (v) => {
    expect(problems({ PUBLIC_BASEURL: v })).toEqual(['PUBLIC_BASEURL: must be an http(s) URL']);
  });
});

describe('HOST, PORT, DATA_DIR, LOG_LEVEL, DATABASE_URL, DATABASE_POOL_SIZE, BODY_LIMIT_BYTES', () => {
  it('HOST and DATA_DIR are taken as given', () => {
    const c = load({ HOST: '127.0.0.1', DATA_DIR: '/var/lib/mrs' });
    expect(c.host).toBe('127.0.0.1');
    expect(c.dataDir).toBe('/var/lib/mrs');
  });
  it('PORT: 0..65535', () => {
    expect(load({ PORT: '0' }).port).toBe(0);
    expect(load({ PORT: '65535' }).port).toBe(65535);
    expect(load({ PORT: ' 8448 ' }).port).toBe(8448);
    for (const v of ['65536', '-1', '80.5', 'eighty', '1e3', '0x50']) {
      const p = problems({ PORT: v });
      expect(p).toHaveLength(1);
      expect(p[0]).toMatch(/^PORT: expected an integer from 0 to 65535/);
    }
  });
  it('LOG_LEVEL: one of pino\'s levels', () => {
    for (const l of ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']) expect(load({ LOG_LEVEL: l }).logLevel).toBe(l);
    const p = problems({ LOG_LEVEL: 'verbose' });
    expect(p).toHaveLength(1);
    expect(p[0]).toMatch(/^LOG_LEVEL: /);
  });
  it('DATABASE_URL: postgres:// or postgresql://', () => {
    expect(load({ DATABASE_URL: 'postgres://u@h/db' }).databaseUrl).toBe('postgres://u@h/db');
    expect(load({ DATABASE_URL: 'postgresql://u@h/db' }).databaseUrl).toBe('postgresql://u@h/db');
    expect(problems({ DATABASE_URL: 'mysql://u@h/db' })).toEqual(['DATABASE_URL: must be a postgres:// URL']);
  });
  it('DATABASE_POOL_SIZE: 1..500', () => {
    expect(load({ DATABASE_POOL_SIZE: '1' }).databasePoolSize).toBe(1);
    expect(load({ DATABASE_POOL_SIZE: '500' }).databasePoolSize).toBe(500);
    expect(problems({ DATABASE_POOL_SIZE: '0' })[0]).toMatch(/^DATABASE_POOL_SIZE: expected an integer from 1 to 500/);
    expect(problems({ DATABASE_POOL_SIZE: '501' })[0]).toMatch(/^DATABASE_POOL_SIZE: /);
  });
  it('DATABASE_PREPARED_STATEMENTS: on by default, a boolean', () => {
    expect(load({}).databasePreparedStatements).toBe(true);
    expect(load({ DATABASE_PREPARED_STATEMENTS: 'false' }).databasePreparedStatements).toBe(false);
    expect(problems({ DATABASE_PREPARED_STATEMENTS: 'maybe' })[0]).toMatch(/^DATABASE_PREPARED_STATEMENTS: /);
  });
  it('LOG_FLUSH_INTERVAL: 100 ms by default, a duration of at least 1 ms', () => {
    expect(load({}).logFlushIntervalMs).toBe(100);
    expect(load({ LOG_FLUSH_INTERVAL: '1s' }).logFlushIntervalMs).toBe(1000);
    expect(problems({ LOG_FLUSH_INTERVAL: '0ms' })[0]).toMatch(/^LOG_FLUSH_INTERVAL: must be at least 1 ms/);
    expect(problems({ LOG_FLUSH_INTERVAL: 'soon' })[0]).toMatch(/^LOG_FLUSH_INTERVAL: /);
  });
  it('BODY_LIMIT_BYTES: 1024..10 MiB', () => {
    expect(load({ BODY_LIMIT_BYTES: '1024' }).bodyLimitBytes).toBe(1024);
    expect(load({ BODY_LIMIT_BYTES: String(10 * 1024 * 1024) }).bodyLimitBytes).toBe(10 * 1024 * 1024);
    expect(problems({ BODY_LIMIT_BYTES: '1023' })[0]).toMatch(/^BODY_LIMIT_BYTES: /);
    expect(problems({ BODY_LIMIT_BYTES: String(10 * 1024 * 1024 + 1) })[0]).toMatch(/^BODY_LIMIT_BYTES: /);
  });
});

describe('booleans', () => {
  const BOOLS: [string, (c: ReturnType<typeof load>) => boolean][] = [
    ['REGISTRATION_REQUIRES_TOKEN', (c) => c.registration.requiresToken],
    ['ENABLE_REGISTRATION_WITHOUT_VERIFICATION', (c) => c.registration.withoutVerification],
    ['ALLOW_GUEST_ACCESS', (c) => c.registration.allowGuests],
    ['PASSWORD_REQUIRE_DIGIT', (c) => c.password.requireDigit],
    ['PASSWORD_REQUIRE_SYMBOL', (c) => c.password.requireSymbol],
    ['PASSWORD_REQUIRE_LOWERCASE', (c) => c.password.requireLowercase],
    ['PASSWORD_REQUIRE_UPPERCASE', (c) => c.password.requireUppercase],
  ];
  it.each(BOOLS)('%s: true/1/yes/on and false/0/no/off in any case, default false', (name, get) => {
    expect(get(load({}))).toBe(false);
    for (const v of ['true', 'TRUE', 'True', '1', 'yes', 'YES', 'on', ' on ']) expect(get(load({ [name]: v }))).toBe(true);
    for (const v of ['false', 'FALSE', '0', 'no', 'off', ' Off ']) expect(get(load({ [name]: v }))).toBe(false);
    for (const v of ['2', 'y', 'enabled', 'tru']) {
      expect(problems({ [name]: v })).toEqual([`${name}: expected true or false, got "${v.toLowerCase()}"`]);
    }
  });
  it('ENABLE_REGISTRATION parses the same way', () => {
    const ok = { ENABLE_REGISTRATION_WITHOUT_VERIFICATION: 'true' };
    expect(load({ ...ok, ENABLE_REGISTRATION: 'yes' }).registration.enabled).toBe(true);
    expect(load({ ...ok, ENABLE_REGISTRATION: '0' }).registration.enabled).toBe(false);
    expect(problems({ ...ok, ENABLE_REGISTRATION: 'maybe' })).toEqual(['ENABLE_REGISTRATION: expected true or false, got "maybe"']);
  });
});

describe('ENABLE_REGISTRATION without verification', () => {
  it('is refused when nothing verifies and there is no explicit opt-in', () => {
    const p = problems({ ENABLE_REGISTRATION: 'true' });
    expect(p).toHaveLength(1);
    expect(p[0]).toMatch(/^ENABLE_REGISTRATION: /);
    expect(p[0]).toContain('REGISTRATION_REQUIRES_TOKEN=true');
    expect(p[0]).toContain('ENABLE_REGISTRATION_WITHOUT_VERIFICATION=true');
    expect(p[0]).not.toContain('\n');
  });
  it('an explicit false opt-in is refused too', () => {
    expect(problems({ ENABLE_REGISTRATION: 'true', ENABLE_REGISTRATION_WITHOUT_VERIFICATION: 'false' })[0]).toMatch(
      /^ENABLE_REGISTRATION: /,
    );
  });
  it('is accepted with a token requirement', () => {
    const c = load({ ENABLE_REGISTRATION: 'true', REGISTRATION_REQUIRES_TOKEN: 'true' });
    expect(c.registration).toMatchObject({ enabled: true, requiresToken: true, withoutVerification: false });
  });
  it('is accepted with the explicit opt-in', () => {
    const c = load({ ENABLE_REGISTRATION: 'true', ENABLE_REGISTRATION_WITHOUT_VERIFICATION: 'true' });
    expect(c.registration).toMatchObject({ enabled: true, requiresToken: false, withoutVerification: true });
  });
  it('registration disabled needs neither', () => {
    expect(load({ ENABLE_REGISTRATION: 'false' }).registration.enabled).toBe(false);
  });
});

describe('durations', () => {
  const DURATIONS: [string, number, (c: ReturnType<typeof load>) => number][] = [
    ['ACCESS_TOKEN_LIFETIME', 10_000, (c) => c.accessTokenLifetimeMs],
    ['UIA_SESSION_LIFETIME', 10_000, (c) => c.registration.uiaSessionLifetimeMs],
    ['REGISTRATION_TOKEN_HOLD', 1000, (c) => c.registration.tokenHoldMs],
    ['RATE_LIMIT_TOKEN_FAILURES_WINDOW', 1000, (c) => c.rateLimits.tokenFailuresWindowMs],
  ];
  it.each(DURATIONS)('%s: ms/s/m/h/d units, minimum %i ms', (name, min, get) => {
    expect(get(load({ [name]: '20000ms' }))).toBe(20_000);
    expect(get(load({ [name]: '30s' }))).toBe(30_000);
    expect(get(load({ [name]: '15m' }))).toBe(900_000);
    expect(get(load({ [name]: '2h' }))).toBe(7_200_000);
    expect(get(load({ [name]: '7d' }))).toBe(604_800_000);
    expect(get(load({ [name]: ' 10 m ' }))).toBe(600_000);
    expect(get(load({ [name]: `${min}ms` }))).toBe(min);
    expect(problems({ [name]: `${min - 1}ms` })).toEqual([`${name}: must be at least ${min} ms`]);
    for (const v of ['30', '1.5h', '-5m', '5 minutes', 'm', '5M', '5w', '1h30m']) {
      expect(problems({ [name]: v })).toEqual([`${name}: expected a duration like 30s, 15m, 2h or 7d, got "${v.trim()}"`]);
    }
  });
});

describe('integers and rates', () => {
  const INTS: [string, number, number, (c: ReturnType<typeof load>) => number][] = [
    ['PASSWORD_MIN_LENGTH', 1, 1024, (c) => c.password.minLength],
    ['ARGON2_MEMORY_KIB', 19_456, 4_194_304, (c) => c.argon2.memoryKiB],
    ['ARGON2_ITERATIONS', 2, 100, (c) => c.argon2.iterations],
    ['ARGON2_PARALLELISM', 1, 64, (c) => c.argon2.parallelism],
    ['RATE_LIMIT_REGISTER_BURST', 1, 1_000_000, (c) => c.rateLimits.registerBurst],
    ['RATE_LIMIT_REGISTER_REQUESTS_PER_MINUTE', 1, 1_000_000, (c) => c.rateLimits.registerRequestsPerMinute],
    ['RATE_LIMIT_AVAILABLE_PER_MINUTE', 1, 1_000_000, (c) => c.rateLimits.availablePerMinute],
    ['RATE_LIMIT_TOKEN_VALIDITY_BURST', 1, 1_000_000, (c) => c.rateLimits.tokenValidityBurst],
    ['RATE_LIMIT_TOKEN_FAILURES', 1, 1_000_000, (c) => c.rateLimits.tokenFailures],
  ];
  it.each(INTS)('%s: integers from %i to %i', (name, min, max, get) => {
    const extra = name === 'PASSWORD_MIN_LENGTH' ? { PASSWORD_MAX_LENGTH: '65536' } : {};
    expect(get(load({ ...extra, [name]: String(min) }))).toBe(min);
    expect(get(load({ ...extra, [name]: String(max) }))).toBe(max);
    for (const v of [String(min - 1), String(max + 1), '1.5', 'ten', '-1', '']) {
      if (v === '') continue;
      const p = problems({ ...extra, [name]: v });
      expect(p).toEqual([`${name}: expected an integer from ${min} to ${max}, got "${v}"`]);
    }
  });
  it('PASSWORD_MAX_LENGTH: 8..65536, and not below PASSWORD_MIN_LENGTH', () => {
    expect(load({ PASSWORD_MIN_LENGTH: '8', PASSWORD_MAX_LENGTH: '8' }).password).toMatchObject({ minLength: 8, maxLength: 8 });
    expect(problems({ PASSWORD_MAX_LENGTH: '7' })[0]).toMatch(/^PASSWORD_MAX_LENGTH: /);
    expect(problems({ PASSWORD_MAX_LENGTH: '65537' })[0]).toMatch(/^PASSWORD_MAX_LENGTH: /);
    expect(problems({ PASSWORD_MIN_LENGTH: '20', PASSWORD_MAX_LENGTH: '19' })).toEqual([
      'PASSWORD_MIN_LENGTH: must not exceed PASSWORD_MAX_LENGTH',
    ]);
  });
  it.each([
    ['RATE_LIMIT_REGISTER_PER_SECOND', (c: ReturnType<typeof load>) => c.rateLimits.registerPerSecond],
    ['RATE_LIMIT_TOKEN_VALIDITY_PER_SECOND', (c: ReturnType<typeof load>) => c.rateLimits.tokenValidityPerSecond],
  ] as const)('%s: a positive number, fractions allowed', (name, get) => {
    expect(get(load({ [name]: '0.5' }))).toBe(0.5);
    expect(get(load({ [name]: '3' }))).toBe(3);
    for (const v of ['0', '-1', 'fast', 'Infinity', 'NaN']) {
      expect(problems({ [name]: v })).toEqual([`${name}: expected a positive number, got "${v}"`]);
    }
  });
});

describe('lists', () => {
  it('RESERVED_USERNAMES: comma-separated, trimmed, empties dropped, lower-cased', () => {
    expect(load({ RESERVED_USERNAMES: 'Admin, root ,,  ,Bob' }).registration.reservedUsernames).toEqual([
      'admin',
      'root',
      'bob',
    ]);
    expect(load({ RESERVED_USERNAMES: '' }).registration.reservedUsernames).toEqual([]);
  });
});

describe('TRUST_PROXY', () => {
  it('defaults to trusting nobody', () => {
    expect(load({}).trustProxy).toEqual([]);
    expect(load({ TRUST_PROXY: '' }).trustProxy).toEqual([]);
  });
  it('accepts IPv4 and IPv6 addresses and CIDR ranges, comma-separated', () => {
    expect(load({ TRUST_PROXY: '10.0.0.1, 192.168.0.0/16,::1 , fd00::/8,127.0.0.1/32' }).trustProxy).toEqual([
      '10.0.0.1',
      '192.168.0.0/16',
      '::1',
      'fd00::/8',
      '127.0.0.1/32',
    ]);
  });
  it.each(['localhost', 'proxy.example.org', '10.0.0.0/33', '::/129', '10.0.0.1/', '/8', '10.0.0.256', 'true', '*', 'loopback'])(
    'refuses %j',
    (v) => {
      expect(problems({ TRUST_PROXY: `10.0.0.1,${v}` })).toEqual([`TRUST_PROXY: "${v}" is not an IP address or CIDR range`]);
    },
  );
});

describe('ADMIN_TOKEN', () => {
  it('is optional (admin API off) and at least 32 characters when given', () => {
    expect(load({}).adminToken).toBeUndefined();
    expect(load({ ADMIN_TOKEN: 'x'.repeat(32) }).adminToken).toBe('x'.repeat(32));
    expect(problems({ ADMIN_TOKEN: 'x'.repeat(31) })).toEqual(['ADMIN_TOKEN: must be at least 32 characters long']);
  });
  it('never echoes the secret in an error', () => {
    const secret = 'short-secret-VALUE';
    expect(problems({ ADMIN_TOKEN: secret }).join('\n')).not.toContain(secret);
  });
});

describe('INTROSPECTION_SECRET', () => {
  it('is optional (introspection off) and at least 32 characters when given, never echoed', () => {
    expect(load({}).introspectionSecret).toBeUndefined();
    expect(load({ INTROSPECTION_SECRET: 'y'.repeat(32) }).introspectionSecret).toBe('y'.repeat(32));
    const short = 'short-introspection-VALUE';
    const p = problems({ INTROSPECTION_SECRET: short });
    expect(p).toEqual(['INTROSPECTION_SECRET: must be at least 32 characters long']);
    expect(p.join('\n')).not.toContain(short);
  });
});

describe('failed-login budgets', () => {
  it('take integers and a duration', () => {
    const c = load({
      RATE_LIMIT_LOGIN_REQUESTS_PER_MINUTE: '30',
      RATE_LIMIT_LOGIN_FAILURES_PER_ACCOUNT: '3',
      RATE_LIMIT_LOGIN_FAILURES_PER_IP: '9',
      RATE_LIMIT_LOGIN_FAILURES_WINDOW: '1h',
    }).rateLimits;
    expect(c).toMatchObject({ loginRequestsPerMinute: 30, loginFailuresPerAccount: 3, loginFailuresPerIp: 9, loginFailuresWindowMs: 3_600_000 });
    expect(problems({ RATE_LIMIT_LOGIN_FAILURES_PER_ACCOUNT: '0' })[0]).toMatch(/^RATE_LIMIT_LOGIN_FAILURES_PER_ACCOUNT: /);
    expect(problems({ RATE_LIMIT_LOGIN_FAILURES_WINDOW: '10' })[0]).toMatch(/^RATE_LIMIT_LOGIN_FAILURES_WINDOW: /);
  });
});

describe('several problems at once', () => {
  it('lists every problem, one line each, each naming its variable', () => {
    const p = problems(
      {
        PORT: 'x',
        LOG_LEVEL: 'loud',
        TRUST_PROXY: 'nope',
        ENABLE_REGISTRATION: 'perhaps',
        UIA_SESSION_LIFETIME: '1',
        ADMIN_TOKEN: 'short',
      },
      {},
    );
    const names = p.map((line) => line.split(':')[0]).sort();
    expect(names).toEqual(
      ['ADMIN_TOKEN', 'ENABLE_REGISTRATION', 'LOG_LEVEL', 'PORT', 'SERVER_NAME', 'TRUST_PROXY', 'UIA_SESSION_LIFETIME'].sort(),
    );
    for (const line of p) expect(line).not.toContain('\n');
  });
});
