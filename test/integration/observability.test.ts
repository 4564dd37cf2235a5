// /health, /ready, /metrics (prom-client) and the JSON logs of a full flow: a request id on every
// line, and no password, token, client secret, MAC or admin token anywhere in them.
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loggerOptions } from '../../src/app.js';
import { startMetricsServer } from '../../src/http/metrics.js';
import { sharedSecretMac } from '../../src/services/shared-secret-registration.js';
import { ADMIN_TOKEN, startApp, uniqueName, type TestApp } from '../helpers/app.js';
import { DATABASE_KINDS, openTestDatabase, type TestDatabase } from '../helpers/databases.js';
import { expectMatrixError, expectSpec } from '../helpers/spec.js';

const SHARED_SECRET = 'shared-secret-that-must-never-be-logged';
const METRICS_TOKEN = 'metrics-token-0123456789abcdef0123456789';
const AS_TOKEN = 'as-token-that-must-never-be-logged-0123';

/** The value of one sample in Prometheus text format, or undefined. */
function sample(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const line of text.split('\n')) {
    if (!line.startsWith(name)) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const have = Object.fromEntries([...(m[2] ?? '').matchAll(/(\w+)="([^"]*)"/g)].map((x) => [x[1], x[2]]));
    if (Object.entries(labels).every(([k, v]) => have[k] === v)) return Number(m[3]);
  }
  return undefined;
}

describe.each(DATABASE_KINDS)('observability (%s)', (kind) => {
  let database: TestDatabase;
  let t: TestApp;
  let dir: string;
  const lines: string[] = [];

  beforeAll(async () => {
    database = await openTestDatabase(kind);
    dir = mkdtempSync(path.join(tmpdir(), 'mrs-obs-'));
    const asFile = path.join(dir, 'bridge.yaml');
    writeFileSync(
      asFile,
      `id: bridge\nas_token: ${AS_TOKEN}\nhs_token: hs\nsender_localpart: bridgebot\nnamespaces:\n  users:\n    - {exclusive: true, regex: "@_bridge_.*"}\n`,
    );
    const capture = new Writable({
      write(chunk, _enc, done) {
        lines.push(...String(chunk).split('\n').filter((l) => l.length > 0));
        done();
      },
    });
    t = await startApp(
      database,
      {
        REGISTRATION_REQUIRES_TOKEN: 'true',
        REGISTRATION_SHARED_SECRET: SHARED_SECRET,
        METRICS_TOKEN,
        APPSERVICE_CONFIG_FILES: asFile,
        RATE_LIMIT_REGISTER_BURST: '100',
      },
      // Production's logger options at the most verbose level, written to a capture stream.
      { logger: { ...loggerOptions('trace'), stream: capture } },
    );
  });
  afterAll(async () => {
    await t?.close();
    await database?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('answers /health and /ready', async () => {
    const health = await t.app.inject({ url: '/health' });
    expect({ status: health.statusCode, body: health.json() }).toEqual({ status: 200, body: { status: 'ok' } });
    const ready = await t.app.inject({ url: '/ready' });
    expect({ status: ready.statusCode, body: ready.json() }).toEqual({ status: 200, body: { status: 'ready' } });
  });

  it('is not ready while a migration is missing', async () => {
    const last = (await t.db.query<{ name: string; run_on: Date }>('SELECT name, run_on FROM pgmigrations ORDER BY id DESC LIMIT 1')).rows[0]!;
    await t.db.query('DELETE FROM pgmigrations WHERE name = $1', [last.name]);
    try {
      const res = await t.app.inject({ url: '/ready' });
      expect(expectMatrixError(res, 503, 'M_UNKNOWN').error).toContain(last.name);
      expect((await t.app.inject({ url: '/health' })).statusCode).toBe(200);
    } finally {
      await t.db.query('INSERT INTO pgmigrations (name, run_on) VALUES ($1, $2)', [last.name, last.run_on]);
    }
    expect((await t.app.inject({ url: '/ready' })).statusCode).toBe(200);
  });

  it('logs a full flow as JSON lines with a request id, and no secret in any of them', async () => {
    lines.length = 0;
    const secrets: string[] = [ADMIN_TOKEN, SHARED_SECRET, METRICS_TOKEN, AS_TOKEN];
    const password = 'Pa55word-that-must-never-be-logged';
    secrets.push(password);
    const admin = { authorization: `Bearer ${ADMIN_TOKEN}` };

    const created = await t.app.inject({ method: 'POST', url: '/_synapse/admin/v1/registration_tokens/new', headers: admin, payload: { uses_allowed: 5 } });
    const regToken = created.json().token as string;
    secrets.push(regToken);
    const validity = await t.app.inject({ url: `/_matrix/client/v1/register/m.login.registration_token/validity?token=${regToken}` });
    expect(validity.json()).toEqual({ valid: true });

    const username = uniqueName();
    const first = await t.app.inject({ method: 'POST', url: '/_matrix/client/v3/register', payload: { username, password, refresh_token: true } });
    const session = first.json().session as string;
    // A wrong token first (failures are logged at most as counts, never the token tried).
    const wrongToken = 'WrongTokenNeverLogged';
    secrets.push(wrongToken);
    await t.app.inject({ method: 'POST', url: '/_matrix/client/v3/register', payload: { auth: { type: 'm.login.registration_token', token: wrongToken, session } } });
    const done = await t.app.inject({
      method: 'POST',
      url: '/_matrix/client/v3/register',
      payload: { auth: { type: 'm.login.registration_token', token: regToken, session }, username, password, refresh_token: true },
    });
    const registered = expectSpec(done, 'registration.yaml', '/register', 'post');
    expect(done.statusCode).toBe(200);
    secrets.push(registered.access_token, registered.refresh_token);

    const nonce = (await t.app.inject({ url: '/_synapse/admin/v1/register' })).json().nonce as string;
    const adminName = uniqueName('op');
    const mac = sharedSecretMac(SHARED_SECRET, { nonce, username: adminName, password, admin: true });
    secrets.push(mac);
    const ss = await t.app.inject({ method: 'POST', url: '/_synapse/admin/v1/register', payload: { nonce, username: adminName, password, admin: true, mac } });
    expect(ss.statusCode).toBe(200);
    secrets.push(ss.json().access_token);

    const asReg = await t.app.inject({
      method: 'POST',
      url: `/_matrix/client/v3/register?access_token=${AS_TOKEN}`,
      payload: { type: 'm.login.application_service', username: `_bridge_${uniqueName()}`, inhibit_login: true },
    });
    expect(asReg.statusCode).toBe(200);

    // Secrets in query strings (3PID flows carry client_secret and sid there) are never logged.
    const clientSecret = 'client-secret-never-logged-42';
    secrets.push(clientSecret);
    await t.app.inject({ url: `/_matrix/client/v3/register/available?username=${uniqueName()}&client_secret=${clientSecret}` });
    await t.app.inject({ url: '/metrics', headers: { authorization: `Bearer ${METRICS_TOKEN}` } });
    await t.app.inject({ method: 'GET', url: '/_synapse/admin/v1/registration_tokens', headers: { authorization: 'Bearer wrong-admin-token-never-logged' } });
    secrets.push('wrong-admin-token-never-logged');

    // At trace level, two lines (incoming at debug, completed at info) for each of the ten logged
    // requests above.
    expect(lines.length, lines.map((l) => JSON.parse(l).msg).join("|")).toBeGreaterThanOrEqual(20);
    const reqIds = new Set<string>();
    for (const line of lines) {
      const entry = JSON.parse(line) as { reqId?: string; level: number; time: number };
      expect(typeof entry.level).toBe('number');
      // Every line written while serving requests carries the request's id.
      expect(entry.reqId, line).toMatch(/^[a-z0-9]{16}$/);
      reqIds.add(entry.reqId!);
      for (const secret of secrets) expect(line.includes(secret), `secret ${secret.slice(0, 6)}… in ${line}`).toBe(false);
    }
    expect(reqIds.size).toBeGreaterThanOrEqual(10);
    expect(lines.some((l) => l.includes('"url":"/_matrix/client/v3/register"'))).toBe(true);
  });

  it('logs each request once at info level, with its method, path, status, response time and id', async () => {
    const infoLines: string[] = [];
    const capture = new Writable({
      write(chunk, _enc, done) {
        infoLines.push(...String(chunk).split('\n').filter((l) => l.length > 0));
        done();
      },
    });
    const info = await startApp(database, {}, { logger: { ...loggerOptions('info'), stream: capture } });
    try {
      const token = 'token-never-logged-7f3a';
      const username = uniqueName();
      await info.app.inject({ url: `/_matrix/client/v3/register/available?username=${username}`, headers: { authorization: `Bearer ${token}` } });
      await info.app.inject({ method: 'POST', url: '/_matrix/client/v3/register/available', payload: { password: token } });
      await info.app.inject({ url: '/health' }); // logLevel silent: no line
      const line = (method: string, statusCode: number) =>
        expect.objectContaining({
          level: 30,
          msg: 'request completed',
          reqId: expect.stringMatching(/^[a-z0-9]{16}$/),
          req: { method, url: '/_matrix/client/v3/register/available', remoteAddress: '127.0.0.1' },
          res: { statusCode },
          responseTime: expect.any(Number),
        });
      const entries = infoLines.map((l) => JSON.parse(l) as { reqId: string });
      expect(entries).toEqual([line('GET', 200), line('POST', 405)]);
      expect(entries[0]!.reqId).not.toBe(entries[1]!.reqId);
      for (const l of infoLines) expect(l.includes(token) || l.includes(username), l).toBe(false);
    } finally {
      await info.close();
    }
  });

  it('serves Prometheus metrics behind METRICS_TOKEN with the service\'s series', async () => {
    expectMatrixError(await t.app.inject({ url: '/metrics' }), 401, 'M_MISSING_TOKEN');
    expectMatrixError(await t.app.inject({ url: '/metrics', headers: { authorization: 'Bearer nope' } }), 401, 'M_UNKNOWN_TOKEN');
    const res = await t.app.inject({ url: '/metrics', headers: { authorization: `Bearer ${METRICS_TOKEN}` } });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toContain('text/plain');
    const text = res.body;
    expect(sample(text, 'mrs_http_requests_total', { route: '/_matrix/client/v3/register', method: 'POST', status: '200' })).toBeGreaterThanOrEqual(2);
    expect(sample(text, 'mrs_http_requests_total', { route: '/_matrix/client/v3/register', method: 'POST', status: '401' })).toBeGreaterThanOrEqual(1);
    expect(sample(text, 'mrs_http_request_duration_seconds_count', { route: '/_matrix/client/v3/register', method: 'POST', status: '200' })).toBeGreaterThanOrEqual(2);
    expect(sample(text, 'mrs_http_request_duration_seconds_bucket', { route: '/_matrix/client/v3/register', le: '+Inf' })).toBeGreaterThanOrEqual(1);
    expect(sample(text, 'mrs_registrations_total', { kind: 'user', flow: 'm.login.registration_token' })).toBe(1);
    expect(sample(text, 'mrs_registrations_total', { kind: 'admin', flow: 'shared_secret' })).toBe(1);
    expect(sample(text, 'mrs_registrations_total', { kind: 'appservice', flow: 'm.login.application_service' })).toBe(1);
    expect(sample(text, 'mrs_uia_sessions_started_total', { operation: 'POST /register' })).toBeGreaterThanOrEqual(1);
    expect(sample(text, 'mrs_uia_sessions_completed_total', { operation: 'POST /register' })).toBe(1);
    expect(sample(text, 'mrs_password_hash_duration_seconds_count')).toBe(2);
    expect(sample(text, 'mrs_messages_sent_total', { medium: 'email' })).toBe(0);
    expect(sample(text, 'mrs_messages_failed_total', { medium: 'sms' })).toBe(0);
    expect(sample(text, 'mrs_db_pool_connections')).toBeGreaterThanOrEqual(1);
    expect(sample(text, 'mrs_db_pool_max_connections')).toBe(t.db.pool.options.max);
    expect(sample(text, 'mrs_db_pool_waiting_requests')).toBe(0);
    expect(sample(text, 'process_cpu_user_seconds_total')).toBeGreaterThan(0);
    // Unmatched URLs share one label: raw paths never become label values.
    await t.app.inject({ url: '/no/such/path/abc123' });
    const again = (await t.app.inject({ url: '/metrics', headers: { authorization: `Bearer ${METRICS_TOKEN}` } })).body;
    expect(again).not.toContain('abc123');
    expect(sample(again, 'mrs_http_requests_total', { route: 'unmatched', status: '404' })).toBeGreaterThanOrEqual(1);
    // mrs_http_requests_total is read from the histogram's counts: the same number in every series.
    const counts = again.split('\n').filter((l) => l.startsWith('mrs_http_request_duration_seconds_count{'));
    expect(counts.length).toBeGreaterThanOrEqual(3);
    for (const line of counts) {
      const labels = Object.fromEntries([...line.matchAll(/(\w+)="([^"]*)"/g)].map((x) => [x[1]!, x[2]!]));
      expect(sample(again, 'mrs_http_requests_total', labels), line).toBe(Number(line.split(' ').pop()));
    }
    expect(again.split('\n').filter((l) => l.startsWith('mrs_http_requests_total{'))).toHaveLength(counts.length);
  });

  it('serves /metrics on a separate listener, and not on the main port without a token', async () => {
    const server = await startMetricsServer(t.app.metrics, '127.0.0.1', 0);
    try {
      const port = (server.address() as AddressInfo).port;
      const res = await fetch(`http://127.0.0.1:${port}/metrics`);
      expect(res.status).toBe(200);
      expect(sample(await res.text(), 'mrs_registrations_total', { kind: 'user', flow: 'm.login.registration_token' })).toBe(1);
      expect((await fetch(`http://127.0.0.1:${port}/other`)).status).toBe(404);
    } finally {
      await new Promise((r) => server.close(r));
    }
    const plain = await startApp(database);
    try {
      expectMatrixError(await plain.app.inject({ url: '/metrics' }), 404, 'M_UNRECOGNIZED');
    } finally {
      await plain.close();
    }
  });

  it('reports not ready while draining', async () => {
    const other = await startApp(database);
    try {
      other.app.readiness.drain();
      expect(expectMatrixError(await other.app.inject({ url: '/ready' }), 503, 'M_UNKNOWN').error).toContain('shutting down');
    } finally {
      await other.close();
    }
  });
});
