// POST /account/password and POST /account/deactivate (UIA m.login.password), against every
// test database.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DATABASE_KINDS, openTestDatabase, type TestDatabase } from '../helpers/databases.js';
import { startApp, uniqueName, type TestApp } from '../helpers/app.js';
import { expectDefinition, expectMatrixError, expectSpec } from '../helpers/spec.js';
import { bearer, countingHasher, login, PASSWORD, register, whoami, type Account } from '../helpers/accounts.js';

const NEW_PASSWORD = 'another good password';

describe.each(DATABASE_KINDS)('account management (%s)', (kind) => {
  let database: TestDatabase;
  let t: TestApp;
  const hasher = countingHasher();

  beforeAll(async () => {
    database = await openTestDatabase(kind);
    t = await startApp(database, { RATE_LIMIT_REGISTER_BURST: '1000', RATE_LIMIT_LOGIN_REQUESTS_PER_MINUTE: '1000' }, { hasher });
  });
  afterAll(async () => {
    await t?.close();
    await database?.close();
  });

  const passwordAuth = (user: string, session: string, password = PASSWORD) => ({
    type: 'm.login.password',
    identifier: { type: 'm.id.user', user },
    password,
    session,
  });
  const changePassword = (token: string, payload: object) =>
    t.app.inject({ method: 'POST', url: '/_matrix/client/v3/account/password', headers: bearer(token), payload });
  const pwSpec = (res: Parameters<typeof expectSpec>[0]) => expectSpec(res, 'password_management.yaml', '/account/password', 'post');
  const deactivate = (token: string, payload: object) =>
    t.app.inject({ method: 'POST', url: '/_matrix/client/r0/account/deactivate', headers: bearer(token), payload });

  /** First round: the 401 challenge offering m.login.password, with a session. */
  async function startChange(a: Account, payload: object = { new_password: NEW_PASSWORD }): Promise<string> {
    const res = await changePassword(a.accessToken, payload);
    expect(res.statusCode).toBe(401);
    const body = pwSpec(res);
    expect(body.flows).toEqual([{ stages: ['m.login.password'] }]);
    return body.session;
  }

  it('register → login elsewhere → change password with logout_devices: the other device is out, this one stays', async () => {
    const name = uniqueName('pw');
    const first = await register(t, name);
    const second = (await login(t, name, PASSWORD, { refresh_token: true })).json();
    const hashesBefore = hasher.hashes;
    const session = await startChange(first);
    const done = await changePassword(first.accessToken, { auth: passwordAuth(name, session) });
    expect(done.statusCode).toBe(200);
    expect(pwSpec(done)).toEqual({});
    expect(hasher.hashes - hashesBefore).toBe(1);

    expectMatrixError(await whoami(t, second.access_token), 401, 'M_UNKNOWN_TOKEN');
    const refresh = await t.app.inject({ method: 'POST', url: '/_matrix/client/v3/refresh', payload: { refresh_token: second.refresh_token } });
    expectMatrixError(refresh, 401, 'M_UNKNOWN_TOKEN');
    expect((await whoami(t, first.accessToken)).statusCode).toBe(200);
    expect((await login(t, name, PASSWORD)).statusCode).toBe(403);
    expect((await login(t, name, NEW_PASSWORD)).statusCode).toBe(200);

    // The plaintext is stored nowhere: an argon2id hash in users, nothing left in the session.
    const user = await t.db.query('SELECT password_hash FROM users WHERE user_id = $1', [first.userId]);
    expect(user.rows[0].password_hash).toMatch(/^\$argon2id\$/);
    const s = await t.db.query('SELECT binding, password_hash, spent_at FROM uia_sessions WHERE session_id = $1', [session]);
    expect(s.rows[0].password_hash).toBeNull();
    expect(JSON.stringify(s.rows[0].binding)).not.toContain(NEW_PASSWORD);
    expect(s.rows[0].spent_at).not.toBeNull();

    // The spent session cannot change the password again.
    expectMatrixError(await changePassword(first.accessToken, { auth: passwordAuth(name, session, NEW_PASSWORD) }), 403, 'M_FORBIDDEN');
  });

  it('keeps the other devices with logout_devices: false, and takes new_password in every request', async () => {
    const name = uniqueName('keep');
    const first = await register(t, name);
    const second = (await login(t, name)).json();
    const hashesBefore = hasher.hashes;
    const session = await startChange(first, { new_password: NEW_PASSWORD, logout_devices: false });
    const done = await changePassword(first.accessToken, { new_password: NEW_PASSWORD, logout_devices: false, auth: passwordAuth(name, session) });
    expect(pwSpec(done)).toEqual({});
    expect(hasher.hashes - hashesBefore).toBe(1);
    expect((await whoami(t, second.access_token)).statusCode).toBe(200);
    expect((await login(t, name, NEW_PASSWORD)).statusCode).toBe(200);
  });

  it('answers a wrong password with 401 and errcode M_FORBIDDEN in the UIA body, and the session goes on', async () => {
    const name = uniqueName('wrong');
    const a = await register(t, name);
    const session = await startChange(a);
    const wrong = await changePassword(a.accessToken, { auth: passwordAuth(name, session, 'not my password') });
    expect(wrong.statusCode).toBe(401);
    expect(pwSpec(wrong)).toMatchObject({ errcode: 'M_FORBIDDEN', session, flows: [{ stages: ['m.login.password'] }] });
    expect((await changePassword(a.accessToken, { auth: passwordAuth(name, session) })).statusCode).toBe(200);
  });

  it('refuses an identifier naming another user, without checking the password', async () => {
    const a = await register(t, uniqueName('me'));
    const other = uniqueName('other');
    await register(t, other);
    const session = await startChange(a);
    const before = hasher.verifies;
    const res = await changePassword(a.accessToken, { auth: passwordAuth(other, session) });
    expect(res.statusCode).toBe(401);
    expect(pwSpec(res).errcode).toBe('M_FORBIDDEN');
    expect(hasher.verifies).toBe(before);
    expect((await login(t, other, PASSWORD)).statusCode).toBe(200);
  });

  it('binds the session: another user cannot continue it, new_password cannot change mid-session', async () => {
    const name = uniqueName('bind');
    const a = await register(t, name);
    const b = await register(t, uniqueName('thief'));
    const session = await startChange(a);
    expectMatrixError(await changePassword(b.accessToken, { new_password: NEW_PASSWORD, auth: passwordAuth(name, session) }), 403, 'M_FORBIDDEN');
    expectMatrixError(await changePassword(a.accessToken, { new_password: 'a different new password', auth: passwordAuth(name, session) }), 403, 'M_FORBIDDEN');
    // The session still completes, with the password first sent.
    expect((await changePassword(a.accessToken, { auth: passwordAuth(name, session) })).statusCode).toBe(200);
    expect((await login(t, name, 'a different new password')).statusCode).toBe(403);
    expect((await login(t, name, NEW_PASSWORD)).statusCode).toBe(200);
  });

  it('checks new_password against the policy and requires it in the first request', async () => {
    const a = await register(t, uniqueName('weak'));
    expectMatrixError(await changePassword(a.accessToken, { new_password: 'short' }), 400, 'M_WEAK_PASSWORD');
    expectMatrixError(await changePassword(a.accessToken, {}), 400, 'M_MISSING_PARAM');
    expectMatrixError(await changePassword(a.accessToken, { new_password: 5 }), 400, 'M_BAD_JSON');
    expectMatrixError(await t.app.inject({ method: 'POST', url: '/_matrix/client/v3/account/password', payload: { new_password: NEW_PASSWORD } }), 401, 'M_MISSING_TOKEN');
    expectMatrixError(await changePassword('mat_unknown', { new_password: NEW_PASSWORD }), 401, 'M_UNKNOWN_TOKEN');
  });

  it('register → deactivate: tokens gone, login fails, the name stays taken, erase recorded', async () => {
    const name = uniqueName('bye');
    const a = await register(t, name);
    const other = (await login(t, name, PASSWORD, { refresh_token: true })).json();
    const first = await deactivate(a.accessToken, { erase: true });
    const challenge = expectDefinition(first, 401, 'definitions/auth_response.yaml');
    expect(challenge.flows).toEqual([{ stages: ['m.login.password'] }]);
    const wrong = await deactivate(a.accessToken, { auth: passwordAuth(name, challenge.session, 'wrong password') });
    expect(expectDefinition(wrong, 401, 'definitions/auth_response.yaml').errcode).toBe('M_FORBIDDEN');
    // erase, once sent, is part of the session.
    expectMatrixError(await deactivate(a.accessToken, { erase: false, auth: passwordAuth(name, challenge.session) }), 403, 'M_FORBIDDEN');

    const done = await deactivate(a.accessToken, { auth: passwordAuth(name, challenge.session) });
    expect(done.statusCode).toBe(200);
    expect(done.json()).toEqual({ id_server_unbind_result: 'no-support' });

    for (const token of [a.accessToken, other.access_token]) expectMatrixError(await whoami(t, token), 401, 'M_UNKNOWN_TOKEN');
    expectMatrixError(await t.app.inject({ method: 'POST', url: '/_matrix/client/v3/refresh', payload: { refresh_token: other.refresh_token } }), 401, 'M_UNKNOWN_TOKEN');
    expect(expectSpec(await login(t, name, PASSWORD), 'login.yaml', '/login', 'post')).toEqual({ errcode: 'M_FORBIDDEN', error: 'Invalid username or password.' });
    const avail = await t.app.inject({ url: `/_matrix/client/v3/register/available?username=${name}` });
    expect(expectSpec(avail, 'registration.yaml', '/register/available', 'get').errcode).toBe('M_USER_IN_USE');
    const again = await t.app.inject({ method: 'POST', url: '/_matrix/client/v3/register', payload: { username: name.toUpperCase(), password: PASSWORD } });
    expect(expectSpec(again, 'registration.yaml', '/register', 'post').errcode).toBe('M_USER_IN_USE');

    const row = await t.db.query('SELECT deactivated_at, erased, password_hash FROM users WHERE user_id = $1', [a.userId]);
    expect(row.rows[0]).toEqual({ deactivated_at: t.clock.now(), erased: true, password_hash: null });
    for (const table of ['devices', 'access_tokens', 'refresh_tokens']) {
      expect((await t.db.query(`SELECT 1 FROM ${table} WHERE user_id = $1`, [a.userId])).rowCount).toBe(0);
    }
  });

  it('leaves no live token when a login races the deactivation', async () => {
    const name = uniqueName('race');
    const a = await register(t, name);
    const session = expectDefinition(await deactivate(a.accessToken, {}), 401, 'definitions/auth_response.yaml').session;
    const [deact, loggedIn] = await Promise.all([
      deactivate(a.accessToken, { auth: passwordAuth(name, session) }),
      login(t, name, PASSWORD),
    ]);
    expect(deact.statusCode).toBe(200);
    expect([200, 403]).toContain(loggedIn.statusCode);
    if (loggedIn.statusCode === 200) expectMatrixError(await whoami(t, loggedIn.json().access_token), 401, 'M_UNKNOWN_TOKEN');
    expect((await t.db.query('SELECT 1 FROM access_tokens WHERE user_id = $1', [a.userId])).rowCount).toBe(0);
  });

  it('leaves no live token when a password change races the deactivation', async () => {
    const name = uniqueName('race2');
    const a = await register(t, name);
    const second = (await login(t, name)).json();
    const pwSession = await startChange(a);
    const deSession = expectDefinition(await deactivate(second.access_token, {}), 401, 'definitions/auth_response.yaml').session;
    const [changed, deact] = await Promise.all([
      changePassword(a.accessToken, { auth: passwordAuth(name, pwSession) }),
      deactivate(second.access_token, { auth: passwordAuth(name, deSession) }),
    ]);
    // Whichever commits first, the account ends deactivated with no device or token left.
    expect(deact.statusCode === 200 || changed.statusCode === 200).toBe(true);
    const row = await t.db.query('SELECT deactivated_at FROM users WHERE user_id = $1', [a.userId]);
    if (deact.statusCode === 200) expect(row.rows[0].deactivated_at).not.toBeNull();
    for (const table of ['devices', 'access_tokens']) {
      const left = await t.db.query(`SELECT 1 FROM ${table} WHERE user_id = $1`, [a.userId]);
      expect(left.rowCount).toBe(deact.statusCode === 200 ? 0 : 1);
    }
  });

  it('counts wrong passwords in the UIA stage against the account budget (429)', async () => {
    const name = uniqueName('guess');
    const a = await register(t, name);
    const session = await startChange(a);
    for (let i = 0; i < 5; i++) {
      expect((await changePassword(a.accessToken, { auth: passwordAuth(name, session, 'guess ' + i) })).statusCode).toBe(401);
    }
    const limited = await changePassword(a.accessToken, { auth: passwordAuth(name, session) });
    expect(limited.statusCode).toBe(429);
    expect(pwSpec(limited).retry_after_ms).toBeGreaterThan(0);
    expect((await login(t, name, PASSWORD)).statusCode).toBe(429);
  });
});
