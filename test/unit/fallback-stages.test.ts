// The stages' params (against the spec's schemas), their fallback forms, and the page templates
// and CSP, without I/O.
import { describe, expect, it } from 'vitest';
import { contentSecurityPolicy, esc, renderFallback } from '../../src/http/fallback-page.js';
import type { UiaSessionRow } from '../../src/store/uia-sessions.js';
import { dummyStage } from '../../src/uia/stages/dummy.js';
import { createRecaptchaStage } from '../../src/uia/stages/recaptcha.js';
import { createTermsStage, termsParams } from '../../src/uia/stages/terms.js';
import { fallbackFieldNames, genericFallback } from '../../src/uia/stage.js';
import { responseValidator, expectTermsParams } from '../helpers/spec.js';

const SESSION = { session_id: 'S', completed: {} } as unknown as UiaSessionRow;
const CTX = { session: SESSION, ip: '192.0.2.1', now: 0 };
const POLICIES = {
  tos: { version: '2', documents: { fr: { name: 'CGU', url: 'https://e.org/fr' }, en: { name: 'Terms', url: 'https://e.org/en' } } },
  privacy: { version: '1.0', documents: { de: { name: 'Datenschutz', url: 'https://e.org/de' } } },
};
const CAPTCHA = {
  siteKey: 'public-key',
  secret: 'secret-0123456789abcdef',
  siteverifyUrl: 'http://127.0.0.1:9/siteverify',
  widgetScriptUrl: 'https://captcha.example/api.js',
  widgetClass: 'h-captcha',
  cspSources: ['https://captcha.example'],
  verifyTimeoutMs: 100,
};
const uiaBody = responseValidator('registration.yaml', '/register', 'post', 401);

describe('m.login.terms', () => {
  const stage = createTermsStage(POLICIES);
  it('sends its policies in the spec shape, inside a valid 401 UIA body', () => {
    const params = stage.params!();
    expectTermsParams(params);
    expect(params).toEqual({
      policies: {
        tos: { version: '2', fr: { name: 'CGU', url: 'https://e.org/fr' }, en: { name: 'Terms', url: 'https://e.org/en' } },
        privacy: { version: '1.0', de: { name: 'Datenschutz', url: 'https://e.org/de' } },
      },
    });
    expect(uiaBody({ flows: [{ stages: ['m.login.terms'] }], params: { 'm.login.terms': params }, session: 'S' })).toBe(true);
    expect(termsParams({})).toEqual({ policies: {} });
  });
  it('records the versions presented when accepted', async () => {
    expect(await stage.attempt({ type: 'm.login.terms' }, CTX)).toEqual({ ok: true, data: { policies: { tos: '2', privacy: '1.0' } } });
  });
  it('shows one checkbox per policy (English if offered) and needs all of them ticked', () => {
    const fields = stage.fallback!.fields();
    expect(fields).toEqual([
      { kind: 'checkbox', name: 'accept_tos', label: 'I accept the Terms (version 2)', link: { href: 'https://e.org/en', text: 'Read the Terms' } },
      {
        kind: 'checkbox',
        name: 'accept_privacy',
        label: 'I accept the Datenschutz (version 1.0)',
        link: { href: 'https://e.org/de', text: 'Read the Datenschutz' },
      },
    ]);
    const toAuth = stage.fallback!.toAuth;
    expect(toAuth(new Map([['accept_tos', 'on']]), SESSION)).toEqual({ ok: false, message: expect.stringMatching(/Tick every box/) });
    expect(toAuth(new Map([['accept_tos', 'on'], ['accept_privacy', 'on']]), SESSION)).toEqual({ ok: true, auth: { type: 'm.login.terms' } });
  });
});

describe('m.login.recaptcha', () => {
  const stage = createRecaptchaStage(CAPTCHA);
  it('puts the public site key in params, inside a valid 401 UIA body', () => {
    expect(stage.params!()).toEqual({ public_key: 'public-key' });
    expect(uiaBody({ flows: [{ stages: ['m.login.recaptcha'] }], params: { 'm.login.recaptcha': stage.params!() }, session: 'S' })).toBe(true);
  });
  it('fails without asking anyone when there is no response, or an absurd one', async () => {
    for (const response of [undefined, '', 42, 'x'.repeat(8193)]) {
      const outcome = await stage.attempt({ type: 'm.login.recaptcha', response }, CTX);
      expect(outcome.ok).toBe(false);
      if (!outcome.ok) expect({ status: outcome.error.status, errcode: outcome.error.errcode }).toEqual({ status: 401, errcode: 'M_UNAUTHORIZED' });
    }
  });
  it('maps any provider widget field to the response', () => {
    const toAuth = stage.fallback!.toAuth;
    expect(toAuth(new Map(), SESSION)).toEqual({ ok: false, message: 'Solve the captcha first.' });
    for (const field of ['g-recaptcha-response', 'h-captcha-response', 'cf-turnstile-response']) {
      expect(toAuth(new Map([[field, 'R']]), SESSION)).toEqual({ ok: true, auth: { type: 'm.login.recaptcha', response: 'R' } });
    }
    expect(fallbackFieldNames(stage.fallback!.fields())).toEqual(['g-recaptcha-response', 'h-captcha-response', 'cf-turnstile-response']);
  });
});

describe('pages', () => {
  it('escapes every interpolated value', () => {
    expect(esc(`<a href="x" onclick='y'>&</a>`)).toBe('&lt;a href=&quot;x&quot; onclick=&#39;y&#39;&gt;&amp;&lt;/a&gt;');
    const page = renderFallback(
      {
        kind: 'form',
        status: 200,
        type: 'm.login.terms',
        sessionId: 'a"b<c',
        page: { title: '<t1>', instructions: '"i"', submitLabel: '<b1>' },
        fields: [{ kind: 'checkbox', name: 'n"', label: '<l1>', link: { href: 'javascript:alert(1)', text: '<x1>' } }],
        csrf: 'c"s',
        problem: '<p1>',
      },
      'NONCE',
    ).html;
    for (const raw of ['<t1>', '"i"', '<b1>', '<l1>', '<x1>', '<p1>', 'c"s', 'a"b<c', 'javascript:']) expect(page).not.toContain(raw);
    expect(page).toContain('action="web?session=a%22b%3Cc"');
    expect(page).toContain('href="#"');
  });
  it('gives a stage without a fallback the generic "continue" page that re-checks the stage', () => {
    const g = genericFallback('m.login.email.identity');
    expect(g.fields()).toEqual([]);
    expect(g.toAuth(new Map(), SESSION)).toEqual({ ok: true, auth: { type: 'm.login.email.identity' } });
    const html = renderFallback(
      { kind: 'form', status: 200, type: 'm.login.email.identity', sessionId: 'S', page: g, fields: [], csrf: 'c' },
      'N',
    ).html;
    expect(html).toContain('I have done this, continue');
    expect(dummyStage.fallback!.toAuth(new Map(), SESSION)).toEqual({ ok: true, auth: { type: 'm.login.dummy' } });
  });
  it('loads the captcha widget only on the captcha page, and lists its origins in the CSP', () => {
    const stage = createRecaptchaStage(CAPTCHA);
    const page = renderFallback(
      { kind: 'form', status: 200, type: 'm.login.recaptcha', sessionId: 'S', page: stage.fallback!, fields: stage.fallback!.fields(), csrf: 'c' },
      'N0NCE',
    );
    expect(page.externalSources).toEqual(['https://captcha.example']);
    expect(page.html).toContain('<script nonce="N0NCE" src="https://captcha.example/api.js" async defer></script>');
    expect(page.html).toContain('<div class="h-captcha" data-sitekey="public-key"></div>');
    expect(contentSecurityPolicy('N0NCE', page.externalSources, [])).toBe(
      "default-src 'none'; script-src 'nonce-N0NCE' https://captcha.example; style-src 'nonce-N0NCE' https://captcha.example; " +
        "img-src 'self' data: https://captcha.example; frame-src https://captcha.example; connect-src https://captcha.example; " +
        "form-action 'self'; base-uri 'none'; frame-ancestors 'none'",
    );
    expect(contentSecurityPolicy('N', [], ['https://app.example.org'])).toBe(
      "default-src 'none'; script-src 'nonce-N'; style-src 'nonce-N'; img-src 'self' data:; form-action 'self'; base-uri 'none'; frame-ancestors https://app.example.org",
    );
  });
  it('runs the spec completion script on the done page', () => {
    const html = renderFallback({ kind: 'done', status: 200, type: 'm.login.dummy' }, 'N').html;
    expect(html).toContain('<script nonce="N">');
    expect(html).toMatch(/if \(window\.onAuthDone\) \{\s+window\.onAuthDone\(\);\s+\} else if \(window\.opener && window\.opener\.postMessage\) \{\s+window\.opener\.postMessage\("authDone", "\*"\);/);
  });
});
