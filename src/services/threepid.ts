// Validation of third-party identifiers by the service itself (no identity server):
// requestToken creates or continues a validation session and queues the message in the same
// transaction; submitToken (the link page or submit_url) validates it; the UIA stages and the
// operations (registration, password reset) then consume it. Answers never depend on the mail
// server, and by default never tell a stranger whether an address has an account.
import { createRequire } from 'node:module';
import type parsePhoneNumberType from 'libphonenumber-js/max';
import type { Config } from '../config.js';
import type { RegistrationGates } from './registration-gates.js';
import {
  canonicaliseEmail,
  CLIENT_SECRET_GRAMMAR,
  compilePatterns,
  nextLinkAllowed,
  submitVerdict,
  threepidAllowed,
  type Medium,
  type ThreepidPurpose,
} from '../domain/threepid.js';
import { errors, MatrixError } from '../errors.js';
import type { Clock, Random } from '../lib/clock.js';
import { safeEqual, tokenHash } from '../lib/secrets.js';
import type { Db, Queryable } from '../store/db.js';
import { peekFailures, recordFailure } from '../store/failure-counters.js';
import { enqueue, type OutboxMessage } from '../store/outbox.js';
import {
  consumeValidation,
  findValidation,
  findValidationByKey,
  insertValidation,
  markValidated,
  recordWrongToken,
  resendValidation,
} from '../store/threepid-validations.js';
import { bindThreepid, findThreepidOwner } from '../store/user-threepids.js';
import { accountExistsEmail, accountExistsSms, validationEmail, validationSms } from './threepid-messages.js';

// libphonenumber's full metadata (~2 MB of heap) is loaded at the first phone number, not at start:
// most deployments never see one (msisdn needs SMS_GATEWAY_URL). The package is also CommonJS.
const require = createRequire(import.meta.url);
let phoneParser: typeof parsePhoneNumberType | undefined;
const parsePhoneNumber: typeof parsePhoneNumberType = (...args) => {
  phoneParser ??= require('libphonenumber-js/max') as typeof parsePhoneNumberType;
  return phoneParser(...args);
};

/** Where the validation page and submit_url live (public paths; see README's reverse-proxy section). */
export const VALIDATE_PAGE_PATH = '/_registration/v1/threepid/validate';
export const SUBMIT_TOKEN_PATH = '/_registration/v1/threepid/submit_token';

export type ThreepidTarget = { medium: 'email'; email: string } | { medium: 'msisdn'; country: string; phoneNumber: string };

export interface RequestTokenInput {
  purpose: ThreepidPurpose;
  target: ThreepidTarget;
  clientSecret: string;
  sendAttempt: number;
  nextLink?: string;
  ip: string;
  userAgent?: string;
}

export interface RequestTokenResponse {
  sid: string;
  submit_url: string;
  msisdn?: string;
}

/** What a completed email/msisdn UIA stage records in the UIA session. */
export interface ThreepidStageData {
  sid: string;
  medium: Medium;
  address: string;
  validated_at: number;
}

export interface ThreepidService {
  readonly media: { email: boolean; msisdn: boolean };
  requestToken(input: RequestTokenInput): Promise<RequestTokenResponse>;
  /** Validates a session with its token; returns the vetted next_link, if the session has one. */
  submitToken(input: { sid: string; clientSecret: string; token: string; ip: string }): Promise<{ nextLink: string | null }>;
  /**
   * Inside an operation's transaction: spends the validated sessions a UIA session completed and
   * returns their identifiers. Throws if one was spent or expired meanwhile.
   */
  consumeForOperation(q: Queryable, completed: Record<string, unknown>, purpose: ThreepidPurpose): Promise<ThreepidStageData[]>;
  /** Inside the registration transaction: binds the identifiers to the new account. */
  bindAll(q: Queryable, userId: string, ids: ThreepidStageData[]): Promise<void>;
}

export interface ThreepidDeps {
  config: Pick<Config, 'serverName' | 'publicBaseUrl' | 'threepid' | 'email' | 'sms'>;
  db: Db;
  clock: Clock;
  random: Random;
  /** Called after a message was queued (wakes the outbox worker). */
  onQueued: () => void;
  /** The anti-abuse gates (bans, email-domain policy), asked before anything is sent. */
  gates?: Pick<RegistrationGates, 'checkRequestToken'>;
}

const SID_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
const EMAIL_TOKEN_ALPHABET = 'ABCDEFGHJKLMNPQRSTUVWXYZ23456789';

export const sendKeys = {
  address: (medium: Medium, address: string) => `3pid_send_address:${medium}:${address}`,
  ip: (ip: string) => `3pid_send_ip:${ip}`,
  session: (sid: string) => `3pid_send_session:${sid}`,
};
export const submitFailureKey = (ip: string) => `3pid_submit_ip:${ip}`;

export function createThreepidService(deps: ThreepidDeps): ThreepidService {
  const { config, db, clock, random } = deps;
  const t = config.threepid;
  const patterns = {
    email: compilePatterns(t.allowedEmailPatterns),
    msisdn: compilePatterns(t.allowedMsisdnPatterns),
  };
  const media = { email: config.email !== undefined, msisdn: config.sms !== undefined };
  const submitUrl = `${config.publicBaseUrl}${SUBMIT_TOKEN_PATH}`;

  function canonical(target: ThreepidTarget): string {
    if (target.medium === 'email') {
      const address = canonicaliseEmail(target.email);
      if (!address) throw errors.invalidEmail();
      return address;
    }
    const country = target.country.trim().toUpperCase();
    if (!/^[A-Z]{2}$/.test(country) && !target.phoneNumber.trim().startsWith('+')) throw errors.invalidPhoneNumber();
    const parsed = target.phoneNumber.length <= 64
      ? parsePhoneNumber(target.phoneNumber, /^[A-Z]{2}$/.test(country) ? (country as never) : undefined)
      : undefined;
    if (!parsed || !parsed.isValid()) throw errors.invalidPhoneNumber();
    return parsed.number.slice(1); // E.164 without "+": the msisdn
  }

  function newToken(medium: Medium): string {
    return medium === 'email' ? random.string(24, EMAIL_TOKEN_ALPHABET) : random.string(6, '0123456789');
  }

  function message(a: { medium: Medium; address: string; purpose: ThreepidPurpose; sid: string; clientSecret: string; token: string | null }): OutboxMessage | undefined {
    const to = a.medium === 'email' ? a.address : `+${a.address}`;
    if (a.token === null) {
      // Only registrations for an address that already has an account get a notice.
      if (a.purpose !== 'registration') return undefined;
      return a.medium === 'email'
        ? accountExistsEmail({ to, serverName: config.serverName })
        : accountExistsSms({ to, serverName: config.serverName });
    }
    if (a.medium === 'msisdn') return validationSms({ to, serverName: config.serverName, purpose: a.purpose, token: a.token });
    const q = new URLSearchParams({ sid: a.sid, client_secret: a.clientSecret, token: a.token });
    const link = `${config.publicBaseUrl}${VALIDATE_PAGE_PATH}?${q.toString()}`;
    return validationEmail({ to, serverName: config.serverName, purpose: a.purpose, link, token: a.token });
  }

  /** Spends one send from each budget (address, IP, session), or throws 429 when one is used up. */
  async function spendSendBudgets(q: Queryable, keys: string[], now: number): Promise<void> {
    const limits: [string, number][] = keys.map((k) => [
      k,
      k.startsWith('3pid_send_address:') ? t.sendsPerAddress : k.startsWith('3pid_send_ip:') ? t.sendsPerIp : t.sendsPerSession,
    ]);
    let waitUntil = 0;
    for (const [key, max] of limits) {
      const b = await peekFailures(q, key, now);
      if (b.count >= max) waitUntil = Math.max(waitUntil, b.windowEnd);
    }
    if (waitUntil > 0) throw errors.limitExceeded(waitUntil - now);
    for (const [key] of limits) await recordFailure(q, key, now, t.sendsWindowMs);
  }

  return {
    media,

    async requestToken(input) {
      const { purpose, target } = input;
      const medium = target.medium;
      if (!CLIENT_SECRET_GRAMMAR.test(input.clientSecret)) throw errors.invalidClientSecret();
      if (!media[medium]) throw errors.threepidMediumNotSupported(medium);
      if (!Number.isSafeInteger(input.sendAttempt) || input.sendAttempt < 0) throw errors.invalidParam('send_attempt must be a non-negative integer');
      const address = canonical(target);
      if (!threepidAllowed(address, patterns[medium])) throw errors.threepidDenied();
      // Bans and the email-domain policy (allow/deny lists, disposable providers), before any
      // budget is spent or message queued.
      await deps.gates?.checkRequestToken({ ip: input.ip, userAgent: input.userAgent, purpose, medium, address });
      if (input.nextLink !== undefined && !nextLinkAllowed(input.nextLink, t.nextLinkAllowedHosts)) throw errors.nextLinkNotAllowed();
      const nextLink = input.nextLink ?? null;
      const now = clock.now();

      const outcome = await db.tx(async (q): Promise<{ sid: string; queued: boolean } | { reveal: MatrixError }> => {
        const key = { purpose, medium, address, clientSecret: input.clientSecret };
        const existing = await findValidationByKey(q, key);
        // The same client_secret, address and send_attempt: the same sid, nothing sent again.
        if (existing && input.sendAttempt <= existing.send_attempt && existing.expires_at > now) return { sid: existing.sid, queued: false };

        const sid = existing && existing.expires_at > now ? existing.sid : random.string(32, SID_ALPHABET);
        await spendSendBudgets(q, [sendKeys.address(medium, address), sendKeys.ip(input.ip), sendKeys.session(sid)], now);

        const owner = await findThreepidOwner(q, medium, address);
        let token: string | null = newToken(medium);
        if (purpose === 'registration' && owner !== undefined) {
          if (t.revealAccounts) return { reveal: errors.threepidInUse() };
          token = null;
        } else if (purpose === 'reset' && owner === undefined) {
          if (t.revealAccounts) return { reveal: errors.threepidNotFound() };
          token = null;
        }

        const tokenFields = {
          token_hash: token === null ? null : tokenHash(token),
          token_expires_at: now + t.tokenLifetimeMs,
        };
        if (existing && existing.expires_at > now) {
          await resendValidation(q, existing.sid, {
            sendAttempt: input.sendAttempt,
            tokenHash: tokenFields.token_hash,
            tokenExpiresAt: tokenFields.token_expires_at,
            nextLink,
          });
        } else {
          if (existing) await q.query('DELETE FROM threepid_validations WHERE sid = $1', [existing.sid]);
          const inserted = await insertValidation(q, {
            sid,
            client_secret: input.clientSecret,
            purpose,
            medium,
            address,
            send_attempt: input.sendAttempt,
            ...tokenFields,
            next_link: nextLink,
            created_at: now,
            expires_at: now + t.sessionLifetimeMs,
          });
          // A concurrent request with the same key won: roll back our budget use and answer its sid.
          if (!inserted) throw new ConcurrentRequest();
        }
        const m = message({ medium, address, purpose, sid, clientSecret: input.clientSecret, token });
        if (m) await enqueue(q, m, now);
        return { sid, queued: m !== undefined };
      }).catch(async (err) => {
        if (!(err instanceof ConcurrentRequest)) throw err;
        const winner = await findValidationByKey(db, { purpose, medium, address, clientSecret: input.clientSecret });
        if (!winner) throw err;
        return { sid: winner.sid, queued: false };
      });

      if ('reveal' in outcome) throw outcome.reveal;
      if (outcome.queued) deps.onQueued();
      return { sid: outcome.sid, submit_url: submitUrl, ...(medium === 'msisdn' ? { msisdn: address } : {}) };
    },

    async submitToken(input) {
      const now = clock.now();
      const failKey = submitFailureKey(input.ip);
      const spent = await peekFailures(db, failKey, now);
      if (spent.count >= t.failuresPerIp) throw errors.limitExceeded(spent.windowEnd - now);
      const fail = async () => {
        await recordFailure(db, failKey, now, t.failuresWindowMs);
        return errors.threepidAuthFailed();
      };
      if (!CLIENT_SECRET_GRAMMAR.test(input.sid) || !CLIENT_SECRET_GRAMMAR.test(input.clientSecret) || input.token.length > 255) {
        throw await fail();
      }
      const v = await findValidation(db, input.sid);
      if (!v || !safeEqual(v.client_secret, input.clientSecret)) throw await fail();
      // Checked again here: a host taken off the allow-list since requestToken is no longer a target.
      const next = v.next_link !== null && nextLinkAllowed(v.next_link, t.nextLinkAllowedHosts) ? v.next_link : null;
      switch (submitVerdict(v, now, t.maxAttempts)) {
        case 'already_validated':
          return { nextLink: next };
        case 'locked':
          // Too many wrong codes for this code: wait for it to lapse, or ask for a new one.
          throw errors.limitExceeded(Math.max(1000, v.token_expires_at - now));
        case 'expired':
        case 'no_token':
          throw await fail();
        case 'ok':
          break;
      }
      if (!safeEqual(tokenHash(input.token.trim()).toString('hex'), v.token_hash!.toString('hex'))) {
        await recordWrongToken(db, v.sid);
        throw await fail();
      }
      await markValidated(db, v.sid, now);
      return { nextLink: next };
    },

    async consumeForOperation(q, completed, purpose) {
      const out: ThreepidStageData[] = [];
      for (const data of Object.values(completed)) {
        if (!isStageData(data)) continue;
        const v = await consumeValidation(q, { sid: data.sid, purpose, now: clock.now() });
        if (!v) throw errors.forbidden('The validated email address or phone number of this session was used or has expired; validate it again.');
        out.push({ sid: v.sid, medium: v.medium, address: v.address, validated_at: v.validated_at! });
      }
      return out;
    },

    async bindAll(q, userId, ids) {
      for (const id of ids) {
        const bound = await bindThreepid(q, { medium: id.medium, address: id.address, userId, validatedAt: id.validated_at, now: clock.now() });
        if (!bound) throw errors.threepidInUse();
      }
    },
  };
}

class ConcurrentRequest extends Error {}

export function isStageData(d: unknown): d is ThreepidStageData {
  if (typeof d !== 'object' || d === null) return false;
  const o = d as Record<string, unknown>;
  return typeof o.sid === 'string' && (o.medium === 'email' || o.medium === 'msisdn') && typeof o.address === 'string';
}
