// Registration bans managed through the admin API; the configured ones are listed alongside.
import type { Config } from '../config.js';
import { canonicalCidr, validUserAgentPattern } from '../domain/registration-bans.js';
import { errors } from '../errors.js';
import type { Clock } from '../lib/clock.js';
import type { Db } from '../store/db.js';
import { deleteBan, insertBan, listBans, type BanKind, type BanRow } from '../store/registration-bans.js';

export interface RegistrationBanService {
  list(): Promise<{ bans: BanRow[]; configured: { ips: string[]; user_agents: string[] } }>;
  add(b: { kind: BanKind; value: string; reason: string | null }): Promise<{ ban: BanRow; created: boolean }>;
  remove(id: number): Promise<void>;
}

export function createRegistrationBanService(deps: {
  config: Pick<Config, 'abuse'>;
  db: Db;
  clock: Clock;
  /** Called after a ban was added or removed (the gates drop their copy of the list). */
  onChange?: () => void;
}): RegistrationBanService {
  const { config, db, clock } = deps;
  return {
    async list() {
      return {
        bans: await listBans(db),
        configured: { ips: [...config.abuse.bannedIps], user_agents: [...config.abuse.bannedUserAgents] },
      };
    },
    async add(b) {
      let value = b.value.trim();
      if (b.kind === 'ip') {
        const cidr = canonicalCidr(value);
        if (!cidr) throw errors.invalidParam(`value: "${b.value}" is not an IP address or CIDR range`);
        value = cidr;
      } else if (!validUserAgentPattern(value)) {
        throw errors.invalidParam('value: a user-agent pattern is 1-256 printable characters; * matches any run of characters');
      }
      const { row, created } = await insertBan(db, { kind: b.kind, value, reason: b.reason, now: clock.now() });
      deps.onChange?.();
      return { ban: row, created };
    },
    async remove(id) {
      const deleted = await deleteBan(db, id);
      deps.onChange?.();
      if (!deleted) throw errors.notFound('No such ban.');
    },
  };
}
