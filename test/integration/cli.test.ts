// mrs-admin, the command-line tool installed with the package (package.json "bin"), built with
// tsc as the package build does and run with plain node against a listening service.
import { execFile } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findUser } from '../../src/store/users.js';
import { ADMIN_TOKEN, startApp, uniqueName, type TestApp } from '../helpers/app.js';
import { DATABASE_KINDS, openTestDatabase, type TestDatabase } from '../helpers/databases.js';
import { REPO } from '../helpers/process.js';

const run = promisify(execFile);
const SECRET = 'cli-shared-secret-0123456789';
const BUILD = path.join(REPO, 'test-artifacts', `cli-${process.pid}`);

beforeAll(async () => {
  // Only src/cli.ts: it imports nothing but Node's standard library, so it compiles alone.
  mkdirSync(BUILD, { recursive: true });
  await run(
    path.join(REPO, 'node_modules/.bin/tsc'),
    ['--outDir', BUILD, '--module', 'nodenext', '--moduleResolution', 'nodenext', '--target', 'es2022', '--strict', '--skipLibCheck', '--types', 'node', path.join(REPO, 'src/cli.ts')],
    { cwd: REPO, timeout: 60_000 },
  );
  writeFileSync(path.join(BUILD, 'package.json'), '{"type":"module"}\n');
}, 90_000);
afterAll(() => rmSync(BUILD, { recursive: true, force: true }));

async function cli(args: string[], env: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [path.join(BUILD, 'cli.js'), ...args], {
      env: { PATH: process.env.PATH ?? '', ...env },
      timeout: 30_000,
    });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

it('is the package\'s mrs-admin command, with a node shebang', () => {
  const pkg = JSON.parse(readFileSync(path.join(REPO, 'package.json'), 'utf8'));
  expect(pkg.bin).toEqual({ 'mrs-admin': 'dist/cli.js' });
  expect(readFileSync(path.join(BUILD, 'cli.js'), 'utf8').startsWith('#!/usr/bin/env node\n')).toBe(true);
});

describe.each(DATABASE_KINDS)('mrs-admin against a listening service (%s)', (kind) => {
  let database: TestDatabase;
  let t: TestApp;
  let url: string;

  beforeAll(async () => {
    database = await openTestDatabase(kind);
    t = await startApp(database, { REGISTRATION_SHARED_SECRET: SECRET, RATE_LIMIT_SHARED_SECRET_PER_MINUTE: '100' });
    await t.app.listen({ host: '127.0.0.1', port: 0 });
    url = `http://127.0.0.1:${(t.app.server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await t?.close();
    await database?.close();
  });

  it('registers an admin and a non-admin user with the shared secret', async () => {
    const admin = uniqueName('boss');
    const r1 = await cli(['register-user', '-u', admin, '-p', 'an admin password', '-a', '--server', url], { REGISTRATION_SHARED_SECRET: SECRET });
    expect(r1).toMatchObject({ code: 0, stdout: `Success! Registered @${admin}:test.example (admin)\n` });
    expect((await findUser(t.db, `@${admin}:test.example`))?.admin).toBe(true);

    const plain = uniqueName('plain');
    const r2 = await cli(['register-user', '-u', plain, '-p', 'a password', '--no-admin', '-k', SECRET, '--server', url]);
    expect(r2.code).toBe(0);
    expect((await findUser(t.db, `@${plain}:test.example`))?.admin).toBe(false);
    // The access token is never printed.
    expect(r1.stdout + r2.stdout).not.toMatch(/mat_/);
  });

  it('fails with the server\'s error for a wrong secret, and with usage for missing arguments', async () => {
    const wrong = await cli(['register-user', '-u', uniqueName(), '-p', 'pw', '-k', 'wrong-secret', '--server', url]);
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toMatch(/403 M_FORBIDDEN HMAC incorrect/);
    const noSecret = await cli(['register-user', '-u', 'x', '-p', 'y', '--server', url]);
    expect(noSecret.code).toBe(2);
    expect(noSecret.stderr).toMatch(/shared secret is required/);
    // No terminal to ask for the password on.
    const noPassword = await cli(['register-user', '-u', 'x', '-k', SECRET, '--server', url]);
    expect(noPassword.code).toBe(2);
    expect((await cli(['frobnicate'])).code).toBe(2);
  });

  it('creates, lists, shows, updates and deletes registration tokens', async () => {
    const env = { ADMIN_TOKEN, MRS_URL: url };
    const name = `cli${uniqueName('').replace(/x/g, '')}`.slice(0, 30);
    const created = await cli(['token', 'create', '--token', name, '--uses-allowed', '5'], env);
    expect(created.code).toBe(0);
    expect(JSON.parse(created.stdout)).toEqual({ token: name, uses_allowed: 5, pending: 0, completed: 0, expiry_time: null });

    const listed = await cli(['token', 'list', '--valid', 'true'], env);
    expect(JSON.parse(listed.stdout).registration_tokens.map((x: { token: string }) => x.token)).toContain(name);

    const updated = await cli(['token', 'update', name, '--uses-allowed', 'null'], env);
    expect(JSON.parse(updated.stdout).uses_allowed).toBeNull();
    expect(JSON.parse((await cli(['token', 'show', name], env)).stdout).uses_allowed).toBeNull();

    const generated = await cli(['token', 'create', '--length', '20'], env);
    expect(JSON.parse(generated.stdout).token).toMatch(/^[A-Za-z0-9._~-]{20}$/);

    expect((await cli(['token', 'delete', name], env)).code).toBe(0);
    const gone = await cli(['token', 'show', name], env);
    expect(gone.code).toBe(1);
    expect(gone.stderr).toMatch(/404 M_NOT_FOUND/);
    const unauthorised = await cli(['token', 'list', '--admin-token', 'wrong-token', '--server', url]);
    expect(unauthorised.code).toBe(1);
    expect(unauthorised.stderr).toMatch(/401 M_UNKNOWN_TOKEN/);
  });
});
