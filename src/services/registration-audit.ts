// The registration audit log, as the admin API lists it.
import type { Db } from '../store/db.js';
import { listAttempts, type AttemptFilter, type RegistrationAttemptRow } from '../store/registration-attempts.js';

export interface RegistrationAuditService {
  list(f: AttemptFilter): Promise<{ attempts: RegistrationAttemptRow[]; next_token?: string }>;
}

export function createRegistrationAuditService(deps: { db: Db }): RegistrationAuditService {
  return {
    async list(f) {
      const rows = await listAttempts(deps.db, f);
      const last = rows[rows.length - 1];
      return { attempts: rows, ...(rows.length === f.limit && last ? { next_token: String(last.id) } : {}) };
    },
  };
}
