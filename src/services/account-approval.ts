// Account approval (MSC3866) and the Synapse-shaped admin user API around it:
// GET/PUT /_synapse/admin/v2/users/<user_id> (its `approved` and `deactivated` fields) and
// GET /_synapse/admin/v2/users (with ?approved=false: the pending queue). Rejecting a pending
// account is deactivating it (PUT {"deactivated": true}), as in Synapse.
import { errors } from '../errors.js';
import type { Clock } from '../lib/clock.js';
import type { Db } from '../store/db.js';
import { findAdminUser, listAdminUsers, setApproved, type AdminUserRow } from '../store/account-approval.js';
import { deactivateAccount } from './account.js';

/** A user as Synapse's admin API shows one, with the registration details of this service. */
export interface AdminUser {
  name: string;
  is_guest: boolean;
  admin: boolean;
  deactivated: boolean;
  erased: boolean;
  approved: boolean;
  creation_ts: number;
  threepids: { medium: string; address: string }[];
  registration_token: string | null;
  registration_ip: string | null;
  registration_user_agent: string | null;
}

export function toAdminUser(r: AdminUserRow): AdminUser {
  return {
    name: r.user_id,
    is_guest: r.is_guest,
    admin: r.admin,
    deactivated: r.deactivated_at !== null,
    erased: r.erased,
    approved: r.approved,
    creation_ts: r.created_at,
    threepids: r.threepids ?? [],
    registration_token: r.registration_token,
    registration_ip: r.registration_ip,
    registration_user_agent: r.registration_user_agent,
  };
}

export interface AccountApprovalService {
  get(userId: string): Promise<AdminUser>;
  list(f: { approved?: boolean; deactivated: boolean; from: number; limit: number }): Promise<{
    users: AdminUser[];
    total: number;
    next_token?: string;
  }>;
  /** Applies `approved` and/or `deactivated`; returns the user as it now is. */
  update(userId: string, changes: { approved?: boolean; deactivated?: boolean }): Promise<AdminUser>;
}

export function createAccountApprovalService(deps: { db: Db; clock: Clock }): AccountApprovalService {
  const { db, clock } = deps;
  const get = async (userId: string) => {
    const row = await findAdminUser(db, userId);
    if (!row) throw errors.notFound('User not found.');
    return toAdminUser(row);
  };
  return {
    get,
    async list(f) {
      const { rows, total } = await listAdminUsers(db, f);
      const next = f.from + rows.length;
      return { users: rows.map(toAdminUser), total, ...(next < total ? { next_token: String(next) } : {}) };
    },
    async update(userId, changes) {
      await db.tx(async (q) => {
        const row = await findAdminUser(q, userId);
        if (!row) throw errors.notFound('User not found.');
        const deactivated = row.deactivated_at !== null;
        if (changes.deactivated === false && deactivated) {
          throw errors.invalidParam('deactivated: reactivating an account is not supported here');
        }
        if (changes.approved !== undefined) await setApproved(q, userId, changes.approved);
        // The same deactivation as POST /account/deactivate: no password, no devices or tokens.
        if (changes.deactivated === true && !deactivated) await deactivateAccount(q, { userId, erase: false, now: clock.now() });
      });
      return get(userId);
    },
  };
}
