// buildApp wires services to routes and returns a Fastify instance without listening, so tests
// and main.ts build the same thing. Every dependency that varies (database, clock, randomness)
// comes in through deps.
import Fastify, { type FastifyInstance } from 'fastify';
import type { Redis } from 'ioredis';
import type { Config } from './config.js';
import { registerBodyParser } from './http/body.js';
import { registerCors } from './http/cors.js';
import { clientErrorHandler, frameworkErrors, registerErrorHandling, registerExpectationHandler } from './http/errors.js';
import { registerRateLimit } from './http/rate-limit.js';
import { OneLinePerRequest } from './http/request-log.js';
import { createAdminGuard } from './http/admin-auth.js';
import { adminRegistrationTokenRoutes } from './http/routes/admin-registration-tokens.js';
import { registerAvailableRoute } from './http/routes/register-available.js';
import { registerRoute } from './http/routes/register.js';
import { registrationTokenValidityRoute } from './http/routes/registration-token-validity.js';
import { threepidRequestTokenRoutes } from './http/routes/threepid-request-token.js';
import { threepidSubmitTokenRoute } from './http/routes/threepid-submit-token.js';
import { threepidValidatePage } from './http/routes/threepid-validate-page.js';
import { createDelivery } from './lib/delivery.js';
import { createOutboxWorker, type OutboxWorker } from './services/outbox.js';
import { createThreepidService } from './services/threepid.js';
import { createThreepidStage } from './uia/stages/threepid.js';
import { accountDeactivateRoute } from './http/routes/account-deactivate.js';
import { accountPasswordRoute } from './http/routes/account-password.js';
import { introspectionRoute } from './http/routes/introspect.js';
import { loginRoutes } from './http/routes/login.js';
import { logoutRoutes } from './http/routes/logout.js';
import { refreshRoute } from './http/routes/refresh.js';
import { whoamiRoute } from './http/routes/whoami.js';
import { changePassword, createAccountService } from './services/account.js';
import { createPasswordResetService } from './services/password-reset.js';
import { createAuthenticationService } from './services/authentication.js';
import { healthRoutes } from './http/routes/health.js';
import { sharedSecretRegisterRoutes } from './http/routes/shared-secret-register.js';
import { metricsRoute, registerMetricsHooks } from './http/metrics.js';
import type { AppService } from './domain/appservices.js';
import { loadAppServices } from './lib/appservice-config.js';
import { cryptoRandom, systemClock, type Clock, type Random } from './lib/clock.js';
import { createMetrics, type Metrics } from './lib/metrics.js';
import { createPasswordHasher, type PasswordHasher } from './lib/secrets.js';
import { createReadiness, type Readiness } from './services/readiness.js';
import { createSharedSecretRegistration } from './services/shared-secret-registration.js';
import { createLoginIssuer } from './services/logins.js';
import { createMaintenance } from './services/maintenance.js';
import { createRegistrationTokenService } from './services/registration-tokens.js';
import { createRegistrationService } from './services/registration.js';
import { createRegistrationGates } from './services/registration-gates.js';
import { estimateStrength } from './domain/password-strength.js';
import { createRegistrationBanService } from './services/registration-bans.js';
import { createRegistrationAuditService } from './services/registration-audit.js';
import { createAccountApprovalService } from './services/account-approval.js';
import { createWebhookWorker, type WebhookWorker } from './services/webhooks.js';
import { adminUserRoutes } from './http/routes/admin-users.js';
import { adminRegistrationBanRoutes } from './http/routes/admin-registration-bans.js';
import { adminRegistrationAttemptRoutes } from './http/routes/admin-registration-attempts.js';
import type { Db } from './store/db.js';
import { createUiaEngine } from './uia/engine.js';
import { dummyStage } from './uia/stages/dummy.js';
import { createRegistrationTokenStage } from './uia/stages/registration-token.js';
import { createDummyHash, createPasswordStage, createPasswordVerifier } from './uia/stages/password.js';
import { createRecaptchaStage } from './uia/stages/recaptcha.js';
import { createTermsStage } from './uia/stages/terms.js';
import { authFallbackRoutes } from './http/routes/auth-fallback.js';
import { createFallbackService } from './services/fallback.js';

declare module 'fastify' {
  interface FastifyInstance {
    /** The webhook worker (REGISTRATION_APPROVAL_WEBHOOK_URL), when configured. */
    webhooks: WebhookWorker | undefined;
    /** The anti-abuse gates, for services built outside buildApp (e.g. the 3PID requestToken hook). */
    registrationGates: import('./services/registration-gates.js').RegistrationGates;
    maintenance: import('./services/maintenance.js').Maintenance;
  }
}

export interface AppDeps {
  config: Readonly<Config>;
  db: Db;
  clock?: Clock;
  random?: Random;
  hasher?: PasswordHasher;
  /** A pino logger options object or false (tests). */
  logger?: boolean | Record<string, unknown>;
  /** How often the clean-up job runs; 0 disables it (tests drive it by hand). */
  maintenanceIntervalMs?: number;
  /** How often the webhook worker polls its outbox; 0 disables the timer (tests drive it by hand). */
  webhookIntervalMs?: number;
  /** Options for the webhook worker (tests shorten retries). */
  webhookOptions?: { retryBaseMs?: number; maxAttempts?: number; timeoutMs?: number };
  /**
   * How often the outbox worker looks for due messages; 0 disables the worker (tests then drive
   * it by hand with app.outbox.runOnce()). Defaults to OUTBOX_POLL_INTERVAL.
   */
  outboxIntervalMs?: number;
  /** Prometheus metrics; a fresh registry when omitted. */
  metrics?: Metrics;
  /** Application services; read from APPSERVICE_CONFIG_FILES when omitted. */
  appservices?: AppService[];
}

declare module 'fastify' {
  interface FastifyInstance {
    outbox: OutboxWorker;
    metrics: Metrics;
    readiness: Readiness;
  }
}

/**
 * pino options: JSON lines with the request id (Fastify adds reqId to every request's lines).
 * Secrets stay out of the request lines by construction: the req and res serializers emit only
 * the fields listed here, never headers (Authorization, Cookie, Set-Cookie) or bodies, and query
 * strings can carry secrets (the token validity check), so logged URLs are paths only. A top-level
 * `body` field is censored in case a body is ever logged directly.
 * (Path redaction of req.headers.* and res.headers.*, as this had before, could never match after
 * these serializers, and pino's redaction of nested paths cost ~1.3 µs of every request's line.)
 */
export function loggerOptions(level: string): Record<string, unknown> {
  return {
    level,
    redact: ['body'],
    serializers: {
      req: (req: { method: string; url: string; ip?: string }) => ({
        method: req.method,
        url: req.url.split('?')[0],
        remoteAddress: req.ip,
      }),
      res: (reply: { statusCode: number }) => ({ statusCode: reply.statusCode }),
    },
  };
}

export async function buildApp(deps: AppDeps): Promise<FastifyInstance> {
  const { config, db } = deps;
  const clock = deps.clock ?? systemClock;
  const random = deps.random ?? cryptoRandom;
  const metrics = deps.metrics ?? createMetrics();
  metrics.observePool(db.pool);
  const hasher = deps.hasher ?? createPasswordHasher(config.argon2, (ms) => metrics.passwordHash(ms));
  const appservices = deps.appservices ?? loadAppServices(config.appserviceConfigFiles);

  // Shared rate-limit counters: connected before serving, so a wrong REDIS_URL stops start-up
  // instead of silently counting per instance.
  let redis: Redis | undefined;
  // Connection errors are reported through the app's logger once it exists (below).
  let onRedisError: (err: Error) => void = () => {};
  if (config.redis) {
    // Loaded only when configured (~1 MB of heap that a single instance does not need).
    const { Redis } = await import('ioredis');
    redis = new Redis(config.redis.url, {
      lazyConnect: true,
      enableOfflineQueue: false,
      maxRetriesPerRequest: 1,
      connectTimeout: 3000,
    });
    redis.on('error', (err: Error) => onRedisError(err));
    try {
      await redis.connect();
    } catch (err) {
      redis.disconnect();
      throw new Error(`REDIS_URL: cannot connect: ${(err as Error).message}`);
    }
  }

  const app = Fastify({
    logger: deps.logger === undefined ? loggerOptions(config.logLevel) : deps.logger,
    logController: new OneLinePerRequest(),
    trustProxy: config.trustProxy.length > 0 ? config.trustProxy : false,
    bodyLimit: config.bodyLimitBytes,
    // Query strings and URLs from hostile clients: bounded, and never a 500.
    routerOptions: { maxParamLength: 512, ignoreTrailingSlash: true },
    requestIdHeader: false,
    // Malformed URLs and HTTP get Matrix errors too (http/errors.ts).
    frameworkErrors,
    clientErrorHandler,
    genReqId: () => random.string(16, 'abcdefghijklmnopqrstuvwxyz0123456789'),
  });

  registerErrorHandling(app);
  registerExpectationHandler(app);
  registerBodyParser(app, config.bodyLimitBytes);
  registerCors(app);
  registerMetricsHooks(app, metrics);
  if (redis) {
    let lastWarned = 0;
    onRedisError = (err: Error) => {
      // Rate-limit checks fail open while Redis is away; say so at most once a minute.
      if (clock.now() - lastWarned > 60_000) {
        lastWarned = clock.now();
        app.log.warn({ err: { message: err.message } }, 'redis unavailable: rate limits are not enforced until it returns');
      }
    };
    const r = redis;
    app.addHook('onClose', async () => {
      await r.quit().catch(() => r.disconnect());
    });
  }
  await registerRateLimit(app, redis && config.redis ? { redis, nameSpace: config.redis.keyPrefix } : undefined);

  const delivery = createDelivery({ email: config.email, sms: config.sms, timeoutMs: config.outbox.sendTimeoutMs });
  const outbox = createOutboxWorker({
    db,
    clock,
    delivery,
    log: app.log,
    maxAttempts: config.outbox.maxAttempts,
    retryBaseMs: config.outbox.retryBaseMs,
    retryMaxMs: config.outbox.retryMaxMs,
    leaseMs: config.outbox.leaseMs,
  });
  const gates = createRegistrationGates({ config, db, clock, log: app.log });
  const threepids = createThreepidService({ config, db, clock, random, onQueued: () => outbox.kick(), gates });

  const logins = createLoginIssuer({ clock, random, accessTokenLifetimeMs: config.accessTokenLifetimeMs });
  // Computed once at start-up with the configured argon2id parameters: unknown users' logins are
  // verified against it, so they cost the same one hash as known ones. (Its own hasher, so the
  // start-up hash is not counted as a request's hash.)
  const dummyHash = await createDummyHash(createPasswordHasher(config.argon2), random.bytes(32).toString('base64url'));
  const verifier = createPasswordVerifier({
    db,
    hasher,
    dummyHash,
    budgets: {
      perAccount: config.rateLimits.loginFailuresPerAccount,
      perIp: config.rateLimits.loginFailuresPerIp,
      windowMs: config.rateLimits.loginFailuresWindowMs,
    },
  });
  const uia = createUiaEngine({
    db,
    clock,
    random,
    hasher,
    sessionLifetimeMs: config.registration.uiaSessionLifetimeMs,
    onSessionStarted: (op) => metrics.uiaSessionStarted(op),
    stages: [
      dummyStage,
      createPasswordStage({ verifier, serverName: config.serverName }),
      createRegistrationTokenStage({
        db,
        holdMs: config.registration.tokenHoldMs,
        failureBudget: { max: config.rateLimits.tokenFailures, windowMs: config.rateLimits.tokenFailuresWindowMs },
      }),
      createThreepidStage({ db, medium: 'email' }),
      createThreepidStage({ db, medium: 'msisdn' }),
      ...(config.captcha ? [createRecaptchaStage(config.captcha)] : []),
      ...(Object.keys(config.termsPolicies).length > 0 ? [createTermsStage(config.termsPolicies)] : []),
    ],
  });
  // zxcvbn builds its dictionaries on first use (~0.1-0.4 s): do it at start-up, not in a request.
  if ((config.password.minStrength ?? 0) > 0) estimateStrength('');
  const webhooks: WebhookWorker | undefined = config.abuse.approvalWebhookUrl
    ? createWebhookWorker({ db, clock, url: config.abuse.approvalWebhookUrl, log: app.log, ...deps.webhookOptions })
    : undefined;
  const registration = createRegistrationService({
    config, db, clock, random, hasher, uia, logins, threepids, appservices, metrics, gates,
    onPendingQueued: () => webhooks?.kick(),
  });
  const tokens = createRegistrationTokenService({ db, clock, random });
  const auth = createAuthenticationService({ config, db, clock, logins, verifier });
  const account = createAccountService({ config, db, clock, uia });
  // A reset without an access token performs the same change as the account service.
  const reset = createPasswordResetService({
    config,
    db,
    clock,
    uia,
    threepids,
    applyPasswordChange: (q, c) => changePassword(q, c),
  });

  registerRoute(app, { registration, limits: config.rateLimits });
  registerAvailableRoute(app, {
    registration,
    registrationEnabled: config.registration.enabled,
    perMinute: config.rateLimits.availablePerMinute,
  });
  registrationTokenValidityRoute(app, {
    tokens,
    registrationEnabled: config.registration.enabled,
    perSecond: config.rateLimits.tokenValidityPerSecond,
    burst: config.rateLimits.tokenValidityBurst,
  });
  const threepidLimits = { threepids, perMinute: config.threepid.requestsPerMinute };
  threepidRequestTokenRoutes(app, threepidLimits);
  threepidSubmitTokenRoute(app, threepidLimits);
  threepidValidatePage(app, threepidLimits);
  authFallbackRoutes(app, {
    fallback: createFallbackService({ db, random, uia, flowsByOperation: { 'POST /register': registration.flows } }),
    random,
    publicBaseUrl: config.publicBaseUrl,
    frameAncestors: config.fallbackFrameAncestors,
    perMinute: config.rateLimits.fallbackPerMinute,
  });
  const requireAdmin = createAdminGuard(config.adminToken);
  adminRegistrationTokenRoutes(app, { tokens, requireAdmin });
  adminUserRoutes(app, { approvals: createAccountApprovalService({ db, clock }), requireAdmin });
  adminRegistrationBanRoutes(app, { bans: createRegistrationBanService({ config, db, clock, onChange: () => gates.bansChanged() }), requireAdmin });
  adminRegistrationAttemptRoutes(app, { audit: createRegistrationAuditService({ db }), requireAdmin });
  loginRoutes(app, { auth, requestsPerMinute: config.rateLimits.loginRequestsPerMinute });
  logoutRoutes(app, { auth });
  refreshRoute(app, { auth });
  whoamiRoute(app, { auth });
  accountPasswordRoute(app, { auth, account, reset });
  accountDeactivateRoute(app, { auth, account });
  introspectionRoute(app, { auth, secret: config.introspectionSecret });
  sharedSecretRegisterRoutes(app, {
    sharedSecret: createSharedSecretRegistration({
      db,
      clock,
      random,
      secret: config.sharedSecret.secret,
      nonceLifetimeMs: config.sharedSecret.nonceLifetimeMs,
      registration,
    }),
    perMinute: config.rateLimits.sharedSecretPerMinute,
  });
  const readiness = createReadiness({ db });
  healthRoutes(app, { readiness });
  if (config.metrics.token !== undefined) metricsRoute(app, { metrics, token: config.metrics.token });
  app.decorate('metrics', metrics);
  app.decorate('readiness', readiness);

  const maintenance = createMaintenance({
    db, clock, auditRetentionMs: config.abuse.auditRetentionMs,
  });
  const interval = deps.maintenanceIntervalMs ?? 60_000;
  if (interval > 0) {
    app.addHook('onReady', async () => maintenance.start(interval, (err) => app.log.warn({ err }, 'maintenance failed')));
    app.addHook('onClose', async () => maintenance.stop());
  }
  app.decorate('maintenance', maintenance);
  if (webhooks) {
    const webhookInterval = deps.webhookIntervalMs ?? 5000;
    if (webhookInterval > 0) {
      app.addHook('onReady', async () => webhooks.start(webhookInterval));
    }
    app.addHook('onClose', async () => webhooks.stop());
  }
  app.decorate('webhooks', webhooks);
  app.decorate('registrationGates', gates);

  const outboxInterval = deps.outboxIntervalMs ?? config.outbox.pollIntervalMs;
  if (outboxInterval > 0) app.addHook('onReady', async () => outbox.start(outboxInterval));
  app.addHook('onClose', async () => {
    await outbox.stop();
    delivery.close();
  });
  app.decorate('outbox', outbox);
  return app;
}
