// The operations variables of the configuration: defaults, parsing and refusals.
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config.js';
import { checkUsername } from '../../src/domain/username.js';

const base = { SERVER_NAME: 'example.org' };
const problems = (env: Record<string, string>): string[] => {
  try {
    loadConfig({ ...base, ...env });
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  return [];
};

describe('operations configuration', () => {
  it('has safe defaults: no Redis, no metrics listener or token, no shared secret, no services', () => {
    const c = loadConfig(base);
    expect(c.redis).toBeUndefined();
    expect(c.metrics).toEqual({ port: 0, host: '127.0.0.1', token: undefined });
    expect(c.sharedSecret).toEqual({ secret: undefined, nonceLifetimeMs: 60_000 });
    expect(c.appserviceConfigFiles).toEqual([]);
    expect(c.shutdownTimeoutMs).toBe(25_000);
    expect(c.shutdownDrainDelayMs).toBe(0);
    expect(c.rateLimits.sharedSecretPerMinute).toBe(10);
  });

  it('reads every variable', () => {
    const c = loadConfig({
      ...base,
      REDIS_URL: 'redis://redis:6379/2',
      REDIS_KEY_PREFIX: 'prod:',
      METRICS_PORT: '9100',
      METRICS_HOST: '0.0.0.0',
      METRICS_TOKEN: 'm'.repeat(32),
      SHUTDOWN_TIMEOUT: '1m',
      SHUTDOWN_DRAIN_DELAY: '5s',
      REGISTRATION_SHARED_SECRET: 's'.repeat(16),
      SHARED_SECRET_NONCE_LIFETIME: '30s',
      APPSERVICE_CONFIG_FILES: '/a.yaml, /b.yaml',
      RATE_LIMIT_SHARED_SECRET_PER_MINUTE: '30',
    });
    expect(c.redis).toEqual({ url: 'redis://redis:6379/2', keyPrefix: 'prod:' });
    expect(c.metrics).toEqual({ port: 9100, host: '0.0.0.0', token: 'm'.repeat(32) });
    expect(c.shutdownTimeoutMs).toBe(60_000);
    expect(c.shutdownDrainDelayMs).toBe(5000);
    expect(c.sharedSecret).toEqual({ secret: 's'.repeat(16), nonceLifetimeMs: 30_000 });
    expect(c.appserviceConfigFiles).toEqual(['/a.yaml', '/b.yaml']);
    expect(c.rateLimits.sharedSecretPerMinute).toBe(30);
  });

  it.each([
    [{ REDIS_URL: 'http://redis' }, /^REDIS_URL: /],
    [{ METRICS_PORT: '70000' }, /^METRICS_PORT: /],
    [{ METRICS_TOKEN: 'short' }, /^METRICS_TOKEN: must be at least 32/],
    [{ REGISTRATION_SHARED_SECRET: 'short' }, /^REGISTRATION_SHARED_SECRET: must be at least 16/],
    [{ SHUTDOWN_TIMEOUT: 'soon' }, /^SHUTDOWN_TIMEOUT: /],
    [{ SHUTDOWN_DRAIN_DELAY: '30s' }, /^SHUTDOWN_DRAIN_DELAY: must be shorter than SHUTDOWN_TIMEOUT/],
  ])('refuses %j', (env, message) => {
    const p = problems(env as Record<string, string>);
    expect(p).toHaveLength(1);
    expect(p[0]).toMatch(message);
  });
});

describe('leading underscore', () => {
  it('is refused to people and allowed to application services', () => {
    expect(checkUsername('_irc_bob', { serverName: 'example.org', reserved: [] })).toMatchObject({ ok: false, reason: 'underscore' });
    expect(checkUsername('_irc_bob', { serverName: 'example.org', reserved: [], allowLeadingUnderscore: true })).toMatchObject({
      ok: true,
      userId: '@_irc_bob:example.org',
    });
  });
});
