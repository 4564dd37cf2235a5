// A siteverify-compatible captcha verifier on loopback (the request and answer shape reCAPTCHA,
// hCaptcha and Turnstile share), plus a stand-in widget script for browser tests. Answers
// `"success": true` only for responses it issued itself through the widget or `issue()`, each
// once, and only with the right secret.
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface SiteverifyServer {
  url: string;
  siteverifyUrl: string;
  /** Answers 500. */
  brokenUrl: string;
  /** Never answers (until the server closes). */
  hangingUrl: string;
  widgetUrl: string;
  /** A response the verifier will accept once. */
  issue(): string;
  /** Every verification request received, as its form fields. */
  requests: Record<string, string>[];
  close(): Promise<void>;
}

const WIDGET = `
(function () {
  var widgets = document.querySelectorAll('.g-recaptcha');
  widgets.forEach(function (el) {
    var button = document.createElement('button');
    button.type = 'button';
    button.id = 'captcha-solve';
    button.textContent = 'I am not a robot (site key ' + el.getAttribute('data-sitekey') + ')';
    button.addEventListener('click', function () {
      fetch(SCRIPT_ORIGIN + '/issue', { method: 'POST' })
        .then(function (r) { return r.text(); })
        .then(function (token) {
          var input = document.createElement('input');
          input.type = 'hidden';
          input.name = 'g-recaptcha-response';
          input.value = token;
          el.appendChild(input);
          button.textContent = 'Solved';
          button.disabled = true;
        });
    });
    el.appendChild(button);
  });
})();
`;

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

export async function startSiteverify(secret: string): Promise<SiteverifyServer> {
  const issued = new Set<string>();
  const requests: Record<string, string>[] = [];
  const hanging = new Set<import('node:http').ServerResponse>();
  const issue = () => {
    const token = `pass-${randomBytes(12).toString('hex')}`;
    issued.add(token);
    return token;
  };
  let origin = '';

  const server: Server = createServer(async (req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method === 'GET' && path === '/widget.js') {
      res.writeHead(200, { 'content-type': 'application/javascript' });
      res.end(WIDGET.replace('SCRIPT_ORIGIN', JSON.stringify(origin)));
      return;
    }
    if (req.method === 'POST' && path === '/issue') {
      // Called by the widget from the fallback page (connect-src allows this origin).
      res.writeHead(200, { 'content-type': 'text/plain', 'access-control-allow-origin': '*' });
      res.end(issue());
      return;
    }
    if (req.method === 'POST' && path === '/hang') {
      hanging.add(res);
      return;
    }
    if (req.method === 'POST' && path === '/broken') {
      res.writeHead(500, { 'content-type': 'text/plain' });
      res.end('upstream trouble');
      return;
    }
    if (req.method === 'POST' && path === '/siteverify') {
      const form = Object.fromEntries(new URLSearchParams(await readBody(req)));
      requests.push(form);
      let answer: Record<string, unknown>;
      if (form.secret !== secret) answer = { success: false, 'error-codes': ['invalid-input-secret'] };
      else if (form.response !== undefined && issued.delete(form.response)) {
        answer = { success: true, challenge_ts: new Date().toISOString(), hostname: '127.0.0.1' };
      } else answer = { success: false, 'error-codes': ['invalid-input-response'] };
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify(answer));
      return;
    }
    res.writeHead(404).end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  origin = `http://127.0.0.1:${port}`;
  return {
    url: origin,
    siteverifyUrl: `${origin}/siteverify`,
    brokenUrl: `${origin}/broken`,
    hangingUrl: `${origin}/hang`,
    widgetUrl: `${origin}/widget.js`,
    issue,
    requests,
    async close() {
      for (const res of hanging) res.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** A loopback URL nothing listens on (a port opened and closed again). */
export async function closedPortUrl(): Promise<string> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return `http://127.0.0.1:${port}/siteverify`;
}

export const CAPTCHA_SECRET = 'captcha-secret-0123456789abcdef';

/** Environment for an app whose captcha stage asks `sv` (or `siteverifyUrl`). */
export const captchaEnv = (sv: SiteverifyServer, siteverifyUrl = sv.siteverifyUrl) => ({
  ENABLE_REGISTRATION_WITHOUT_VERIFICATION: 'false',
  ENABLE_REGISTRATION_CAPTCHA: 'true',
  CAPTCHA_SITE_KEY: 'test-site-key',
  CAPTCHA_SECRET,
  CAPTCHA_SITEVERIFY_URL: siteverifyUrl,
  CAPTCHA_WIDGET_SCRIPT_URL: sv.widgetUrl,
  // Generous: a loaded machine must never turn a genuine answer into a timeout. Tests of the
  // timeout itself point at the hanging endpoint and shorten it.
  CAPTCHA_VERIFY_TIMEOUT: '30s',
  RATE_LIMIT_REGISTER_BURST: '1000',
});
