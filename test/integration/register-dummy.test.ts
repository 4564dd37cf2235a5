// POST /register through the m.login.dummy flow, /register/available, and the HTTP conventions,
// against every test database.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DATABASE_KINDS, openTestDatabase, type TestDatabase } from '../helpers/databases.js';
import { startApp, uniqueName, type TestApp } from '../helpers/app.js';
import { expectSpec } from '../helpers/spec.js';

const REG = '/register';

describe.each(DATABASE_KINDS)('registration with m.login.dummy (%s)', (kind) => {
  let database: TestDatabase;
  let t: TestApp;

  beforeAll(async () => {
    database = await openTestDatabase(kind);
    t = await startApp(database, { RATE_LIMIT_REGISTER_BURST: '1000' });
  });
  afterAll(async () => {
    await t?.close();
    await database?.close();
  });

  const post = (payload: unknown, prefix = 'v3', query = '') =>
    t.app.inject({ method: 'POST', url: `/_matrix/client/${prefix}/register${query}`, payload: payload as object });

  it('answers 401 with flows and a session, then 200 after m.login.dummy', async () => {
    const username = uniqueName();
    const first = await post({ username, password: 'a good password' });
    expect(first.statusCode).toBe(401);
    const challenge = expectSpec(first, 'registration.yaml', REG, 'post');
    expect(challenge.flows).toEqual([{ stages: ['m.login.dummy'] }]);
    expect(challenge.session).toMatch(/^[A-Za-z]{24}$/);

    const done = await post({ auth: { type: 'm.login.dummy', session: challenge.session } });
    expect(done.statusCode).toBe(200);
    const body = expectSpec(done, 'registration.yaml', REG, 'post');
    expect(body.user_id).toBe(`@${username}:test.example`);
    expect(body.access_token).toMatch(/^mat_[A-Za-z0-9_-]{43}$/);
    expect(body.device_id).toMatch(/^[A-Z]{10}$/);
    expect(body.refresh_token).toBeUndefined();
  });

  it('maps upper case to lower case the same way in /register and /register/available', async () => {
    const username = uniqueName('Mixed').toUpperCase();
    const avail = await t.app.inject({ url: `/_matrix/client/v3/register/available?username=${username}` });
    expect(expectSpec(avail, 'registration.yaml', '/register/available', 'get')).toEqual({ available: true });
    const s = (await post({ username, password: 'a good password' })).json().session;
    const done = await post({ auth: { type: 'm.login.dummy', session: s } });
    expect(done.json().user_id).toBe(`@${username.toLowerCase()}:test.example`);
    const taken = await t.app.inject({ url: `/_matrix/client/r0/register/available?username=${username.toLowerCase()}` });
    expect(taken.statusCode).toBe(400);
    expect(expectSpec(taken, 'registration.yaml', '/register/available', 'get').errcode).toBe('M_USER_IN_USE');
  });
});
