// Readiness: the database answers and every migration shipped with this build is applied. The
// load balancer sends traffic only to ready instances; a draining instance (shutting down)
// reports not ready so it is taken out of rotation while it finishes its requests.
import type { Db } from '../store/db.js';
import { appliedMigrations, expectedMigrations } from '../store/migrate.js';

export interface Readiness {
  check(): Promise<{ ready: true } | { ready: false; reason: string }>;
  drain(): void;
}

export function createReadiness(deps: { db: Db }): Readiness {
  let draining = false;
  let expected: Promise<string[]> | undefined;
  return {
    drain: () => void (draining = true),
    async check() {
      if (draining) return { ready: false, reason: 'shutting down' };
      expected ??= expectedMigrations();
      let applied: string[];
      try {
        applied = await appliedMigrations(deps.db);
      } catch {
        return { ready: false, reason: 'database unavailable' };
      }
      const missing = (await expected).filter((m) => !applied.includes(m));
      if (missing.length > 0) return { ready: false, reason: `migrations not applied: ${missing.join(', ')}` };
      return { ready: true };
    },
  };
}
