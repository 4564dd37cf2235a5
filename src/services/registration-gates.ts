// The anti-abuse gates of registration (issue 8), in one place so every path that creates an
// account or sends a message on someone's behalf asks the same questions:
//   - bans (IP/CIDR, user-agent patterns; configured and added through the admin API), checked
//     before any password hash or outgoing message;
//   - the global caps per hour and per day, counted in Postgres across instances;
//   - email-domain policy (allow/deny lists, disposable providers) for requestToken;
//   - the audit record of every registration attempt that ended.
// Each control is off until configured.
import { createRequire } from 'node:module';
import type { Config } from '../config.js';
import { checkEmailDomain, emailDomainMessage, type EmailDomainPolicy } from '../domain/email-domain.js';
import { checkBans, compileBans, type BanVerdict, type CompiledBanList } from '../domain/registration-bans.js';
import { capRefusal, capWindows, type CapWindow } from '../domain/registration-caps.js';
import { errors, type MatrixError } from '../errors.js';
import type { Clock } from '../lib/clock.js';
import type { Db, Queryable } from '../store/db.js';
import { listBans, type BanRow } from '../store/registration-bans.js';
import { fullCapWindow, takeCapSlot } from '../store/registration-caps.js';
import { insertAttempt, type RegistrationAttempt } from '../store/registration-attempts.js';

/**
 * mailchecker's list of disposable-email domains, loaded only when REGISTRATION_REFUSE_DISPOSABLE_EMAIL
 * is on: it is 8-13 MB of resident memory (measured, RSS when ready) that is otherwise unused.
 * The package is CommonJS, so require() loads it synchronously.
 */
function disposableProviders(): ReadonlySet<string> {
  const mailchecker = createRequire(import.meta.url)('mailchecker') as typeof import('mailchecker');
  return mailchecker.blacklist();
}

export interface GateLogger {
  warn(obj: object, msg: string): void;
}

export interface RequestOrigin {
  ip: string;
  userAgent?: string;
}

/** The audit's short reason for a refusal, attached to the error that carried it. */
const reasons = new WeakMap<MatrixError, string>();
export function refusalReason(err: MatrixError): string | undefined {
  return reasons.get(err);
}
export function withRefusalReason(err: MatrixError, reason: string): MatrixError {
  reasons.set(err, reason);
  return err;
}
const tagged = withRefusalReason;

/**
 * How long this instance reuses the admin API's bans before reading them again. Reading them on
 * every check cost a database round trip on each request of every registration; a ban added or
 * removed on another instance applies here within this time (at once on the instance whose admin
 * API took it, which drops its copy through bansChanged).
 */
export const BAN_REFRESH_MS = 1000;

export interface RegistrationGates {
  /** Bans: throws 403 M_FORBIDDEN for a banned address or user agent. Cheap; call first. */
  checkOrigin(origin: RequestOrigin): Promise<void>;
  /** The admin API added or removed a ban: the next check reads the list again. */
  bansChanged(): void;
  /** Caps: throws when a cap's current window is already full (before any work is done). */
  checkCaps(now: number): Promise<void>;
  /** Caps: takes a slot in each capped window inside the account-creating transaction, or throws. */
  takeCaps(q: Queryable, now: number): Promise<void>;
  /**
   * Email-domain policy: throws 403 M_THREEPID_DENIED for an address whose domain may not be used.
   * For the email requestToken endpoints, before anything is sent.
   */
  checkEmailAddress(address: string): void;
  /**
   * The hook for the 3PID requestToken endpoints, before anything is sent: bans first, then (for
   * email during registration) the email-domain policy.
   */
  checkRequestToken(r: RequestOrigin & { purpose: 'registration' | 'reset'; medium: 'email' | 'msisdn'; address: string }): Promise<void>;
  /** Records an attempt that ended (when REGISTRATION_AUDIT is on); never fails the request. */
  audit(a: Omit<RegistrationAttempt, 'at'>): Promise<void>;
}

export interface RegistrationGatesDeps {
  config: Pick<Config, 'abuse'>;
  db: Db;
  clock: Clock;
  log?: GateLogger;
  /** The disposable-provider list; defaults to mailchecker's. */
  disposableDomains?: ReadonlySet<string>;
}

export function createRegistrationGates(deps: RegistrationGatesDeps): RegistrationGates {
  const { config, db, clock } = deps;
  const abuse = config.abuse;
  const limits = { perHour: abuse.maxPerHour, perDay: abuse.maxPerDay };
  const emailPolicy: EmailDomainPolicy = {
    allow: abuse.emailDomainAllowlist,
    deny: abuse.emailDomainDenylist,
    refuseDisposable: abuse.refuseDisposableEmail,
    disposable: deps.disposableDomains ?? (abuse.refuseDisposableEmail ? disposableProviders() : new Set()),
  };

  const configured = compileBans({ ips: abuse.bannedIps, userAgents: abuse.bannedUserAgents });
  // The admin API's bans, compiled, as last read (undefined: none), and the read under way.
  let adminBans: { bans: CompiledBanList | undefined; readAt: number } | undefined;
  let reading: Promise<CompiledBanList | undefined> | undefined;
  let generation = 0;
  const compile = (rows: BanRow[]): CompiledBanList | undefined =>
    rows.length === 0
      ? undefined
      : compileBans({
          ips: rows.filter((r) => r.kind === 'ip').map((r) => r.value),
          userAgents: rows.filter((r) => r.kind === 'user_agent').map((r) => r.value),
        });
  function currentAdminBans(now: number): Promise<CompiledBanList | undefined> {
    if (adminBans && now - adminBans.readAt < BAN_REFRESH_MS) return Promise.resolve(adminBans.bans);
    if (!reading) {
      // One read at a time, shared by the checks that wait for it; a change made meanwhile
      // (bansChanged) discards its result.
      const started = generation;
      reading = listBans(db)
        .then((rows) => {
          const bans = compile(rows);
          if (started === generation) adminBans = { bans, readAt: now };
          return bans;
        })
        .finally(() => {
          if (started === generation) reading = undefined;
        });
    }
    return reading;
  }

  const capError = (w: CapWindow, now: number) => {
    const r = capRefusal(w, now, abuse.capShortWaitMs);
    const err = r.status === 429 ? errors.registrationCapWait(w.period, r.retryAfterMs) : errors.registrationCapReached(w.period, r.retryAfterMs);
    return tagged(err, `cap_${w.period}`);
  };

  const gates: RegistrationGates = {
    async checkOrigin(origin) {
      let verdict: BanVerdict = checkBans(origin.ip, origin.userAgent, configured);
      if (!verdict.banned) {
        const bans = await currentAdminBans(clock.now());
        if (bans) verdict = checkBans(origin.ip, origin.userAgent, bans);
      }
      if (verdict.banned) throw tagged(errors.registrationBanned(), verdict.reason);
    },

    bansChanged() {
      generation += 1;
      adminBans = undefined;
      reading = undefined;
    },

    async checkCaps(now) {
      const windows = capWindows(limits, now);
      if (windows.length === 0) return;
      const full = await fullCapWindow(db, windows);
      if (full) throw capError(full, now);
    },

    async takeCaps(q, now) {
      for (const w of capWindows(limits, now)) {
        if (!(await takeCapSlot(q, w))) throw capError(w, now);
      }
    },

    checkEmailAddress(address) {
      const verdict = checkEmailDomain(address, emailPolicy);
      if (!verdict.ok) throw tagged(errors.threepidDomainDenied(emailDomainMessage(verdict)), `email_${verdict.reason}`);
    },

    async checkRequestToken(r) {
      await gates.checkOrigin(r);
      // A password reset proves control of an address already bound: the policy is for new ones.
      if (r.purpose === 'registration' && r.medium === 'email') gates.checkEmailAddress(r.address);
    },

    async audit(a) {
      if (!abuse.audit) return;
      try {
        await insertAttempt(db, { ...a, userAgent: a.userAgent?.slice(0, 512) ?? null, at: clock.now() });
      } catch (err) {
        deps.log?.warn({ err: { message: (err as Error).message } }, 'could not record a registration attempt');
      }
    },
  };
  return gates;
}
