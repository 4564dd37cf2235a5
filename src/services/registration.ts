// Account registration: POST /register (user and guest), GET /register/available.
import type { Config } from '../config.js';
import { exclusiveOwners, isInterestedInUser, type AppService } from '../domain/appservices.js';
import { registrationFlows, STAGE, type Flow } from '../domain/flows.js';
import { passwordProblem } from '../domain/password-policy.js';
import { passwordStrengthProblem } from '../domain/password-strength.js';
import { checkUsername, userIdOf } from '../domain/username.js';
import { errors, MatrixError } from '../errors.js';
import type { Clock, Random } from '../lib/clock.js';
import type { Metrics } from '../lib/metrics.js';
import { safeEqual, type PasswordHasher } from '../lib/secrets.js';
import type { Db, Queryable } from '../store/db.js';
import { completeTokenUse } from '../store/registration-tokens.js';
import { recordUiaResult, unmarkStage } from '../store/uia-sessions.js';
import { recordPolicyAcceptances } from '../store/policy-acceptances.js';
import { insertUser, localpartExists } from '../store/users.js';
import type { AccountRegistration } from '../store/account-approval.js';
import { enqueueWebhook } from '../store/webhook-outbox.js';
import type { UiaBody, UiaComplete, UiaEngine } from '../uia/engine.js';
import type { TermsAcceptance } from '../uia/stages/terms.js';
import type { LoginIssuer, LoginTokens } from './logins.js';
import type { ThreepidService } from './threepid.js';
import { refusalReason, withRefusalReason, type RegistrationGates } from './registration-gates.js';

export interface RegisterUserInput {
  /** Normalised operation ("POST /register"), for UIA session binding. */
  operation: string;
  ip: string;
  userAgent?: string;
  auth?: Record<string, unknown>;
  username?: string;
  password?: string;
  deviceId?: string;
  initialDeviceDisplayName?: string;
  inhibitLogin: boolean;
  refreshToken: boolean;
}

export interface RegisterResponse extends Partial<LoginTokens> {
  user_id: string;
  home_server: string;
}

export type RegisterResult = { status: 200; body: RegisterResponse } | { status: 401; body: UiaBody };

/**
 * An account created without UIA, by an administrator (shared-secret registration) or by an
 * application service for a user in its namespace.
 */
export interface DirectRegistrationInput {
  kind: 'admin' | 'appservice';
  username: string;
  password?: string;
  admin?: boolean;
  userType?: string;
  displayname?: string;
  /** The service registering the user (kind appservice). */
  appservice?: AppService;
  inhibitLogin: boolean;
  deviceId?: string;
  initialDeviceDisplayName?: string;
  refreshToken: boolean;
}

export interface RegistrationService {
  readonly flows: Flow[];
  registerUser(input: RegisterUserInput): Promise<RegisterResult>;
  registerDirect(input: DirectRegistrationInput): Promise<RegisterResponse>;
  /** The application service whose as_token this is (compared in constant time), if any. */
  appserviceByToken(token: string): AppService | undefined;
  registerGuest(input: { initialDeviceDisplayName?: string; ip: string; userAgent?: string }): Promise<RegisterResponse>;
  /** Throws M_INVALID_USERNAME / M_USER_IN_USE, or returns the canonical localpart. */
  checkAvailable(username: string): Promise<string>;
}

export interface RegistrationDeps {
  config: Pick<Config, 'serverName' | 'registration' | 'password' | 'captcha' | 'termsPolicies' | 'abuse'>;
  db: Db;
  clock: Clock;
  random: Random;
  hasher: PasswordHasher;
  uia: UiaEngine;
  logins: LoginIssuer;
  /** Binds the identifiers validated in the session's email/msisdn stages to the new account. */
  threepids: Pick<ThreepidService, 'consumeForOperation' | 'bindAll'>;
  appservices?: readonly AppService[];
  metrics?: Pick<Metrics, 'registration' | 'uiaSessionCompleted'>;
  gates: RegistrationGates;
  /** Called after an account awaiting approval was queued for the webhook (wakes the worker). */
  onPendingQueued?: () => void;
}

/** The event queued for REGISTRATION_APPROVAL_WEBHOOK_URL when an account awaits approval. */
export const PENDING_APPROVAL_EVENT = 'registration.pending_approval';

/** What is known of a registration attempt as it goes, for its audit record. */
interface AttemptTrace {
  username?: string;
  userId?: string;
  flow?: readonly string[];
  token?: string;
}

/** A hold on a registration token that lapsed and could not be taken again at completion. */
class TokenLapsed extends Error {}
/** The account was created and awaits approval: answered 403 M_USER_AWAITING_APPROVAL. */
class AwaitingApproval extends Error {}

const GENERATED_ALPHABET = 'abcdefghijklmnopqrstuvwxyz0123456789';
const MAX_NAME_ATTEMPTS = 5;

export function createRegistrationService(deps: RegistrationDeps): RegistrationService {
  const { config, db, clock, random, hasher, uia, logins, threepids, gates } = deps;
  const flows = registrationFlows({
    requiresToken: config.registration.requiresToken,
    tokenOptional: config.registration.tokenOptional,
    captcha: config.captcha !== undefined,
    terms: Object.keys(config.termsPolicies).length > 0,
    requires3pid: config.registration.requires3pid,
  });
  const rules = { serverName: config.serverName, reserved: config.registration.reservedUsernames };
  const appservices = deps.appservices ?? [];
  const requiresApproval = config.abuse.requiresApproval;
  const webhook = config.abuse.approvalWebhookUrl !== undefined;

  /** The device and tokens of a new account, unless the client asked for inhibit_login. */
  async function loginUnlessInhibited(
    q: Queryable,
    userId: string,
    input: { inhibitLogin: boolean; deviceId?: string; initialDeviceDisplayName?: string; refreshToken: boolean },
  ): Promise<Partial<LoginTokens>> {
    if (input.inhibitLogin) return {};
    return logins.issue(q, {
      userId,
      deviceId: input.deviceId,
      displayName: input.initialDeviceDisplayName,
      refresh: input.refreshToken,
    });
  }

  async function checkAvailable(username: string): Promise<string> {
    const check = checkUsername(username, rules);
    if (!check.ok) throw errors.invalidUsername(check.message);
    if (exclusiveOwners(appservices, check.userId).length > 0) throw errors.exclusive();
    if (await localpartExists(db, check.localpart)) throw errors.userInUse();
    return check.localpart;
  }

  /**
   * Generated localparts are random, not sequential, so they reveal neither sign-up volume nor
   * the next ID. The leading underscore keeps them out of the names people can choose.
   */
  const generateLocalpart = (prefix: string) => `_${prefix}.${random.string(12, GENERATED_ALPHABET)}`;

  /**
   * Inserts the user under `localpart`. A generated localpart (regenerate: its prefix) is drawn
   * again on the rare collision; a chosen one is M_USER_IN_USE.
   */
  async function insertAccount(
    q: Queryable,
    a: {
      localpart: string;
      regenerate?: string;
      passwordHash: string | null;
      isGuest: boolean;
      token?: string;
      admin?: boolean;
      userType?: string;
      displayname?: string;
      appserviceId?: string;
      approved?: boolean;
      /** How a user registration came in, recorded with the account. */
      registration?: AccountRegistration;
    },
  ): Promise<string> {
    let localpart = a.localpart;
    for (let attempt = 1; ; attempt++) {
      const userId = userIdOf(localpart, config.serverName);
      const inserted = await insertUser(q, {
        userId,
        localpart,
        passwordHash: a.passwordHash,
        isGuest: a.isGuest,
        createdAt: clock.now(),
        registrationToken: a.token ?? null,
        admin: a.admin ?? false,
        userType: a.userType ?? null,
        displayname: a.displayname ?? null,
        appserviceId: a.appserviceId ?? null,
        approved: a.approved ?? true,
      }, a.registration);
      if (inserted) return userId;
      if (a.regenerate === undefined || attempt >= MAX_NAME_ATTEMPTS) throw errors.userInUse();
      localpart = generateLocalpart(a.regenerate);
    }
  }

  async function finish(done: UiaComplete, input: RegisterUserInput, trace: AttemptTrace): Promise<RegisterResult> {
    const { session, flow } = done;
    // Another request may have spent the session while this one ran its stage.
    if (session.spent_at !== null) throw errors.sessionSpent();
    if (session.password_hash === null) {
      // The client may still send the password in this session: keep the stage it just passed.
      await uia.keep(done);
      throw errors.missingParam('password');
    }
    const passwordHash = session.password_hash;
    const localpart = typeof session.binding.username === 'string' ? session.binding.username : undefined;
    trace.username ??= localpart;
    const token = (session.completed[STAGE.registrationToken] as { token?: string } | undefined)?.token;
    trace.token = token;
    const terms = (session.completed[STAGE.terms] as TermsAcceptance | undefined)?.policies;
    const now = clock.now();
    // The user ID is chosen before the transaction so the spending write records it too.
    const planned = localpart ?? generateLocalpart('user');
    const plannedUserId = userIdOf(planned, config.serverName);
    try {
      const body = await db.tx(async (q) => {
        // First statement: exactly one request may spend the session. A racing request waits on
        // the row lock, then finds it spent and gets M_FORBIDDEN, never a second account.
        if (!(await uia.spend(q, done, { user_id: plannedUserId }))) throw errors.sessionSpent();
        // The global caps: one slot per capped window, taken in this transaction (rolled back
        // with it), so concurrent registrations on every instance never exceed a cap.
        await gates.takeCaps(q, now);
        // Validated identifiers are spent here and bound below, in the registration's
        // transaction: an address bound meanwhile by another account fails the whole
        // registration cleanly.
        const ids = await threepids.consumeForOperation(q, session.completed, 'registration');
        const threepidList = ids.map((i) => ({ medium: i.medium, address: i.address }));
        const userId = await insertAccount(q, {
          localpart: planned, regenerate: localpart === undefined ? 'user' : undefined, passwordHash, isGuest: false, token, approved: !requiresApproval,
          registration: { ip: input.ip, userAgent: input.userAgent?.slice(0, 512) ?? null, registrationToken: token ?? null, threepids: threepidList, createdAt: now },
        });
        // A generated name collided and was drawn again (rare): record the one used.
        if (userId !== plannedUserId) await recordUiaResult(q, session.session_id, { user_id: userId });
        trace.userId = userId;
        await threepids.bindAll(q, userId, ids);
        // The policy versions presented when the terms stage completed (spec: track them).
        if (terms !== undefined) await recordPolicyAcceptances(q, userId, terms, now);
        if (token !== undefined && !(await completeTokenUse(q, { token, sessionId: session.session_id, now }))) {
          throw new TokenLapsed();
        }
        if (requiresApproval) {
          // Queued with the account, so the operator's notification is never lost.
          if (webhook) {
            await enqueueWebhook(q, PENDING_APPROVAL_EVENT, {
              user_id: userId, ip: input.ip, user_agent: input.userAgent ?? null, registration_token: token ?? null,
              threepids: threepidList, creation_ts: now,
            }, now);
          }
          return undefined;
        }
        return { user_id: userId, home_server: config.serverName, ...(await loginUnlessInhibited(q, userId, input)) };
      });
      deps.metrics?.uiaSessionCompleted(session.operation);
      deps.metrics?.registration('user', flow.join(','));
      // MSC3866: the account exists but cannot be used until an admin approves it.
      if (body === undefined) {
        if (webhook) deps.onPendingQueued?.();
        throw new AwaitingApproval();
      }
      return { status: 200, body };
    } catch (err) {
      if (err instanceof TokenLapsed) {
        // The token can no longer admit this session: the stage must be done again.
        await unmarkStage(db, session.session_id, STAGE.registrationToken);
        const fresh = { ...session, completed: { ...session.completed } };
        delete fresh.completed[STAGE.registrationToken];
        return { status: 401, body: uia.challenge(fresh, flows, errors.invalidRegistrationToken()) };
      }
      throw err;
    }
  }

  /** The gates and the UIA rounds of a user registration (registerUser wraps it with the audit). */
  async function registerUserGated(input: RegisterUserInput, trace: AttemptTrace): Promise<RegisterResult> {
    if (!config.registration.enabled) throw errors.registrationDisabled();

    // The gates, cheapest first and all before any password hash: bans (address and client),
    // then the global caps, then the username and password rules.
    await gates.checkOrigin(input);
    await gates.checkCaps(clock.now());

    // Checks that need no session come first: the spec wants M_USER_IN_USE and
    // M_INVALID_USERNAME before any UIA stage.
    const localpart = input.username !== undefined ? await checkAvailable(input.username) : undefined;
    if (input.password !== undefined) {
      // The character rules here, on every round (cheap); guessability below, once per session.
      const problem = passwordProblem(input.password, { ...config.password, minStrength: 0 });
      if (problem) throw withRefusalReason(errors.weakPassword(problem), 'weak_password');
    }

    const password = input.password;
    const request = {
      operation: input.operation,
      flows,
      auth: input.auth,
      binding: (localpart !== undefined ? { username: localpart } : {}) as Record<string, string>,
      ip: input.ip,
      ...(password !== undefined
        ? {
            newPassword: {
              value: password,
              digestField: 'password_digest',
              // Guessability (zxcvbn, PASSWORD_MIN_STRENGTH), with the username and server name
              // counted as guessable words: once per session, just before its one hash (the
              // estimate runs on the event loop; later rounds carry the same password, as the
              // digest proves), and before the password is bound, so the client may try another.
              vet: () => {
                const weak = passwordStrengthProblem(password, config.password.minStrength ?? 0, [localpart ?? '', config.serverName].filter(Boolean));
                if (weak) throw withRefusalReason(errors.weakPassword(weak), 'weak_password');
              },
            },
          }
        : {}),
    };
    const session = await uia.open(request);
    trace.flow = Object.keys(session.completed);
    const outcome = await uia.authenticate(session, request);
    if (outcome.status === 'auth_required') return { status: 401, body: outcome.body };
    trace.flow = outcome.flow;
    return finish(outcome, input, trace);
  }

  return {
    flows,
    checkAvailable,

    async registerUser(input) {
      const trace: AttemptTrace = { username: input.username };
      const audit = { ip: input.ip, userAgent: input.userAgent, kind: 'user' as const };
      let result: RegisterResult;
      try {
        result = await registerUserGated(input, trace);
      } catch (err) {
        if (err instanceof AwaitingApproval) {
          await gates.audit({ ...audit, outcome: 'pending_approval', username: trace.username, userId: trace.userId, flow: trace.flow, registrationToken: trace.token });
          throw errors.userAwaitingApproval();
        }
        const e = err instanceof MatrixError ? err : undefined;
        await gates.audit({
          ...audit,
          outcome: 'refused',
          errcode: e?.errcode ?? 'M_UNKNOWN',
          reason: (e && refusalReason(e)) ?? (e ? e.message.slice(0, 200) : 'internal_error'),
          username: trace.username,
          flow: trace.flow,
          registrationToken: trace.token,
        });
        throw err;
      }
      // A 401 asks for more authentication: the attempt goes on, nothing to record yet.
      if (result.status === 200) {
        await gates.audit({ ...audit, outcome: 'registered', username: trace.username, userId: result.body.user_id, flow: trace.flow, registrationToken: trace.token });
      }
      return result;
    },

    appserviceByToken(token) {
      // Every service is compared, so the time taken does not tell which one (if any) matched.
      let found: AppService | undefined;
      for (const s of appservices) if (safeEqual(token, s.asToken) && !found) found = s;
      return found;
    },

    async registerDirect(input) {
      const asService = input.kind === 'appservice' ? input.appservice : undefined;
      if (input.kind === 'appservice' && !asService) throw errors.unknownToken();
      // Administrators and services may take reserved names (Synapse's check_username does not
      // know them); only services may use a leading "_", which bridges' namespaces rely on.
      const check = checkUsername(input.username, {
        serverName: config.serverName,
        reserved: [],
        allowLeadingUnderscore: asService !== undefined,
      });
      if (!check.ok) throw errors.invalidUsername(check.message);
      if (asService && !isInterestedInUser(asService, check.userId, config.serverName)) {
        throw errors.exclusive('Invalid user localpart for this application service.');
      }
      if (exclusiveOwners(appservices, check.userId, asService).length > 0) throw errors.exclusive();
      if (asService && !input.inhibitLogin) throw errors.appserviceLoginUnsupported();
      if (await localpartExists(db, check.localpart)) throw errors.userInUse();

      // Hashed before the transaction: never hold one across slow work.
      const passwordHash = input.password !== undefined ? await hasher.hash(input.password) : null;
      const body = await db.tx(async (q) => {
        const userId = await insertAccount(q, {
          localpart: check.localpart,
          passwordHash,
          isGuest: false,
          admin: input.admin ?? false,
          userType: input.userType,
          displayname: input.displayname,
          appserviceId: asService?.id,
        });
        return { user_id: userId, home_server: config.serverName, ...(await loginUnlessInhibited(q, userId, input)) };
      });
      deps.metrics?.registration(input.kind, input.kind === 'appservice' ? 'm.login.application_service' : 'shared_secret');
      return body;
    },

    async registerGuest(input) {
      if (!config.registration.allowGuests) throw errors.guestAccessDisabled();
      const audit = { ip: input.ip, userAgent: input.userAgent, kind: 'guest' as const };
      try {
        await gates.checkOrigin(input);
        await gates.checkCaps(clock.now());
        const body = await db.tx(async (q) => {
          await gates.takeCaps(q, clock.now());
          const userId = await insertAccount(q, { localpart: generateLocalpart('guest'), regenerate: 'guest', passwordHash: null, isGuest: true });
          const login = await logins.issue(q, { userId, displayName: input.initialDeviceDisplayName, refresh: false });
          return { user_id: userId, home_server: config.serverName, ...login };
        });
        deps.metrics?.registration('guest', 'none');
        await gates.audit({ ...audit, outcome: 'registered', userId: body.user_id });
        return body;
      } catch (err) {
        const e = err instanceof MatrixError ? err : undefined;
        await gates.audit({ ...audit, outcome: 'refused', errcode: e?.errcode ?? 'M_UNKNOWN', reason: (e && refusalReason(e)) ?? 'internal_error' });
        throw err;
      }
    },
  };
}
