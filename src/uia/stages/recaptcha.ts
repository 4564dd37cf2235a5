// m.login.recaptcha: the client solves a captcha and submits the provider's `response`; the
// stage asks the provider's siteverify API (the request and answer shape Google reCAPTCHA,
// hCaptcha and Cloudflare Turnstile share: POST secret, response, remoteip as a form; answer
// {"success": bool, "error-codes": [...]}) whether it is genuine. Only an explicit
// `"success": true` passes. A verifier that cannot be reached, times out or answers nonsense is
// a 503 for the request: never a pass, and not the person's fault either.
import type { CaptchaConfig } from '../../config.js';
import { STAGE } from '../../domain/flows.js';
import { errors } from '../../errors.js';
import { CAPTCHA_RESPONSE_FIELDS, type Stage } from '../stage.js';


/** error-codes that mean the operator's configuration is wrong, not the person's answer. */
const CONFIGURATION_ERRORS = new Set(['missing-input-secret', 'invalid-input-secret', 'sitekey-secret-mismatch']);

const MAX_RESPONSE_LENGTH = 8192;

export type SiteverifyResult = 'pass' | 'fail' | 'unavailable';

/** One siteverify call. Never throws; anything but an explicit success is not a pass. */
export async function siteverify(
  c: Pick<CaptchaConfig, 'siteverifyUrl' | 'secret' | 'verifyTimeoutMs'>,
  response: string,
  remoteip: string,
): Promise<SiteverifyResult> {
  let body: unknown;
  try {
    const res = await fetch(c.siteverifyUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
      body: new URLSearchParams({ secret: c.secret, response, remoteip }).toString(),
      signal: AbortSignal.timeout(c.verifyTimeoutMs),
      redirect: 'error',
    });
    if (!res.ok) return 'unavailable';
    body = await res.json();
  } catch {
    return 'unavailable';
  }
  if (typeof body !== 'object' || body === null) return 'unavailable';
  const { success } = body as { success?: unknown };
  const codes = (body as { 'error-codes'?: unknown })['error-codes'];
  if (success === true) return 'pass';
  if (success !== false) return 'unavailable';
  if (Array.isArray(codes) && codes.some((code) => CONFIGURATION_ERRORS.has(String(code)))) return 'unavailable';
  return 'fail';
}

export function createRecaptchaStage(c: CaptchaConfig): Stage {
  return {
    type: STAGE.recaptcha,
    params: () => ({ public_key: c.siteKey }),
    async attempt(auth, { ip }) {
      const response = auth.response;
      if (typeof response !== 'string' || response.length === 0) {
        return { ok: false, error: errors.captchaFailed('Solve the captcha and submit its response.') };
      }
      if (response.length > MAX_RESPONSE_LENGTH) return { ok: false, error: errors.captchaFailed() };
      const result = await siteverify(c, response, ip);
      if (result === 'unavailable') throw errors.captchaUnavailable();
      if (result === 'fail') return { ok: false, error: errors.captchaFailed() };
      return { ok: true };
    },
    fallback: {
      title: 'Prove you are human',
      instructions: 'Solve the captcha below, then press Continue. The captcha needs JavaScript.',
      submitLabel: 'Continue',
      fields: () => [
        { kind: 'captcha', siteKey: c.siteKey, widgetClass: c.widgetClass, scriptUrl: c.widgetScriptUrl, sources: c.cspSources },
      ],
      toAuth: (form) => {
        const response = CAPTCHA_RESPONSE_FIELDS.map((f) => form.get(f)).find((v) => v !== undefined && v !== '');
        if (response === undefined) return { ok: false, message: 'Solve the captcha first.' };
        return { ok: true, auth: { type: STAGE.recaptcha, response } };
      },
    },
  };
}
