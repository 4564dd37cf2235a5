// The UIA fallback pages over HTTP (spec: Fallback): the page for each stage, what completing it
// does to the session, the error pages and their statuses, the security headers, and the
// protections against cross-site posts, against every test database.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_TOKEN, startApp, uniqueName, type TestApp } from '../helpers/app.js';
import { DATABASE_KINDS, openTestDatabase, type TestDatabase } from '../helpers/databases.js';
import { expectSpec } from '../helpers/spec.js';

const REG = '/register';
const POLICIES = {
  terms_of_service: {
    version: '3',
    en: { name: 'Terms <of> "Service" & more', url: 'https://example.org/tos?a=1&b=<2>' },
  },
};
const FORM = 'application/x-www-form-urlencoded';

describe.each(DATABASE_KINDS)('UIA fallback pages (%s)', (kind) => {
  let database: TestDatabase;
  let t: TestApp;
  let token: string;

  beforeAll(async () => {
    database = await openTestDatabase(kind);
    t = await startApp(database, {
      REGISTRATION_REQUIRES_TOKEN: 'true',
      ENABLE_REGISTRATION_WITHOUT_VERIFICATION: 'false',
      TERMS_POLICIES: JSON.stringify(POLICIES),
      RATE_LIMIT_REGISTER_BURST: '1000',
      RATE_LIMIT_FALLBACK_PER_MINUTE: '1000',
    }, { logger: process.env.DEBUG_LOG ? { level: 'error' } : false });
    const created = await t.app.inject({
      method: 'POST',
      url: '/_synapse/admin/v1/registration_tokens/new',
      headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
      payload: { uses_allowed: 100 },
    });
    expect(created.statusCode).toBe(200);
    token = created.json().token;
  });
  afterAll(async () => {
    await t?.close();
    await database?.close();
  });

  const register = (payload: unknown) =>
    t.app.inject({ method: 'POST', url: '/_matrix/client/v3/register', payload: payload as object });
  const start = async () => {
    const res = await register({ username: uniqueName(), password: 'a good password' });
    expect(res.statusCode).toBe(401);
    return expectSpec(res, 'registration.yaml', REG, 'post').session as string;
  };
  const pageUrl = (type: string, session?: string, prefix = 'v3') =>
    `/_matrix/client/${prefix}/auth/${encodeURIComponent(type)}/fallback/web${session === undefined ? '' : `?session=${encodeURIComponent(session)}`}`;
  const get = (type: string, session?: string, prefix?: string) => t.app.inject({ url: pageUrl(type, session, prefix) });
  const csrfOf = (html: string) => /name="csrf" value="([^"]+)"/.exec(html)![1]!;
  const submit = (type: string, session: string, fields: Record<string, string>, headers: Record<string, string> = {}) =>
    t.app.inject({
      method: 'POST',
      url: pageUrl(type, session),
      headers: { 'content-type': FORM, origin: 'http://localhost:80', ...headers },
      payload: new URLSearchParams(fields).toString(),
    });

  function expectPage(res: { statusCode: number; headers: Record<string, unknown>; body: string }, status: number) {
    expect(res.statusCode).toBe(status);
    expect(res.headers['content-type']).toBe('text/html; charset=utf-8');
    const csp = String(res.headers['content-security-policy']);
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).toContain("form-action 'self'");
    expect(csp).toMatch(/script-src 'nonce-[A-Za-z0-9]{24}'(;|$)/); // nothing external off the captcha page
    expect(res.headers['x-frame-options']).toBe('DENY');
    expect(res.headers['x-content-type-options']).toBe('nosniff');
    expect(res.headers['cache-control']).toBe('no-store');
    expect(res.headers['access-control-allow-origin']).toBeUndefined();
    // Self-contained: no external scripts, styles, fonts or images.
    expect(res.body).not.toMatch(/<(script|link|img)[^>]+(src|href)="(?!data:)/);
    expect(res.body.startsWith('<!DOCTYPE html>')).toBe(true);
    return res.body;
  }

  it('walks token then terms through the pages; the client then finishes with just the session', async () => {
    const session = await start();
    const tokenPage = expectPage(await get('m.login.registration_token', session), 200);
    expect(tokenPage).toContain('<label for="f0">Registration token</label>');
    expect(tokenPage).toContain(`action="web?session=${session}"`);

    // Flow order: the terms page waits for the token stage.
    expect(expectPage(await get('m.login.terms', session), 409)).toContain('earlier steps');

    const wrong = await submit('m.login.registration_token', session, { csrf: csrfOf(tokenPage), token: 'nope' });
    expect(expectPage(wrong, 401)).toContain('role="alert"');
    expect(wrong.body).toContain('Invalid registration token');

    const ok = await submit('m.login.registration_token', session, { csrf: csrfOf(tokenPage), token });
    expect(expectPage(ok, 200)).toContain('window.opener.postMessage("authDone", "*")');
    expect(ok.body).toContain('window.onAuthDone()');

    const termsPage = expectPage(await get('m.login.terms', session, 'r0'), 200);
    // Configuration text is escaped, never markup.
    expect(termsPage).toContain('Terms &lt;of&gt; &quot;Service&quot; &amp; more (version 3)');
    expect(termsPage).toContain('href="https://example.org/tos?a=1&amp;b=&lt;2&gt;"');
    expect(termsPage).not.toContain('<of>');

    const unticked = await submit('m.login.terms', session, { csrf: csrfOf(termsPage) });
    expect(expectPage(unticked, 400)).toContain('Tick every box');
    const accepted = await submit('m.login.terms', session, { csrf: csrfOf(termsPage), accept_terms_of_service: 'on' });
    expectPage(accepted, 200);

    // A completed stage's page says so (and tells the client again).
    expect(expectPage(await get('m.login.terms', session), 200)).toContain('authDone');

    const done = await register({ auth: { session } });
    expect(done.statusCode).toBe(200);
    expect(expectSpec(done, 'registration.yaml', REG, 'post').user_id).toMatch(/^@/);

    // The session is spent: its pages are gone.
    expect(expectPage(await get('m.login.terms', session), 410)).toContain('already been used');
  });

  it('answers unknown stages, sessions and missing sessions with error pages', async () => {
    const session = await start();
    expect(expectPage(await get('m.login.nonsense', session), 404)).toContain('no such authentication step');
    expect(expectPage(await get('m.login.dummy', session), 404)).toContain('does not use this step');
    expect(expectPage(await get('m.login.terms', 'NoSuchSession'), 404)).toContain('does not exist or has expired');
    expect(expectPage(await get('m.login.terms'), 400)).toContain('names no authentication session');
    expect(expectPage(await get('m.login.terms', 'x'.repeat(300)), 404)).toContain('Session not found');
  });

  it('refuses posts without the session token, from other sites, or not as a form', async () => {
    const session = await start();
    const csrf = csrfOf((await get('m.login.registration_token', session)).body);
    expect(expectPage(await submit('m.login.registration_token', session, { token }), 403)).toContain('Form expired');
    expect(expectPage(await submit('m.login.registration_token', session, { token, csrf: 'x'.repeat(32) }), 403)).toContain('Form expired');
    const evil = await submit('m.login.registration_token', session, { token, csrf }, { origin: 'https://evil.example' });
    expect(expectPage(evil, 403)).toContain('only be sent from its own page');
    const nullOrigin = await submit('m.login.registration_token', session, { token, csrf }, { origin: 'null' });
    expectPage(nullOrigin, 403);
    const noOriginCrossSite = await t.app.inject({
      method: 'POST',
      url: pageUrl('m.login.registration_token', session),
      headers: { 'content-type': FORM, 'sec-fetch-site': 'cross-site' },
      payload: new URLSearchParams({ token, csrf }).toString(),
    });
    expectPage(noOriginCrossSite, 403);
    const json = await t.app.inject({
      method: 'POST',
      url: pageUrl('m.login.registration_token', session),
      headers: { 'content-type': 'application/json', origin: 'http://localhost:80' },
      payload: { token, csrf },
    });
    expectPage(json, 415);
    // None of these completed the stage.
    const state = await register({ auth: { session } });
    expect(expectSpec(state, 'registration.yaml', REG, 'post').completed).toBeUndefined();
  });

  it('answers too many page requests from one address with a 429 page', async () => {
    const limited = await startApp(database, { TERMS_POLICIES: JSON.stringify(POLICIES), RATE_LIMIT_FALLBACK_PER_MINUTE: '1' });
    try {
      const url = pageUrl('m.login.terms', 'AnySession');
      expectPage(await limited.app.inject({ url }), 404);
      const refused = await limited.app.inject({ url });
      expect(expectPage(refused, 429)).toContain('Too many attempts');
      expect(Number(refused.headers['retry-after'])).toBeGreaterThan(0);
    } finally {
      await limited.close();
    }
  });

  it('lets only the FALLBACK_FRAME_ANCESTORS origins frame the pages', async () => {
    const framed = await startApp(database, {
      TERMS_POLICIES: JSON.stringify(POLICIES),
      FALLBACK_FRAME_ANCESTORS: 'https://app.example.org',
    });
    try {
      const res = await framed.app.inject({ url: pageUrl('m.login.terms', 'AnySession') });
      expect(res.statusCode).toBe(404);
      expect(String(res.headers['content-security-policy'])).toMatch(/; frame-ancestors https:\/\/app\.example\.org$/);
      // X-Frame-Options cannot name an origin: it is left to the CSP.
      expect(res.headers['x-frame-options']).toBeUndefined();
    } finally {
      await framed.close();
    }
  });

  it('answers an internal failure with an HTML page, not a JSON body', async () => {
    const broken = await startApp(database, { TERMS_POLICIES: JSON.stringify(POLICIES) });
    await broken.db.close(); // every query now fails
    try {
      const res = await broken.app.inject({ url: pageUrl('m.login.terms', 'AnySession') });
      expect(expectPage(res, 500)).toContain('Internal server error.');
    } finally {
      await broken.close();
    }
  });

  it('still parses /register bodies labelled as forms as JSON (curl -d)', async () => {
    const res = await t.app.inject({
      method: 'POST',
      url: '/_matrix/client/v3/register',
      headers: { 'content-type': FORM },
      payload: JSON.stringify({ username: uniqueName(), password: 'a good password' }),
    });
    expect(res.statusCode).toBe(401);
    expectSpec(res, 'registration.yaml', REG, 'post');
    const notJson = await t.app.inject({
      method: 'POST',
      url: '/_matrix/client/v3/register',
      headers: { 'content-type': FORM },
      payload: 'username=a&password=b',
    });
    expect(notJson.statusCode).toBe(400);
    expect(notJson.json().errcode).toBe('M_NOT_JSON');
  });
});
