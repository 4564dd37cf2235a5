// m.login.recaptcha and m.login.terms over the API: params in the spec's shape, flow order,
// a siteverify verifier on loopback (pass, fail, unreachable, broken, slow, misconfigured), and
// the accepted policy versions recorded per account, against every test database.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listPolicyAcceptances } from '../../src/store/policy-acceptances.js';
import { startApp, uniqueName, type TestApp } from '../helpers/app.js';
import { DATABASE_KINDS, openTestDatabase, type TestDatabase } from '../helpers/databases.js';
import { captchaEnv, CAPTCHA_SECRET as SECRET, closedPortUrl, startSiteverify, type SiteverifyServer } from '../helpers/siteverify.js';
import { expectSpec, expectTermsParams } from '../helpers/spec.js';

const REG = '/register';
const POLICIES = {
  terms_of_service: {
    version: '1.2',
    en: { name: 'Terms of Service', url: 'https://example.org/terms-1.2-en.html' },
    fr: { name: "Conditions d'utilisation", url: 'https://example.org/terms-1.2-fr.html' },
  },
  privacy_policy: { version: '2', en: { name: 'Privacy Policy', url: 'https://example.org/privacy-2-en.html' } },
};


describe.each(DATABASE_KINDS)('m.login.recaptcha and m.login.terms (%s)', (kind) => {
  let database: TestDatabase;
  let sv: SiteverifyServer;
  let t: TestApp;

  beforeAll(async () => {
    database = await openTestDatabase(kind);
    sv = await startSiteverify(SECRET);
    t = await startApp(database, { ...captchaEnv(sv), TERMS_POLICIES: JSON.stringify(POLICIES) });
  });
  afterAll(async () => {
    await t?.close();
    await sv?.close();
    await database?.close();
  });

  const post = (app: TestApp, payload: unknown) =>
    app.app.inject({ method: 'POST', url: '/_matrix/client/v3/register', payload: payload as object, remoteAddress: '192.0.2.7' });
  const start = async (app: TestApp = t) => {
    const res = await post(app, { username: uniqueName(), password: 'a good password' });
    expect(res.statusCode).toBe(401);
    return expectSpec(res, 'registration.yaml', REG, 'post');
  };

  it('offers captcha then terms, with the site key and the policies in the spec shape', async () => {
    const body = await start();
    expect(body.flows).toEqual([{ stages: ['m.login.recaptcha', 'm.login.terms'] }]);
    expect(body.params['m.login.recaptcha']).toEqual({ public_key: 'test-site-key' });
    expectTermsParams(body.params['m.login.terms']);
    expect(body.params['m.login.terms']).toEqual({ policies: POLICIES });
  });

  it('refuses terms before the captcha (flow order)', async () => {
    const { session } = await start();
    const res = await post(t, { auth: { type: 'm.login.terms', session } });
    expect(res.statusCode).toBe(401);
    const body = expectSpec(res, 'registration.yaml', REG, 'post');
    expect(body.errcode).toBe('M_FORBIDDEN');
    expect(body.completed).toBeUndefined();
  });

  it('answers a wrong or missing captcha response with 401 and an error, asking siteverify with secret, response and remoteip', async () => {
    const { session } = await start();
    const before = sv.requests.length;
    const wrong = await post(t, { auth: { type: 'm.login.recaptcha', response: 'made-up', session } });
    expect(wrong.statusCode).toBe(401);
    const body = expectSpec(wrong, 'registration.yaml', REG, 'post');
    expect(body).toMatchObject({ errcode: 'M_UNAUTHORIZED', session });
    expect(body.completed).toBeUndefined();
    expect(sv.requests.slice(before)).toEqual([{ secret: SECRET, response: 'made-up', remoteip: '192.0.2.7' }]);

    const missing = await post(t, { auth: { type: 'm.login.recaptcha', session } });
    expect(missing.statusCode).toBe(401);
    expect(expectSpec(missing, 'registration.yaml', REG, 'post').errcode).toBe('M_UNAUTHORIZED');
    expect(sv.requests.length).toBe(before + 1); // nothing to verify: the verifier is not asked
  });

  it('passes a genuine response once, then terms, and records the accepted policy versions', async () => {
    const { session } = await start();
    const response = sv.issue();
    const captcha = await post(t, { auth: { type: 'm.login.recaptcha', response, session } });
    expect(captcha.statusCode).toBe(401);
    expect(expectSpec(captcha, 'registration.yaml', REG, 'post').completed).toEqual(['m.login.recaptcha']);

    // The same response cannot pass a second session (the verifier answers it once).
    const other = await start();
    const replay = await post(t, { auth: { type: 'm.login.recaptcha', response, session: other.session } });
    expect(expectSpec(replay, 'registration.yaml', REG, 'post').errcode).toBe('M_UNAUTHORIZED');

    const done = await post(t, { auth: { type: 'm.login.terms', session } });
    expect(done.statusCode).toBe(200);
    const { user_id } = expectSpec(done, 'registration.yaml', REG, 'post');
    expect(await listPolicyAcceptances(t.db, user_id)).toEqual([
      { policy: 'privacy_policy', version: '2', accepted_at: t.clock.now() },
      { policy: 'terms_of_service', version: '1.2', accepted_at: t.clock.now() },
    ]);
  });

  it('never passes when the verifier is unreachable, broken, too slow or rejects our secret', async () => {
    const urls = [await closedPortUrl(), sv.brokenUrl, sv.hangingUrl];
    for (const url of urls) {
      // The hanging verifier never answers, so any timeout ends in 503 whatever the machine's speed.
      const app = await startApp(database, { ...captchaEnv(sv, url), CAPTCHA_VERIFY_TIMEOUT: url === sv.hangingUrl ? '300ms' : '30s' });
      try {
        const { session } = await start(app);
        const res = await post(app, { auth: { type: 'm.login.recaptcha', response: sv.issue(), session } });
        expect(res.statusCode, url).toBe(503);
        expect(res.json()).toMatchObject({ errcode: 'M_UNKNOWN' });
        expect(res.json().error).toMatch(/captcha/i);
        // Nothing was completed: the next round still asks for the captcha.
        const again = await post(app, { auth: { session } });
        expect(expectSpec(again, 'registration.yaml', REG, 'post').completed).toBeUndefined();
      } finally {
        await app.close();
      }
    }
    const misconfigured = await startApp(database, { ...captchaEnv(sv), CAPTCHA_SECRET: 'the-wrong-secret-0123456789' });
    try {
      const { session } = await start(misconfigured);
      const res = await post(misconfigured, { auth: { type: 'm.login.recaptcha', response: sv.issue(), session } });
      expect(res.statusCode).toBe(503);
    } finally {
      await misconfigured.close();
    }
  });
});
