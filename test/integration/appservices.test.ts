// Application services: exclusive namespaces and m.login.application_service registration.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApp, uniqueName, type TestApp } from '../helpers/app.js';
import { DATABASE_KINDS, openTestDatabase, type TestDatabase } from '../helpers/databases.js';
import { expectMatrixError, expectSpec } from '../helpers/spec.js';

const IRC_TOKEN = 'irc-as-token-0123456789abcdef';
const SLACK_TOKEN = 'slack-as-token-0123456789abcdef';

function writeRegistrations(): { dir: string; files: string[] } {
  const dir = mkdtempSync(path.join(tmpdir(), 'mrs-as-'));
  const irc = path.join(dir, 'irc.yaml');
  writeFileSync(
    irc,
    `id: irc
url: null
as_token: ${IRC_TOKEN}
hs_token: irc-hs-token
sender_localpart: ircbot
namespaces:
  users:
    - exclusive: true
      regex: '@_irc_.*:test\\.example'
  aliases: []
  rooms: []
`,
  );
  const slack = path.join(dir, 'slack.yaml');
  writeFileSync(
    slack,
    `id: slack
url: http://localhost:9999
as_token: ${SLACK_TOKEN}
hs_token: slack-hs-token
sender_localpart: slackbot
namespaces:
  users:
    - exclusive: false
      regex: '@slack_.*'
`,
  );
  return { dir, files: [irc, slack] };
}

describe.each(DATABASE_KINDS)('application services (%s)', (kind) => {
  let database: TestDatabase;
  let t: TestApp;
  let dir: string;

  beforeAll(async () => {
    database = await openTestDatabase(kind);
    const reg = writeRegistrations();
    dir = reg.dir;
    // Registration is closed to people: application services may still create their users.
    t = await startApp(database, { APPSERVICE_CONFIG_FILES: reg.files.join(','), ENABLE_REGISTRATION: 'false' });
  });
  afterAll(async () => {
    await t?.close();
    await database?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const asRegister = (token: string | undefined, payload: object) =>
    t.app.inject({
      method: 'POST',
      url: '/_matrix/client/v3/register',
      headers: token ? { authorization: `Bearer ${token}` } : {},
      payload,
    });

  it('registers a user in its namespace with its as_token and no UIA', async () => {
    const username = `_irc_${uniqueName()}`;
    const res = await asRegister(IRC_TOKEN, { type: 'm.login.application_service', username, inhibit_login: true });
    expect(res.statusCode).toBe(200);
    const body = expectSpec(res, 'registration.yaml', '/register', 'post');
    expect(body).toEqual({ user_id: `@${username}:test.example`, home_server: 'test.example' });
    const row = await t.db.query('SELECT appservice_id, password_hash FROM users WHERE user_id = $1', [body.user_id]);
    expect(row.rows[0]).toEqual({ appservice_id: 'irc', password_hash: null });
    // The service's sender user is in its namespace too.
    const sender = await asRegister(IRC_TOKEN, { type: 'm.login.application_service', username: 'ircbot', inhibit_login: true });
    expect(sender.statusCode).toBe(200);
  });

  it('answers M_APPSERVICE_LOGIN_UNSUPPORTED unless inhibit_login is true', async () => {
    const res = await asRegister(IRC_TOKEN, { type: 'm.login.application_service', username: `_irc_${uniqueName()}` });
    expect(expectSpec(res, 'registration.yaml', '/register', 'post').errcode).toBe('M_APPSERVICE_LOGIN_UNSUPPORTED');
    expect(res.statusCode).toBe(400);
  });

  it('refuses names outside its namespace and in another service\'s exclusive namespace', async () => {
    const outside = await asRegister(SLACK_TOKEN, { type: 'm.login.application_service', username: uniqueName(), inhibit_login: true });
    expect(outside.statusCode).toBe(400);
    expect(expectSpec(outside, 'registration.yaml', '/register', 'post').errcode).toBe('M_EXCLUSIVE');
    const foreign = await asRegister(SLACK_TOKEN, { type: 'm.login.application_service', username: `_irc_${uniqueName()}`, inhibit_login: true });
    expect(expectSpec(foreign, 'registration.yaml', '/register', 'post').errcode).toBe('M_EXCLUSIVE');
    // A non-exclusive namespace: the service may register there.
    const ok = await asRegister(SLACK_TOKEN, { type: 'm.login.application_service', username: `slack_${uniqueName()}`, inhibit_login: true });
    expect(ok.statusCode).toBe(200);
  });

  it('refuses unknown tokens and the type without a token', async () => {
    expectMatrixError(
      await asRegister('not-a-token', { type: 'm.login.application_service', username: `_irc_${uniqueName()}`, inhibit_login: true }),
      401,
      'M_UNKNOWN_TOKEN',
    );
    expectMatrixError(
      await asRegister(undefined, { type: 'm.login.application_service', username: `_irc_${uniqueName()}`, inhibit_login: true }),
      401,
      'M_MISSING_TOKEN',
    );
    // Without the type, the token does not matter (as in Synapse): this is ordinary registration,
    // which this instance has closed.
    expectMatrixError(await asRegister(IRC_TOKEN, { username: `_irc_${uniqueName()}`, inhibit_login: true }), 403, 'M_FORBIDDEN');
  });

  it('answers M_EXCLUSIVE to people registering or checking a name in an exclusive namespace', async () => {
    const file = path.join(dir, 'x.yaml');
    writeFileSync(file, 'id: x\nas_token: x-token-0123456789\nhs_token: h\nsender_localpart: xbot\nnamespaces:\n  users:\n    - {exclusive: true, regex: "@x-.*"}\n');
    const open = await startApp(database, { APPSERVICE_CONFIG_FILES: file, RATE_LIMIT_REGISTER_BURST: '100' });
    try {
      const avail = await open.app.inject({ url: `/_matrix/client/v3/register/available?username=x-${uniqueName()}` });
      expect(avail.statusCode).toBe(400);
      expect(expectSpec(avail, 'registration.yaml', '/register/available', 'get').errcode).toBe('M_EXCLUSIVE');
      // Upper case maps to lower case first, so X- is in the namespace too.
      const reg = await open.app.inject({
        method: 'POST',
        url: '/_matrix/client/v3/register',
        payload: { username: `X-${uniqueName()}`, password: 'a good password' },
      });
      expect(reg.statusCode).toBe(400);
      expect(expectSpec(reg, 'registration.yaml', '/register', 'post').errcode).toBe('M_EXCLUSIVE');
      const free = await open.app.inject({ url: `/_matrix/client/v3/register/available?username=${uniqueName()}` });
      expect(free.statusCode).toBe(200);
    } finally {
      await open.close();
    }
  });

  it('refuses to start with a broken registration file, naming it', async () => {
    const file = path.join(dir, 'broken.yaml');
    writeFileSync(file, 'id: broken\nhs_token: h\nsender_localpart: b\n');
    await expect(startApp(database, { APPSERVICE_CONFIG_FILES: file })).rejects.toThrow(/broken\.yaml: as_token must be a non-empty string/);
  });
});
