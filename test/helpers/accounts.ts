// Account set-up over HTTP for lifecycle tests: register (m.login.dummy flow) and log in.
import { expect } from 'vitest';
import { createPasswordHasher, type PasswordHasher } from '../../src/lib/secrets.js';
import type { TestApp } from './app.js';

export const PASSWORD = 'a good password';

export interface Account {
  userId: string;
  localpart: string;
  accessToken: string;
  deviceId: string;
  refreshToken?: string;
}

export async function register(t: TestApp, localpart: string, password = PASSWORD, extra: Record<string, unknown> = {}): Promise<Account> {
  const url = '/_matrix/client/v3/register';
  const first = await t.app.inject({ method: 'POST', url, payload: { username: localpart, password, ...extra } });
  expect(first.statusCode).toBe(401);
  const done = await t.app.inject({ method: 'POST', url, payload: { ...extra, auth: { type: 'm.login.dummy', session: first.json().session } } });
  expect(done.statusCode, done.body).toBe(200);
  const b = done.json();
  return { userId: b.user_id, localpart, accessToken: b.access_token, deviceId: b.device_id, refreshToken: b.refresh_token };
}

export async function login(t: TestApp, user: string, password = PASSWORD, extra: Record<string, unknown> = {}) {
  return t.app.inject({
    method: 'POST',
    url: '/_matrix/client/v3/login',
    payload: { type: 'm.login.password', identifier: { type: 'm.id.user', user }, password, ...extra },
  });
}

export const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

export async function whoami(t: TestApp, token: string) {
  return t.app.inject({ url: '/_matrix/client/v3/account/whoami', headers: bearer(token) });
}

/** The real argon2id hasher (test-minimum parameters), counting its calls. */
export function countingHasher(): PasswordHasher & { hashes: number; verifies: number } {
  const real = createPasswordHasher({ memoryKiB: 19_456, iterations: 2, parallelism: 1 });
  const h = {
    hashes: 0,
    verifies: 0,
    async hash(p: string) {
      h.hashes += 1;
      return real.hash(p);
    },
    async verify(hash: string, p: string) {
      h.verifies += 1;
      return real.verify(hash, p);
    },
  };
  return h;
}
