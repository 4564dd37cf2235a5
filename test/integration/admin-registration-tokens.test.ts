// The Synapse-compatible admin API for registration tokens (/_synapse/admin/v1/registration_tokens):
// fields, defaults and errors as Synapse documents them, and its authorisation. The spec files do
// not cover this API, so errors are checked with the standard error schema and successes with
// explicit shape checks.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_TOKEN, startApp, type TestApp } from '../helpers/app.js';
import { DATABASE_KINDS, openTestDatabase, type TestDatabase } from '../helpers/databases.js';
import { expectMatrixError } from '../helpers/spec.js';

const BASE = '/_synapse/admin/v1/registration_tokens';
const AUTH = { authorization: `Bearer ${ADMIN_TOKEN}` };

/** A registration token object exactly as Synapse returns it: these five fields and no others. */
function expectTokenObject(v: unknown): { token: string; uses_allowed: number | null; pending: number; completed: number; expiry_time: number | null } {
  expect(v).toBeTypeOf('object');
  const o = v as Record<string, unknown>;
  expect(Object.keys(o).sort()).toEqual(['completed', 'expiry_time', 'pending', 'token', 'uses_allowed']);
  expect(o.token).toBeTypeOf('string');
  expect(o.token).toMatch(/^[A-Za-z0-9._~-]{1,64}$/);
  expect(o.uses_allowed === null || Number.isInteger(o.uses_allowed)).toBe(true);
  expect(Number.isInteger(o.pending) && (o.pending as number) >= 0).toBe(true);
  expect(Number.isInteger(o.completed) && (o.completed as number) >= 0).toBe(true);
  expect(o.expiry_time === null || Number.isInteger(o.expiry_time)).toBe(true);
  return o as never;
}

function expectOk(res: { statusCode: number; body: string; headers: Record<string, unknown> }): any {
  expect(res.statusCode, res.body).toBe(200);
  expect(String(res.headers['content-type'])).toMatch(/^application\/json/);
  return JSON.parse(res.body);
}

let counter = 0;
const uniqueToken = (p = 'tok') => `${p}_${process.pid}_${++counter}_${Math.floor(Math.random() * 1e6)}`;

describe.each(DATABASE_KINDS)('admin API: registration tokens (%s)', (kind) => {
  let database: TestDatabase;
  let t: TestApp;

  beforeAll(async () => {
    database = await openTestDatabase(kind);
    t = await startApp(database, { REGISTRATION_REQUIRES_TOKEN: 'true', ENABLE_REGISTRATION_WITHOUT_VERIFICATION: 'false' });
  });
  afterAll(async () => {
    await t?.close();
    await database?.close();
  });

  const admin = (method: 'GET' | 'POST' | 'PUT' | 'DELETE', path: string, payload?: unknown, headers: Record<string, string> = AUTH) =>
    t.app.inject({ method, url: `${BASE}${path}`, headers, ...(payload !== undefined ? { payload: payload as object } : {}) });
  const create = async (body: Record<string, unknown>) => expectTokenObject(expectOk(await admin('POST', '/new', body)));

  describe('new', () => {
    it('with {} uses Synapse\'s defaults: a random 16-character token, unlimited, never expiring', async () => {
      const a = await create({});
      expect(a).toEqual({ token: a.token, uses_allowed: null, pending: 0, completed: 0, expiry_time: null });
      expect(a.token).toHaveLength(16);
      const b = await create({});
      expect(b.token).not.toBe(a.token);
    });

    it('with no body at all uses the defaults too', async () => {
      const res = await t.app.inject({ method: 'POST', url: `${BASE}/new`, headers: AUTH });
      const o = expectTokenObject(expectOk(res));
      expect(o.token).toHaveLength(16);
    });

    it('with a given token, uses_allowed and expiry_time', async () => {
      const token = uniqueToken('Given.~-');
      const expiry = t.clock.now() + 86_400_000;
      const o = await create({ token, uses_allowed: 3, expiry_time: expiry });
      expect(o).toEqual({ token, uses_allowed: 3, pending: 0, completed: 0, expiry_time: expiry });
      expect(expectTokenObject(expectOk(await admin('GET', `/${token}`)))).toEqual(o);
    });

    it('ignores length when a token is given, as Synapse does', async () => {
      const token = uniqueToken('withlength');
      expect((await create({ token, length: 8 })).token).toBe(token);
    });

    it('accepts uses_allowed 0 and null, and expiry_time null or exactly now', async () => {
      expect((await create({ uses_allowed: 0 })).uses_allowed).toBe(0);
      expect((await create({ uses_allowed: null })).uses_allowed).toBeNull();
      expect((await create({ expiry_time: null })).expiry_time).toBeNull();
      expect((await create({ expiry_time: t.clock.now() })).expiry_time).toBe(t.clock.now());
    });

    it('generates a token of the requested length, 1 to 64, from the token alphabet', async () => {
      for (const length of [1, 2, 17, 64]) {
        const o = await create({ length });
        expect(o.token).toHaveLength(length);
      }
      const o = await create({ length: 64, uses_allowed: 5 });
      expect(o.uses_allowed).toBe(5);
    });

    it('accepts a 64-character token and every character of the grammar', async () => {
      const token = `${'A-_.~z9'.repeat(9)}${uniqueToken('').slice(0, 1)}`.slice(0, 50) + String(Date.now()).slice(-8) + 'abcdef';
      expect(token).toHaveLength(64);
      expect((await create({ token })).token).toBe(token);
    });

    it.each([
      ['an empty token', { token: '' }],
      ['a token with a space', { token: 'a b' }],
      ['a token with a slash', { token: 'a/b' }],
      ['a token with "+"', { token: 'a+b' }],
      ['a token with non-ASCII', { token: 'tökén' }],
      ['a 65-character token', { token: 'x'.repeat(65) }],
      ['a non-string token', { token: 123 }],
      ['a negative uses_allowed', { uses_allowed: -1 }],
      ['a fractional uses_allowed', { uses_allowed: 1.5 }],
      ['a string uses_allowed', { uses_allowed: '3' }],
      ['a boolean uses_allowed', { uses_allowed: true }],
      ['an expiry_time in the past', { expiry_time: 1_000 }],
      ['a string expiry_time', { expiry_time: 'tomorrow' }],
      ['a fractional expiry_time', { expiry_time: 4_000_000_000_000.5 }],
      ['length 0', { length: 0 }],
      ['length 65', { length: 65 }],
      ['length -1', { length: -1 }],
      ['a fractional length', { length: 3.5 }],
      ['a string length', { length: '16' }],
      ['a null length', { length: null }],
    ])('refuses %s with 400 M_INVALID_PARAM', async (_what, body) => {
      const before = expectOk(await admin('GET', '')).registration_tokens.length;
      expectMatrixError(await admin('POST', '/new', body), 400, 'M_INVALID_PARAM');
      expect(expectOk(await admin('GET', '')).registration_tokens.length).toBe(before);
    });

    it('refuses an expiry_time one millisecond in the past', async () => {
      expectMatrixError(await admin('POST', '/new', { expiry_time: t.clock.now() - 1 }), 400, 'M_INVALID_PARAM');
    });

    it('refuses a token that already exists, leaving it unchanged', async () => {
      const token = uniqueToken();
      const first = await create({ token, uses_allowed: 1 });
      const res = await admin('POST', '/new', { token, uses_allowed: 5 });
      expect(expectMatrixError(res, 400, 'M_INVALID_PARAM').error).toMatch(/already exists/i);
      expect(expectOk(await admin('GET', `/${token}`))).toEqual(first);
    });

    it('refuses a body that is not a JSON object', async () => {
      const res = await t.app.inject({ method: 'POST', url: `${BASE}/new`, headers: AUTH, payload: '[1]' });
      expectMatrixError(res, 400, 'M_BAD_JSON');
      const bad = await t.app.inject({ method: 'POST', url: `${BASE}/new`, headers: AUTH, payload: '{"token":' });
      expectMatrixError(bad, 400, 'M_NOT_JSON');
    });
  });

  describe('get', () => {
    it('returns one token object', async () => {
      const o = await create({ token: uniqueToken(), uses_allowed: 2 });
      expect(expectTokenObject(expectOk(await admin('GET', `/${o.token}`)))).toEqual(o);
    });
    it('404 M_NOT_FOUND for an unknown token', async () => {
      expectMatrixError(await admin('GET', `/${uniqueToken('missing')}`), 404, 'M_NOT_FOUND');
    });
    it('is case-sensitive', async () => {
      const token = uniqueToken('CaseToken');
      await create({ token });
      expectMatrixError(await admin('GET', `/${token.toLowerCase()}`), 404, 'M_NOT_FOUND');
    });
  });

  describe('list', () => {
    it('lists every token, and filters with ?valid=true|false by expiry and remaining uses', async () => {
      const now = t.clock.now();
      const unlimited = await create({ token: uniqueToken('unlimited') });
      const usesLeft = await create({ token: uniqueToken('usesleft'), uses_allowed: 1 });
      const noUses = await create({ token: uniqueToken('nouses'), uses_allowed: 0 });
      const soon = await create({ token: uniqueToken('soon'), expiry_time: now + 60_000 });
      const later = await create({ token: uniqueToken('later'), expiry_time: now + 3_600_000 });

      const all = expectOk(await admin('GET', ''));
      expect(Object.keys(all)).toEqual(['registration_tokens']);
      expect(Array.isArray(all.registration_tokens)).toBe(true);
      all.registration_tokens.forEach(expectTokenObject);
      const names = (res: { registration_tokens: { token: string }[] }) => new Set(res.registration_tokens.map((x) => x.token));
      const mine = [unlimited, usesLeft, noUses, soon, later].map((x) => x.token);
      expect([...names(all)]).toEqual(expect.arrayContaining(mine));

      const inMine = (s: Set<string>) => mine.filter((x) => s.has(x)).sort();
      let valid = names(expectOk(await admin('GET', '?valid=true')));
      let invalid = names(expectOk(await admin('GET', '?valid=false')));
      expect(inMine(valid)).toEqual([unlimited, usesLeft, soon, later].map((x) => x.token).sort());
      expect(inMine(invalid)).toEqual([noUses.token]);

      // After "soon" expires (at exactly its expiry_time) it moves to the invalid list.
      t.clock.advance(60_000);
      valid = names(expectOk(await admin('GET', '?valid=true')));
      invalid = names(expectOk(await admin('GET', '?valid=false')));
      expect(inMine(valid)).toEqual([unlimited, usesLeft, later].map((x) => x.token).sort());
      expect(inMine(invalid)).toEqual([noUses, soon].map((x) => x.token).sort());
      // Every token is in exactly one of the two lists.
      for (const x of names(all)) expect(valid.has(x) !== invalid.has(x)).toBe(true);
    });

    it.each(['yes', 'TRUE', '1', ''])('?valid=%s is 400 M_INVALID_PARAM', async (v) => {
      expectMatrixError(await admin('GET', `?valid=${v}`), 400, 'M_INVALID_PARAM');
    });
  });

  describe('update', () => {
    it('changes uses_allowed and expiry_time; an omitted field is not modified', async () => {
      const token = uniqueToken();
      const expiry = t.clock.now() + 3_600_000;
      await create({ token, uses_allowed: 1, expiry_time: expiry });

      let o = expectTokenObject(expectOk(await admin('PUT', `/${token}`, { uses_allowed: 5 })));
      expect(o).toEqual({ token, uses_allowed: 5, pending: 0, completed: 0, expiry_time: expiry });

      const later = expiry + 1000;
      o = expectTokenObject(expectOk(await admin('PUT', `/${token}`, { expiry_time: later })));
      expect(o).toEqual({ token, uses_allowed: 5, pending: 0, completed: 0, expiry_time: later });

      o = expectTokenObject(expectOk(await admin('PUT', `/${token}`, { uses_allowed: null, expiry_time: null })));
      expect(o).toEqual({ token, uses_allowed: null, pending: 0, completed: 0, expiry_time: null });

      o = expectTokenObject(expectOk(await admin('PUT', `/${token}`, {})));
      expect(o).toEqual({ token, uses_allowed: null, pending: 0, completed: 0, expiry_time: null });

      expect(expectOk(await admin('GET', `/${token}`))).toEqual(o);
    });

    it('uses_allowed 0 makes a token invalid without deleting it', async () => {
      const token = uniqueToken();
      await create({ token });
      expectOk(await admin('PUT', `/${token}`, { uses_allowed: 0 }));
      const invalid = expectOk(await admin('GET', '?valid=false')).registration_tokens.map((x: { token: string }) => x.token);
      expect(invalid).toContain(token);
    });

    it.each([
      ['a negative uses_allowed', { uses_allowed: -1 }],
      ['a string uses_allowed', { uses_allowed: 'many' }],
      ['a fractional uses_allowed', { uses_allowed: 0.5 }],
      ['an expiry_time in the past', { expiry_time: 1 }],
      ['a string expiry_time', { expiry_time: 'soon' }],
    ])('refuses %s with 400 M_INVALID_PARAM and changes nothing', async (_what, body) => {
      const token = uniqueToken();
      const o = await create({ token, uses_allowed: 2 });
      expectMatrixError(await admin('PUT', `/${token}`, body), 400, 'M_INVALID_PARAM');
      expect(expectOk(await admin('GET', `/${token}`))).toEqual(o);
    });

    it('404 M_NOT_FOUND for an unknown token', async () => {
      expectMatrixError(await admin('PUT', `/${uniqueToken('missing')}`, { uses_allowed: 1 }), 404, 'M_NOT_FOUND');
    });
  });

  describe('delete', () => {
    it('deletes a token and answers {}; a second delete is 404', async () => {
      const token = uniqueToken();
      await create({ token });
      const res = await admin('DELETE', `/${token}`);
      expect(expectOk(res)).toEqual({});
      expectMatrixError(await admin('GET', `/${token}`), 404, 'M_NOT_FOUND');
      expectMatrixError(await admin('DELETE', `/${token}`), 404, 'M_NOT_FOUND');
      const all = expectOk(await admin('GET', '')).registration_tokens.map((x: { token: string }) => x.token);
      expect(all).not.toContain(token);
    });
    it('a deleted token can be created again', async () => {
      const token = uniqueToken();
      await create({ token, uses_allowed: 1 });
      expectOk(await admin('DELETE', `/${token}`));
      expect(await create({ token, uses_allowed: 2 })).toMatchObject({ token, uses_allowed: 2 });
    });
  });

  describe('authorisation', () => {
    const requests: [string, 'GET' | 'POST' | 'PUT' | 'DELETE', string, unknown][] = [
      ['list', 'GET', '', undefined],
      ['get', 'GET', '/sometoken', undefined],
      ['new', 'POST', '/new', { token: 'unauthorised' }],
      ['update', 'PUT', '/sometoken', { uses_allowed: 1 }],
      ['delete', 'DELETE', '/sometoken', undefined],
    ];
    it.each(requests)('%s without a token is 401 M_MISSING_TOKEN', async (_n, method, path, body) => {
      expectMatrixError(await admin(method, path, body, {}), 401, 'M_MISSING_TOKEN');
    });
    it.each(requests)('%s with a wrong token is 401 M_UNKNOWN_TOKEN', async (_n, method, path, body) => {
      for (const authorization of [
        `Bearer ${ADMIN_TOKEN}x`,
        `Bearer ${ADMIN_TOKEN.slice(0, -1)}`,
        `Bearer ${ADMIN_TOKEN.toUpperCase()}`,
        'Bearer x',
      ]) {
        expectMatrixError(await admin(method, path, body, { authorization }), 401, 'M_UNKNOWN_TOKEN');
      }
    });
    it('a non-Bearer Authorization header is M_MISSING_TOKEN', async () => {
      expectMatrixError(await admin('GET', '', undefined, { authorization: `Basic ${ADMIN_TOKEN}` }), 401, 'M_MISSING_TOKEN');
    });
    it('nothing is created by an unauthorised request', async () => {
      await admin('POST', '/new', { token: 'sneaky' }, { authorization: 'Bearer wrong' });
      expectMatrixError(await admin('GET', '/sneaky'), 404, 'M_NOT_FOUND');
    });
  });
});

describe.each(DATABASE_KINDS)('admin API without ADMIN_TOKEN (%s)', (kind) => {
  let database: TestDatabase;
  let t: TestApp;
  beforeAll(async () => {
    database = await openTestDatabase(kind);
    t = await startApp(database, { ADMIN_TOKEN: '' });
  });
  afterAll(async () => {
    await t?.close();
    await database?.close();
  });

  it.each([
    ['GET', BASE],
    ['GET', `${BASE}?valid=true`],
    ['GET', `${BASE}/abc`],
    ['POST', `${BASE}/new`],
    ['PUT', `${BASE}/abc`],
    ['DELETE', `${BASE}/abc`],
  ] as const)('%s %s is 403 M_FORBIDDEN whatever the Authorization header', async (method, url) => {
    for (const headers of [{}, AUTH, { authorization: 'Bearer ' }]) {
      const res = await t.app.inject({ method, url, headers, ...(method === 'POST' || method === 'PUT' ? { payload: {} } : {}) });
      expectMatrixError(res, 403, 'M_FORBIDDEN');
    }
  });
});
