// Registration tokens: the validity check clients use, and the Synapse-compatible admin API
// (same fields, defaults and errors as Synapse's /_synapse/admin/v1/registration_tokens).
import { isTokenValid, TOKEN_ALPHABET, TOKEN_GRAMMAR } from '../domain/registration-token.js';
import { errors } from '../errors.js';
import type { Clock, Random } from '../lib/clock.js';
import type { Db } from '../store/db.js';
import {
  deleteRegistrationToken,
  getRegistrationToken,
  insertRegistrationToken,
  listRegistrationTokens,
  releaseLapsedHolds,
  updateRegistrationToken,
  type RegistrationTokenRow,
} from '../store/registration-tokens.js';

export interface RegistrationTokenView {
  token: string;
  uses_allowed: number | null;
  pending: number;
  completed: number;
  expiry_time: number | null;
}

export interface NewTokenRequest {
  token?: string;
  length?: number;
  uses_allowed?: number | null;
  expiry_time?: number | null;
}

export interface RegistrationTokenService {
  /** The validity check: false for unknown, expired and used-up tokens. */
  isValid(token: string): Promise<boolean>;
  list(valid?: boolean): Promise<RegistrationTokenView[]>;
  get(token: string): Promise<RegistrationTokenView>;
  create(req: NewTokenRequest): Promise<RegistrationTokenView>;
  update(token: string, changes: { uses_allowed?: number | null; expiry_time?: number | null }): Promise<RegistrationTokenView>;
  remove(token: string): Promise<void>;
}

const view = (r: RegistrationTokenRow): RegistrationTokenView => ({
  token: r.token,
  uses_allowed: r.uses_allowed,
  pending: r.pending,
  completed: r.completed,
  expiry_time: r.expiry_time,
});

const MAX_GENERATION_ATTEMPTS = 10;

export function createRegistrationTokenService(deps: { db: Db; clock: Clock; random: Random }): RegistrationTokenService {
  const { db, clock, random } = deps;

  const notFound = (token: string) => errors.notFound(`No such registration token: ${token}`);

  function checkUses(v: unknown): number | null {
    if (v === null) return null;
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0 || v > 2_147_483_647) {
      throw errors.invalidParam('uses_allowed must be a non-negative integer or null');
    }
    return v;
  }

  function checkExpiry(v: unknown, now: number): number | null {
    if (v === null) return null;
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) {
      throw errors.invalidParam('expiry_time must be an integer (milliseconds since the epoch) or null');
    }
    if (v < now) throw errors.invalidParam('expiry_time must not be in the past');
    return v;
  }

  return {
    async isValid(token) {
      if (!TOKEN_GRAMMAR.test(token)) return false;
      const now = clock.now();
      await releaseLapsedHolds(db, now, token);
      const row = await getRegistrationToken(db, token);
      return row !== undefined &&
        isTokenValid({ usesAllowed: row.uses_allowed, pending: row.pending, completed: row.completed, expiryTime: row.expiry_time }, now);
    },

    async list(valid) {
      const now = clock.now();
      await releaseLapsedHolds(db, now);
      return (await listRegistrationTokens(db, { valid, now })).map(view);
    },

    async get(token) {
      // A string outside the token grammar names no token (and may hold bytes, such as NUL,
      // that Postgres text cannot carry): answer without asking the database.
      if (!TOKEN_GRAMMAR.test(token)) throw notFound(token);
      await releaseLapsedHolds(db, clock.now(), token);
      const row = await getRegistrationToken(db, token);
      if (!row) throw notFound(token);
      return view(row);
    },

    async create(req) {
      const now = clock.now();
      const usesAllowed = req.uses_allowed === undefined ? null : checkUses(req.uses_allowed);
      const expiryTime = req.expiry_time === undefined ? null : checkExpiry(req.expiry_time, now);
      if (req.token !== undefined) {
        if (typeof req.token !== 'string' || !TOKEN_GRAMMAR.test(req.token)) {
          throw errors.invalidParam('token must consist only of A-Z, a-z, 0-9, ".", "_", "~" and "-", and be at most 64 characters');
        }
        // As in Synapse, `length` only applies when no token is given.
        const row = await insertRegistrationToken(db, { token: req.token, usesAllowed, expiryTime, now });
        if (!row) throw errors.invalidParam(`Token already exists: ${req.token}`);
        return view(row);
      }
      // Only an absent length takes the default: null is not an integer (as in Synapse).
      const length = req.length === undefined ? 16 : req.length;
      if (typeof length !== 'number' || !Number.isInteger(length) || length < 1 || length > 64) {
        throw errors.invalidParam('length must be an integer from 1 to 64');
      }
      for (let i = 0; i < MAX_GENERATION_ATTEMPTS; i++) {
        const row = await insertRegistrationToken(db, { token: random.string(length, TOKEN_ALPHABET), usesAllowed, expiryTime, now });
        if (row) return view(row);
      }
      throw errors.invalidParam('Could not generate an unused token of that length; use a longer one');
    },

    async update(token, changes) {
      const now = clock.now();
      const patch: { usesAllowed?: number | null; expiryTime?: number | null } = {};
      if ('uses_allowed' in changes) patch.usesAllowed = checkUses(changes.uses_allowed);
      if ('expiry_time' in changes) patch.expiryTime = checkExpiry(changes.expiry_time, now);
      if (!TOKEN_GRAMMAR.test(token)) throw notFound(token);
      await releaseLapsedHolds(db, now, token);
      const row = await updateRegistrationToken(db, token, patch);
      if (!row) throw notFound(token);
      return view(row);
    },

    async remove(token) {
      if (!TOKEN_GRAMMAR.test(token)) throw notFound(token);
      if (!(await deleteRegistrationToken(db, token))) throw notFound(token);
    },
  };
}
