// The fallback pages in a real headless Chromium: a client page opens the stage's fallback in a
// popup (as the spec's example does), the person completes the stage, the "authDone" message
// reaches the opener, and the client finishes the registration over the API with just the
// session. Terms, captcha (verified by a siteverify server on loopback) and registration token,
// plus a submission with JavaScript disabled. Screenshots of every page go to test-artifacts/.
import type { AddressInfo } from 'node:net';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_TOKEN, startApp, uniqueName, type TestApp } from '../helpers/app.js';
import { artifactPath, launchBrowser, PHONE_VIEWPORT } from '../helpers/browser.js';
import { DATABASE_KINDS, openTestDatabase, type TestDatabase } from '../helpers/databases.js';
import { captchaEnv, startSiteverify, type SiteverifyServer } from '../helpers/siteverify.js';
import { expectSpec } from '../helpers/spec.js';

const REG = '/register';
const POLICIES = {
  terms_of_service: { version: '1.0', en: { name: 'Terms of Service', url: 'https://example.org/tos-1.0.html' } },
  privacy_policy: { version: '4', en: { name: 'Privacy Policy', url: 'https://example.org/privacy-4.html' } },
};

interface Served {
  t: TestApp;
  origin: string;
}

async function serve(database: TestDatabase, env: Record<string, string>): Promise<Served> {
  const t = await startApp(database, { RATE_LIMIT_REGISTER_BURST: '1000', ...env });
  await t.app.listen({ host: '127.0.0.1', port: 0 });
  const { port } = t.app.server.address() as AddressInfo;
  return { t, origin: `http://127.0.0.1:${port}` };
}

async function api(s: Served, payload: unknown) {
  const res = await fetch(`${s.origin}/_matrix/client/v3/register`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(payload),
  });
  return { statusCode: res.status, body: await res.text(), headers: Object.fromEntries(res.headers) };
}

async function startRegistration(s: Served): Promise<string> {
  const res = await api(s, { username: uniqueName('web'), password: 'a good password' });
  expect(res.statusCode).toBe(401);
  return expectSpec(res, 'registration.yaml', REG, 'post').session;
}

async function finishRegistration(s: Served, session: string): Promise<string> {
  const res = await api(s, { auth: { session } });
  expect(res.statusCode).toBe(200);
  return expectSpec(res, 'registration.yaml', REG, 'post').user_id;
}

const fallbackUrl = (s: Served, type: string, session: string) =>
  `${s.origin}/_matrix/client/v3/auth/${encodeURIComponent(type)}/fallback/web?session=${encodeURIComponent(session)}`;

/**
 * The bits of the browser's window the page functions below use (the test project has no DOM
 * types). Functions passed to evaluate run in the browser, so each casts globalThis itself.
 */
interface Win {
  received: { data: unknown; origin: string }[];
  addEventListener(type: 'message', listener: (ev: { data: unknown; origin: string }) => void): void;
  open(url: string): unknown;
  onAuthDone?: () => void;
  document: { documentElement: { dataset: Record<string, string | undefined> } };
}

/** CSP violations and page errors, which must not happen on our pages. */
function watchProblems(page: Page): string[] {
  const problems: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error') problems.push(m.text());
  });
  page.on('pageerror', (e) => problems.push(e.message));
  return problems;
}

/**
 * Opens the fallback in a popup from a client page, lets `complete` work the form, and returns
 * the messages the client page received.
 */
async function viaPopup(
  context: BrowserContext,
  url: string,
  shot: string,
  complete: (popup: Page) => Promise<void>,
): Promise<{ data: unknown; origin: string }[]> {
  const client = await context.newPage();
  await client.goto('about:blank');
  await client.evaluate(() => {
    const w = globalThis as unknown as Win;
    w.received = [];
    w.addEventListener('message', (ev) => w.received.push({ data: ev.data, origin: ev.origin }));
  });
  const [popup] = await Promise.all([
    context.waitForEvent('page'),
    client.evaluate((u) => void (globalThis as unknown as Win).open(u), url),
  ]);
  const problems = watchProblems(popup);
  await popup.waitForLoadState('load');
  await popup.screenshot({ path: artifactPath(`${shot}-form.png`), fullPage: true });
  await complete(popup);
  await popup.getByRole('heading', { name: 'Step complete' }).waitFor();
  await popup.screenshot({ path: artifactPath(`${shot}-done.png`), fullPage: true });
  await client.waitForFunction(() => (globalThis as unknown as Win).received.length > 0);
  const received = await client.evaluate(() => (globalThis as unknown as Win).received);
  expect(problems).toEqual([]);
  await client.close();
  return received;
}

describe.each(DATABASE_KINDS)('fallback pages in Chromium (%s)', (kind) => {
  let database: TestDatabase;
  let browser: Browser;
  let context: BrowserContext;
  let sv: SiteverifyServer;
  let terms: Served;
  let captcha: Served;
  let token: Served;

  beforeAll(async () => {
    database = await openTestDatabase(kind);
    sv = await startSiteverify('captcha-secret-0123456789abcdef');
    terms = await serve(database, { TERMS_POLICIES: JSON.stringify(POLICIES) });
    captcha = await serve(database, captchaEnv(sv));
    token = await serve(database, { REGISTRATION_REQUIRES_TOKEN: 'true', ENABLE_REGISTRATION_WITHOUT_VERIFICATION: 'false' });
    browser = await launchBrowser();
    context = await browser.newContext({ viewport: PHONE_VIEWPORT });
  });
  afterAll(async () => {
    await context?.close();
    await browser?.close();
    for (const s of [terms, captcha, token]) await s?.t.close();
    await sv?.close();
    await database?.close();
  });

  it('completes m.login.terms in a popup; authDone reaches the opener; the API finishes', async () => {
    const session = await startRegistration(terms);
    const received = await viaPopup(context, fallbackUrl(terms, 'm.login.terms', session), `terms-${kind}`, async (popup) => {
      await popup.getByLabel('I accept the Terms of Service (version 1.0)').check();
      await popup.getByLabel('I accept the Privacy Policy (version 4)').check();
      await popup.getByRole('button', { name: 'Accept and continue' }).click();
    });
    expect(received).toEqual([{ data: 'authDone', origin: terms.origin }]);
    await finishRegistration(terms, session);
  });

  it('completes m.login.recaptcha with the provider widget; siteverify confirms it', async () => {
    const session = await startRegistration(captcha);
    const before = sv.requests.length;
    const received = await viaPopup(context, fallbackUrl(captcha, 'm.login.recaptcha', session), `recaptcha-${kind}`, async (popup) => {
      await popup.getByRole('button', { name: /I am not a robot \(site key test-site-key\)/ }).click();
      await popup.getByRole('button', { name: 'Solved' }).waitFor();
      await popup.getByRole('button', { name: 'Continue' }).click();
    });
    expect(received).toEqual([{ data: 'authDone', origin: captcha.origin }]);
    expect(sv.requests.slice(before)).toEqual([
      { secret: 'captcha-secret-0123456789abcdef', response: expect.stringMatching(/^pass-/), remoteip: '127.0.0.1' },
    ]);
    await finishRegistration(captcha, session);
  });

  it('completes m.login.registration_token, and calls window.onAuthDone in an embedded browser', { timeout: 180_000 }, async () => {
    const created = await token.t.app.inject({
      method: 'POST',
      url: '/_synapse/admin/v1/registration_tokens/new',
      headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
      payload: { uses_allowed: 5 },
    });
    const value: string = created.json().token;

    const session = await startRegistration(token);
    const received = await viaPopup(context, fallbackUrl(token, 'm.login.registration_token', session), `registration-token-${kind}`, async (popup) => {
      await popup.getByLabel('Registration token').fill(value);
      await popup.getByRole('button', { name: 'Continue' }).click();
    });
    expect(received).toEqual([{ data: 'authDone', origin: token.origin }]);
    await finishRegistration(token, session);

    // An embedded browser defines window.onAuthDone instead of listening for messages.
    const embedded = await browser.newContext({ viewport: PHONE_VIEWPORT });
    try {
      await embedded.addInitScript(() => {
        const w = globalThis as unknown as Win;
        w.onAuthDone = () => {
          w.document.documentElement.dataset.authDone = 'yes';
        };
      });
      const second = await startRegistration(token);
      const page = await embedded.newPage();
      await page.goto(fallbackUrl(token, 'm.login.registration_token', second));
      // Keyboard only: the token field has the focus, Enter submits. (Wait for the focus first:
      // on a loaded machine keystrokes can arrive before autofocus is applied.)
      await page.waitForFunction(() => {
        const doc = (globalThis as unknown as Win).document as unknown as { activeElement: { tagName?: string } | null };
        return doc.activeElement?.tagName === 'INPUT';
      }, undefined, { timeout: 60_000 });
      await page.keyboard.type(value);
      await page.keyboard.press('Enter');
      await page.waitForFunction(
        () => (globalThis as unknown as Win).document.documentElement.dataset.authDone === 'yes',
        undefined,
        { timeout: 60_000 },
      );
      await finishRegistration(token, second);
    } finally {
      await embedded.close();
    }
  });

  it('submits without JavaScript', async () => {
    const noJs = await browser.newContext({ viewport: PHONE_VIEWPORT, javaScriptEnabled: false });
    try {
      const session = await startRegistration(terms);
      const page = await noJs.newPage();
      const res = await page.goto(fallbackUrl(terms, 'm.login.terms', session));
      expect(res?.status()).toBe(200);
      await page.getByLabel(/Terms of Service/).check();
      await page.getByLabel(/Privacy Policy/).check();
      await page.getByRole('button', { name: 'Accept and continue' }).click();
      await page.getByRole('heading', { name: 'Step complete' }).waitFor();
      await page.screenshot({ path: artifactPath(`terms-nojs-${kind}-done.png`), fullPage: true });
      await finishRegistration(terms, session);
    } finally {
      await noJs.close();
    }
  });
});
