// Graceful shutdown of the real process: SIGTERM under load loses no request, requests in flight
// finish, the process exits 0.
import http from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DATABASE_KINDS, openTestDatabase, type TestDatabase } from '../helpers/databases.js';
import { uniqueName } from '../helpers/app.js';
import { startServiceProcess, type ServiceProcess } from '../helpers/process.js';

interface Outcome {
  status?: number;
  error?: string;
}

/** One request on its own connection (no keep-alive), as a load balancer's fresh connection. */
function request(port: number, method: string, pathname: string, body?: unknown): Promise<Outcome> {
  return new Promise((resolve) => {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const req = http.request(
      { host: '127.0.0.1', port, method, path: pathname, agent: false, headers: payload ? { 'content-type': 'application/json' } : {} },
      (res) => {
        res.resume();
        res.on('end', () => resolve({ status: res.statusCode }));
        res.on('error', (err) => resolve({ error: (err as NodeJS.ErrnoException).code ?? err.message }));
      },
    );
    req.setTimeout(30_000, () => req.destroy(new Error('client timeout')));
    req.on('error', (err) => resolve({ error: (err as NodeJS.ErrnoException).code ?? err.message }));
    req.end(payload);
  });
}

const ENV = {
  SERVER_NAME: 'test.example',
  ENABLE_REGISTRATION: 'true',
  ENABLE_REGISTRATION_WITHOUT_VERIFICATION: 'true',
  LOG_LEVEL: 'info',
  RATE_LIMIT_REGISTER_BURST: '100000',
  RATE_LIMIT_REGISTER_REQUESTS_PER_MINUTE: '100000',
  RATE_LIMIT_AVAILABLE_PER_MINUTE: '100000',
};

describe.each(DATABASE_KINDS)('graceful shutdown of the process (%s)', (kind) => {
  let database: TestDatabase | undefined;
  let dataDir: string | undefined;
  const procs: ServiceProcess[] = [];

  beforeAll(async () => {
    if (kind === 'postgres') database = await openTestDatabase(kind);
  });
  afterAll(async () => {
    procs.forEach((p) => p.kill());
    await database?.close();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  const dbEnv = (): Record<string, string> => {
    if (database) return { DATABASE_URL: database.connectionString };
    dataDir ??= mkdtempSync(path.join(tmpdir(), 'mrs-shutdown-'));
    return { DATA_DIR: dataDir };
  };

  it('loses no request when SIGTERM arrives under load, and exits 0', async () => {
    const p = await startServiceProcess({ ...ENV, ...dbEnv(), SHUTDOWN_DRAIN_DELAY: '1s' });
    procs.push(p);
    const outcomes: Outcome[] = [];
    let stop = false;
    // The load balancer: polls /ready and stops sending new requests once it is 503.
    const poller = (async () => {
      while (!stop) {
        const r = await request(p.port, 'GET', '/ready');
        if (r.status !== 200) stop = true;
        else await new Promise((res) => setTimeout(res, 50));
      }
    })();
    const worker = async (w: number) => {
      for (let i = 0; !stop; i++) {
        outcomes.push(
          i % 3 === 0
            ? await request(p.port, 'POST', '/_matrix/client/v3/register', { username: uniqueName(`w${w}`), password: 'a good password' })
            : await request(p.port, 'GET', `/_matrix/client/v3/register/available?username=${uniqueName()}`),
        );
      }
    };
    const workers = Promise.all([0, 1, 2, 3].map(worker));
    while (outcomes.length < 40) await new Promise((r) => setTimeout(r, 20));
    p.child.kill('SIGTERM');
    await Promise.all([poller, workers]);
    expect(await p.exited).toBe(0);

    const failed = outcomes.filter((o) => o.error !== undefined || (o.status !== 200 && o.status !== 401));
    expect(failed).toEqual([]);
    expect(outcomes.length).toBeGreaterThan(40);
    expect(p.output()).toMatch(/shut down cleanly/);
  });

  it('finishes requests in flight when it stops listening', async () => {
    // At debug, the service logs each request as it arrives ("incoming request"), not only when
    // it completes: the test waits for those lines.
    const p = await startServiceProcess({ ...ENV, ...dbEnv(), LOG_LEVEL: 'debug', ARGON2_MEMORY_KIB: '65536', ARGON2_ITERATIONS: '3' });
    procs.push(p);
    const before = (p.output().match(/incoming request/g) ?? []).length;
    const inFlight = Promise.all(
      [0, 1, 2, 3].map(() => request(p.port, 'POST', '/_matrix/client/v3/register', { username: uniqueName(), password: 'a good password' })),
    );
    // Every request has been received (and is hashing its password) before the signal.
    await p.waitForOutput(new RegExp(`(?:[\\s\\S]*incoming request){${before + 4}}`));
    p.child.kill('SIGTERM');
    const results = await inFlight;
    expect(results).toEqual([{ status: 401 }, { status: 401 }, { status: 401 }, { status: 401 }]);
    expect(await p.exited).toBe(0);
    // New connections are refused once it has stopped.
    expect((await request(p.port, 'GET', '/health')).error).toBe('ECONNREFUSED');
  });
});
