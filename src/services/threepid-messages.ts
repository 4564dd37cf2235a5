// The texts this service sends: validation codes and links, and the non-revealing "you already
// have an account" notice. Plain text and HTML for email (every interpolated value escaped).
import type { ThreepidPurpose } from '../domain/threepid.js';
import type { OutboxMessage } from '../store/outbox.js';

export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

const what = (p: ThreepidPurpose) => (p === 'registration' ? 'create an account' : 'reset your password');

export function validationEmail(a: { to: string; serverName: string; purpose: ThreepidPurpose; link: string; token: string }): OutboxMessage {
  const subject = a.purpose === 'registration'
    ? `[${a.serverName}] Confirm your email address`
    : `[${a.serverName}] Reset your password`;
  const text = [
    `Someone asked to ${what(a.purpose)} on ${a.serverName} with this email address.`,
    '',
    'To confirm it was you, open this link and press the button:',
    a.link,
    '',
    `Or enter this code in your app: ${a.token}`,
    '',
    'If it was not you, ignore this message: nothing happens without the confirmation.',
  ].join('\n');
  const html = `<!doctype html><html><body>
<p>Someone asked to ${what(a.purpose)} on ${escapeHtml(a.serverName)} with this email address.</p>
<p><a href="${escapeHtml(a.link)}">Confirm it was you</a></p>
<p>Or enter this code in your app: <code>${escapeHtml(a.token)}</code></p>
<p>If it was not you, ignore this message: nothing happens without the confirmation.</p>
</body></html>`;
  return { channel: 'email', recipient: a.to, subject, text, html };
}

export function validationSms(a: { to: string; serverName: string; purpose: ThreepidPurpose; token: string }): OutboxMessage {
  return {
    channel: 'sms',
    recipient: a.to,
    text: `Your ${a.serverName} code to ${what(a.purpose)}: ${a.token}. If you did not ask for it, ignore this message.`,
  };
}

/** Sent instead of a code when someone tries to register with an address that already has an account. */
export function accountExistsEmail(a: { to: string; serverName: string }): OutboxMessage {
  const text = [
    `Someone tried to create an account on ${a.serverName} with this email address, but it already belongs to an account.`,
    '',
    'If it was you and you have forgotten your password, use "Forgot password" in your Matrix app to reset it with this address.',
    'If it was not you, ignore this message: nothing has changed.',
  ].join('\n');
  const html = `<!doctype html><html><body>
<p>Someone tried to create an account on ${escapeHtml(a.serverName)} with this email address, but it already belongs to an account.</p>
<p>If it was you and you have forgotten your password, use "Forgot password" in your Matrix app to reset it with this address.</p>
<p>If it was not you, ignore this message: nothing has changed.</p>
</body></html>`;
  return { channel: 'email', recipient: a.to, subject: `[${a.serverName}] You already have an account`, text, html };
}

export function accountExistsSms(a: { to: string; serverName: string }): OutboxMessage {
  return {
    channel: 'sms',
    recipient: a.to,
    text: `Someone tried to register on ${a.serverName} with this number, which already has an account. Forgot your password? Use "Forgot password" in your app.`,
  };
}
