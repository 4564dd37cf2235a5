// Builds the real app (buildApp) on a test database, with a configuration made from environment
// variables exactly as production parses them, and a clock the test controls.
import type { FastifyInstance } from 'fastify';
import { buildApp, type AppDeps } from '../../src/app.js';
import { loadConfig, type Config } from '../../src/config.js';
import { FixedClock } from '../../src/lib/clock.js';
import type { PasswordHasher } from '../../src/lib/secrets.js';
import type { Db } from '../../src/store/db.js';
import type { TestDatabase } from './databases.js';

export const ADMIN_TOKEN = 'test-admin-token-0123456789abcdef0123456789';

export const BASE_ENV: Record<string, string> = {
  SERVER_NAME: 'test.example',
  ENABLE_REGISTRATION: 'true',
  ENABLE_REGISTRATION_WITHOUT_VERIFICATION: 'true',
  ADMIN_TOKEN,
  LOG_LEVEL: 'silent',
  PASSWORD_MIN_LENGTH: '8',
};

export interface TestApp {
  app: FastifyInstance;
  config: Readonly<Config>;
  clock: FixedClock;
  db: Db;
  close(): Promise<void>;
}

export async function startApp(
  database: TestDatabase,
  env: Record<string, string> = {},
  opts: { clock?: FixedClock; logger?: boolean | Record<string, unknown>; hasher?: PasswordHasher; outboxIntervalMs?: number; deps?: Partial<AppDeps> } = {},
): Promise<TestApp> {
  const config = loadConfig({ ...BASE_ENV, ...env });
  const clock = opts.clock ?? new FixedClock(Date.now());
  const db = database.connect(config.databasePoolSize);
  const app = await buildApp({
    config,
    db,
    clock,
    logger: opts.logger ?? false,
    maintenanceIntervalMs: 0,
    hasher: opts.hasher,
    // The outbox worker is driven by hand (app.outbox.runOnce()) unless a test starts it.
    outboxIntervalMs: opts.outboxIntervalMs ?? 0,
    ...opts.deps,
  });
  await app.ready();
  return {
    app,
    config,
    clock,
    db,
    async close() {
      await app.close();
    },
  };
}

/** A unique, valid localpart per call, so tests in one file never collide. */
let counter = 0;
export function uniqueName(prefix = 'user'): string {
  counter += 1;
  return `${prefix}${process.pid}x${counter}x${Math.floor(Math.random() * 1e6)}`;
}
