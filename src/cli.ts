#!/usr/bin/env node
// mrs-admin: the operator's command-line tool. It talks to a running service over HTTP only
// (the same APIs as Synapse's tools), so it works against any instance and needs no database
// access:
//   mrs-admin register-user   as Synapse's register_new_matrix_user (shared-secret registration)
//   mrs-admin token ...       create, list, show, update and delete registration tokens
import { createHmac } from 'node:crypto';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';

const USAGE = `Usage:
  mrs-admin register-user [-u USER] [-p PASSWORD] [-a | --no-admin] [-t bot|support]
                          [-k SHARED_SECRET] [--server URL]
      Registers a user with the shared secret (REGISTRATION_SHARED_SECRET by default), as
      Synapse's register_new_matrix_user does. Asks for the user and password when not given.
  mrs-admin token create [--token TOKEN | --length N] [--uses-allowed N] [--expiry-time MS]
  mrs-admin token list [--valid true|false]
  mrs-admin token show TOKEN
  mrs-admin token update TOKEN [--uses-allowed N|null] [--expiry-time MS|null]
  mrs-admin token delete TOKEN
      Manage registration tokens through the admin API (ADMIN_TOKEN or --admin-token).

Common options:
  --server URL         the service's base URL (default: $MRS_URL or http://localhost:8008)
  -h, --help           this text`;

class UsageError extends Error {}

function serverUrl(v: string | undefined): string {
  return (v ?? process.env.MRS_URL ?? 'http://localhost:8008').replace(/\/+$/, '');
}

async function call(method: string, url: string, body?: unknown, token?: string): Promise<unknown> {
  const res = await fetch(url, {
    method,
    headers: {
      ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
      ...(token !== undefined ? { authorization: `Bearer ${token}` } : {}),
    },
    body: body !== undefined ? JSON.stringify(body) : undefined,
    signal: AbortSignal.timeout(30_000),
  });
  const text = await res.text();
  let json: unknown;
  try {
    json = text.length > 0 ? JSON.parse(text) : {};
  } catch {
    json = { error: text };
  }
  if (!res.ok) {
    const e = json as { errcode?: string; error?: string };
    throw new Error(`${method} ${new URL(url).pathname}: ${res.status} ${e.errcode ?? ''} ${e.error ?? ''}`.trim());
  }
  return json;
}

async function ask(question: string, hidden: boolean): Promise<string> {
  if (!process.stdin.isTTY) throw new UsageError(`${question.replace(/:\s*$/, '')} is required (no terminal to ask on)`);
  const rl = createInterface({ input: process.stdin, output: process.stdout, terminal: true });
  if (hidden) {
    // Echo nothing while the password is typed.
    (rl as unknown as { _writeToOutput: (s: string) => void })._writeToOutput = (s: string) => {
      if (s.startsWith(question)) process.stdout.write(question);
    };
  }
  const answer = await new Promise<string>((resolve) => rl.question(question, resolve));
  rl.close();
  if (hidden) process.stdout.write('\n');
  return answer;
}

async function registerUser(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      user: { type: 'string', short: 'u' },
      password: { type: 'string', short: 'p' },
      admin: { type: 'boolean', short: 'a' },
      'no-admin': { type: 'boolean' },
      'user-type': { type: 'string', short: 't' },
      'shared-secret': { type: 'string', short: 'k' },
      server: { type: 'string' },
    },
    strict: true,
  });
  const secret = values['shared-secret'] ?? process.env.REGISTRATION_SHARED_SECRET;
  if (!secret) throw new UsageError('the shared secret is required: -k SECRET or REGISTRATION_SHARED_SECRET');
  if (values.admin && values['no-admin']) throw new UsageError('-a/--admin and --no-admin contradict each other');
  const username = values.user ?? (await ask('New user localpart: ', false));
  let password = values.password;
  if (password === undefined) {
    password = await ask('Password: ', true);
    if (password !== (await ask('Confirm password: ', true))) throw new UsageError('passwords do not match');
  }
  if (!username || !password) throw new UsageError('user and password must not be empty');
  const admin = values.admin ?? false;
  const userType = values['user-type'];
  const base = `${serverUrl(values.server)}/_synapse/admin/v1/register`;

  const { nonce } = (await call('GET', base)) as { nonce: string };
  const mac = createHmac('sha1', secret);
  mac.update(`${nonce}\x00${username}\x00${password}\x00${admin ? 'admin' : 'notadmin'}`);
  if (userType) mac.update(`\x00${userType}`);
  const result = (await call('POST', base, {
    nonce,
    username,
    password,
    admin,
    ...(userType ? { user_type: userType } : {}),
    mac: mac.digest('hex'),
  })) as { user_id: string };
  // The access token is not printed: it would end up in shell history and logs.
  process.stdout.write(`Success! Registered ${result.user_id}${admin ? ' (admin)' : ''}\n`);
}

function intOrNull(name: string, v: string | undefined): number | null | undefined {
  if (v === undefined) return undefined;
  if (v === 'null') return null;
  if (!/^\d+$/.test(v)) throw new UsageError(`${name} must be a non-negative integer or null`);
  return Number(v);
}

async function token(argv: string[]): Promise<void> {
  const { values, positionals } = parseArgs({
    args: argv,
    options: {
      token: { type: 'string' },
      length: { type: 'string' },
      'uses-allowed': { type: 'string' },
      'expiry-time': { type: 'string' },
      valid: { type: 'string' },
      server: { type: 'string' },
      'admin-token': { type: 'string' },
    },
    allowPositionals: true,
    strict: true,
  });
  const adminToken = values['admin-token'] ?? process.env.ADMIN_TOKEN;
  if (!adminToken) throw new UsageError('the admin token is required: --admin-token TOKEN or ADMIN_TOKEN');
  const base = `${serverUrl(values.server)}/_synapse/admin/v1/registration_tokens`;
  const [action, name] = positionals;
  const needName = () => {
    if (!name) throw new UsageError(`token ${action} needs a TOKEN`);
    return encodeURIComponent(name);
  };
  const fields = () => {
    const body: Record<string, unknown> = {};
    const uses = intOrNull('--uses-allowed', values['uses-allowed']);
    const expiry = intOrNull('--expiry-time', values['expiry-time']);
    if (uses !== undefined) body.uses_allowed = uses;
    if (expiry !== undefined) body.expiry_time = expiry;
    return body;
  };
  let out: unknown;
  switch (action) {
    case 'create': {
      const body = fields();
      if (values.token !== undefined) body.token = values.token;
      if (values.length !== undefined) body.length = intOrNull('--length', values.length);
      out = await call('POST', `${base}/new`, body, adminToken);
      break;
    }
    case 'list': {
      if (values.valid !== undefined && !['true', 'false'].includes(values.valid)) {
        throw new UsageError('--valid must be true or false');
      }
      out = await call('GET', values.valid !== undefined ? `${base}?valid=${values.valid}` : base, undefined, adminToken);
      break;
    }
    case 'show':
      out = await call('GET', `${base}/${needName()}`, undefined, adminToken);
      break;
    case 'update':
      out = await call('PUT', `${base}/${needName()}`, fields(), adminToken);
      break;
    case 'delete':
      await call('DELETE', `${base}/${needName()}`, undefined, adminToken);
      out = { deleted: name };
      break;
    default:
      throw new UsageError(`unknown token command: ${action ?? '(none)'}`);
  }
  process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
}

export async function run(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  try {
    if (command === undefined || command === '-h' || command === '--help' || command === 'help') {
      process.stdout.write(`${USAGE}\n`);
      return command === undefined ? 2 : 0;
    }
    if (command === 'register-user') await registerUser(rest);
    else if (command === 'token') await token(rest);
    else throw new UsageError(`unknown command: ${command}`);
    return 0;
  } catch (err) {
    if (err instanceof UsageError || (err as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
      process.stderr.write(`mrs-admin: ${(err as Error).message}\n\n${USAGE}\n`);
      return 2;
    }
    process.stderr.write(`mrs-admin: ${(err as Error).message}\n`);
    return 1;
  }
}

run(process.argv.slice(2)).then((code) => process.exit(code));
