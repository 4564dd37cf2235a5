// The captcha, terms and fallback settings of config.ts.
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config.js';

const BASE = { SERVER_NAME: 'example.org' };
const problems = (env: Record<string, string>) => {
  try {
    loadConfig({ ...BASE, ...env });
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  return [];
};

const CAPTCHA = { ENABLE_REGISTRATION_CAPTCHA: 'true', CAPTCHA_SITE_KEY: 'site-key', CAPTCHA_SECRET: '0123456789abcdef0123' };

describe('captcha', () => {
  it('is off by default', () => {
    expect(loadConfig(BASE).captcha).toBeUndefined();
  });
  it('defaults to Google reCAPTCHA, whose widget also loads from www.gstatic.com', () => {
    expect(loadConfig({ ...BASE, ...CAPTCHA }).captcha).toEqual({
      siteKey: 'site-key',
      secret: '0123456789abcdef0123',
      siteverifyUrl: 'https://www.google.com/recaptcha/api/siteverify',
      widgetScriptUrl: 'https://www.google.com/recaptcha/api.js',
      widgetClass: 'g-recaptcha',
      cspSources: ['https://www.google.com', 'https://www.gstatic.com'],
      verifyTimeoutMs: 10_000,
    });
  });
  it('takes another provider (Turnstile) with its script origin as the CSP source', () => {
    const c = loadConfig({
      ...BASE,
      ...CAPTCHA,
      CAPTCHA_SITEVERIFY_URL: 'https://challenges.cloudflare.com/turnstile/v0/siteverify',
      CAPTCHA_WIDGET_SCRIPT_URL: 'https://challenges.cloudflare.com/turnstile/v0/api.js',
      CAPTCHA_WIDGET_CLASS: 'cf-turnstile',
    }).captcha!;
    expect(c.cspSources).toEqual(['https://challenges.cloudflare.com']);
    expect(c.widgetClass).toBe('cf-turnstile');
    expect(
      loadConfig({ ...BASE, ...CAPTCHA, CAPTCHA_CSP_SOURCES: 'https://hcaptcha.com, https://*.hcaptcha.com' }).captcha!.cspSources,
    ).toEqual(['https://hcaptcha.com', 'https://*.hcaptcha.com']);
  });
  it('requires the site key and the secret when enabled, and never defaults the secret', () => {
    expect(problems({ ENABLE_REGISTRATION_CAPTCHA: 'true' })).toEqual([
      'CAPTCHA_SITE_KEY: is required when ENABLE_REGISTRATION_CAPTCHA=true',
      'CAPTCHA_SECRET: is required when ENABLE_REGISTRATION_CAPTCHA=true',
    ]);
    expect(problems({ ...CAPTCHA, CAPTCHA_SECRET: 'short' })).toEqual(['CAPTCHA_SECRET: must be at least 16 characters long']);
    expect(problems({ ...CAPTCHA, CAPTCHA_SITEVERIFY_URL: 'ftp://x' })).toEqual(['CAPTCHA_SITEVERIFY_URL: must be an http(s) URL']);
    expect(problems({ ...CAPTCHA, CAPTCHA_CSP_SOURCES: "'unsafe-inline'" })[0]).toMatch(/^CAPTCHA_CSP_SOURCES: /);
    expect(problems({ ...CAPTCHA, CAPTCHA_WIDGET_CLASS: 'x" onload="y' })[0]).toMatch(/^CAPTCHA_WIDGET_CLASS: /);
  });
  it('counts as verification for ENABLE_REGISTRATION (as in Synapse); terms alone do not', () => {
    expect(problems({ ENABLE_REGISTRATION: 'true', ...CAPTCHA })).toEqual([]);
    expect(problems({ ENABLE_REGISTRATION: 'true' })[0]).toMatch(/^ENABLE_REGISTRATION: .*ENABLE_REGISTRATION_CAPTCHA/);
    const terms = JSON.stringify({ tos: { version: '1', en: { name: 'ToS', url: 'https://example.org/tos' } } });
    expect(problems({ ENABLE_REGISTRATION: 'true', TERMS_POLICIES: terms })[0]).toMatch(/^ENABLE_REGISTRATION: /);
  });
});

describe('TERMS_POLICIES', () => {
  it('is empty by default', () => {
    expect(loadConfig(BASE).termsPolicies).toEqual({});
  });
  it('reads the spec shape', () => {
    const env = {
      TERMS_POLICIES: JSON.stringify({
        terms_of_service: {
          version: '1.2',
          en: { name: 'Terms of Service', url: 'https://example.org/terms-en' },
          en_US: { name: 'Terms of Service', url: 'https://example.org/terms-us' },
          fr: { name: "Conditions d'utilisation", url: 'http://example.org/terms-fr' },
        },
      }),
    };
    expect(loadConfig({ ...BASE, ...env }).termsPolicies).toEqual({
      terms_of_service: {
        version: '1.2',
        documents: {
          en: { name: 'Terms of Service', url: 'https://example.org/terms-en' },
          en_US: { name: 'Terms of Service', url: 'https://example.org/terms-us' },
          fr: { name: "Conditions d'utilisation", url: 'http://example.org/terms-fr' },
        },
      },
    });
  });
  it.each([
    ['not JSON', '{', /JSON object/],
    ['an array', '[]', /JSON object/],
    ['no version', '{"tos":{"en":{"name":"a","url":"https://e.org"}}}', /"version"/],
    ['a bad version', '{"tos":{"version":"1 2","en":{"name":"a","url":"https://e.org"}}}', /"version"/],
    ['no language', '{"tos":{"version":"1"}}', /at least one language/],
    ['a javascript: URL', '{"tos":{"version":"1","en":{"name":"a","url":"javascript:alert(1)"}}}', /http\(s\)/],
    ['a bad language code', '{"tos":{"version":"1","not a code":{"name":"a","url":"https://e.org"}}}', /language code/],
    ['a bad policy id', '{"t o s":{"version":"1","en":{"name":"a","url":"https://e.org"}}}', /ids are/],
  ])('refuses %s', (_what, value, message) => {
    const p = problems({ TERMS_POLICIES: value });
    expect(p).toHaveLength(1);
    expect(p[0]).toMatch(/^TERMS_POLICIES: /);
    expect(p[0]).toMatch(message);
  });
});

describe('fallback pages', () => {
  it('allow no framing by default, or the listed origins', () => {
    expect(loadConfig(BASE).fallbackFrameAncestors).toEqual([]);
    expect(loadConfig({ ...BASE, FALLBACK_FRAME_ANCESTORS: 'https://app.example.org https://web.example.org' }).fallbackFrameAncestors).toEqual([
      'https://app.example.org',
      'https://web.example.org',
    ]);
    expect(problems({ FALLBACK_FRAME_ANCESTORS: '*' })[0]).toMatch(/^FALLBACK_FRAME_ANCESTORS: /);
  });
});
