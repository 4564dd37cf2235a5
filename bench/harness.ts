// What bench/run.ts and bench/memory.ts share: the service's benchmark environment, starting and
// stopping a child process, a fresh Postgres database, the loads (autocannon GETs and m.login.dummy
// registrations) and the memory figures Linux keeps per process.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { createServer } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import pg from 'pg';
import { HttpClient } from './http-client.js';
import { postgresCpu, postgresCpuSince, threadCpu } from './proc-cpu.js';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const THREADPOOL = Number(process.env.UV_THREADPOOL_SIZE ?? String(os.availableParallelism()));
export const ADMIN_TOKEN = randomBytes(24).toString('hex');
export const ARGON2 = { ARGON2_MEMORY_KIB: '19456', ARGON2_ITERATIONS: '2', ARGON2_PARALLELISM: '1' };
export const READY_PATH = '/_matrix/client/v3/register/available?username=x';
export const AVAILABLE_PATH = '/_matrix/client/v3/register/available?username=nobody';
export const validityPath = (token: string) => `/_matrix/client/v1/register/m.login.registration_token/validity?token=${token}`;

/** The service's environment for a benchmark: dbEnv names the database (DATABASE_URL or DATA_DIR). */
export function serviceEnv(dbEnv: Record<string, string>, logLevel: string): Record<string, string> {
  return {
    ...dbEnv,
    ...ARGON2,
    HOST: '127.0.0.1',
    SERVER_NAME: 'bench.example',
    ENABLE_REGISTRATION: 'true',
    ENABLE_REGISTRATION_WITHOUT_VERIFICATION: 'true',
    ADMIN_TOKEN,
    LOG_LEVEL: logLevel,
    // Rate limits out of the way (their maxima): this measures throughput, not the limits.
    RATE_LIMIT_REGISTER_PER_SECOND: '1000000',
    RATE_LIMIT_REGISTER_BURST: '1000000',
    RATE_LIMIT_REGISTER_REQUESTS_PER_MINUTE: '1000000',
    RATE_LIMIT_AVAILABLE_PER_MINUTE: '1000000',
    RATE_LIMIT_TOKEN_VALIDITY_PER_SECOND: '1000000',
    RATE_LIMIT_TOKEN_VALIDITY_BURST: '1000000',
  };
}

// ---------------------------------------------------------------- processes

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
    s.on('error', reject);
  });
}

export interface Child {
  proc: ChildProcess;
  port: number;
  stop(): Promise<void>;
}

/** Starts `node args…` in the checkout on `port` and waits until readyPath answers (60 s at most). */
export async function startChild(args: string[], env: Record<string, string>, port: number, readyPath: string): Promise<Child> {
  const proc = spawn(process.execPath, args, {
    cwd: ROOT,
    env: { ...process.env, ...env, PORT: String(port), UV_THREADPOOL_SIZE: String(THREADPOOL) },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  proc.stderr!.on('data', (c) => (stderr += c));
  const exited = new Promise<never>((_, reject) => proc.once('exit', (code) => reject(new Error(`${args.join(' ')} exited (${code}): ${stderr}`))));
  const deadline = Date.now() + 60_000;
  for (;;) {
    const ok = await Promise.race([get(port, readyPath).then((r) => r.status > 0, () => false), exited]);
    if (ok) break;
    if (Date.now() > deadline) throw new Error(`${args.join(' ')} not ready after 60 s: ${stderr}`);
    await new Promise((r) => setTimeout(r, 250));
  }
  exited.catch(() => {});
  return {
    proc,
    port,
    stop: () =>
      new Promise((resolve) => {
        if (proc.exitCode !== null) return resolve();
        proc.once('exit', () => resolve());
        proc.kill('SIGTERM');
        setTimeout(() => proc.kill('SIGKILL'), 10_000).unref();
      }),
  };
}

/** A new database on adminUrl's server, and how to drop it. */
export async function freshDatabase(adminUrl: string, prefix: string): Promise<{ name: string; url: string; drop(): Promise<void> }> {
  const name = `${prefix}_${randomBytes(5).toString('hex')}`;
  const run = async (sql: string) => {
    const admin = new pg.Client({ connectionString: adminUrl });
    await admin.connect();
    try {
      await admin.query(sql);
    } finally {
      await admin.end();
    }
  };
  await run(`CREATE DATABASE ${name}`);
  const u = new URL(adminUrl);
  u.pathname = `/${name}`;
  return { name, url: u.toString(), drop: () => run(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`) };
}

// ---------------------------------------------------------------- memory (Linux /proc)

/** Resets the process's peak RSS to its current RSS (Linux clear_refs "5"); false if refused. */
export function resetPeak(pid: number): boolean {
  try {
    writeFileSync(`/proc/${pid}/clear_refs`, '5');
    return true;
  } catch {
    return false;
  }
}

export function statusMb(pid: number, field: 'VmHWM' | 'VmRSS'): number {
  const m = new RegExp(`${field}:\\s+(\\d+) kB`).exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
}
export const peakRssMb = (pid: number) => statusMb(pid, 'VmHWM');

// ---------------------------------------------------------------- HTTP and loads

export const agent = new http.Agent({ keepAlive: true, maxSockets: 256 });

/** One request with the admin token; the body is sent as JSON, the answer parsed when it is. */
export function request(port: number, method: string, p: string, body?: unknown): Promise<{ status: number; json: any }> {
  return new Promise((resolve, reject) => {
    const data = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
    const req = http.request(
      { host: '127.0.0.1', port, method, path: p, agent, headers: data ? { 'content-type': 'application/json', 'content-length': data.length, authorization: `Bearer ${ADMIN_TOKEN}` } : { authorization: `Bearer ${ADMIN_TOKEN}` } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let json: any;
          try {
            json = JSON.parse(text);
          } catch {
            json = text;
          }
          resolve({ status: res.statusCode ?? 0, json });
        });
      },
    );
    req.on('error', reject);
    req.end(data);
  });
}
export const get = (port: number, p: string) => request(port, 'GET', p);

/** A new registration token (admin API), for the validity load. */
export async function newRegistrationToken(port: number): Promise<string> {
  const token = await request(port, 'POST', '/_synapse/admin/v1/registration_tokens/new', {});
  if (token.status !== 200) throw new Error(`cannot create a registration token: ${JSON.stringify(token.json)}`);
  return token.json.token as string;
}

export interface HttpFigure {
  rps: number;
  p50: number;
  p99: number;
  non2xx: number;
  errors: number;
  total: number;
}

export async function cannon(port: number, p: string, seconds: number, connections: number): Promise<HttpFigure> {
  const r = await autocannon({ url: `http://127.0.0.1:${port}${p}`, connections, duration: seconds });
  return { rps: r.requests.average, p50: r.latency.p50, p99: r.latency.p99, non2xx: r.non2xx, errors: r.errors + r.timeouts, total: r.requests.total };
}

/** The UIA session of a 401's JSON body, or undefined if it has none. */
function sessionOf(body: Buffer): string | undefined {
  try {
    const session: unknown = JSON.parse(body.toString('utf8')).session;
    return typeof session === 'string' ? session : undefined;
  } catch {
    return undefined;
  }
}

/** Where the CPU of the measured registrations went (ms per registration), by process and thread. */
export interface CpuSplit {
  hashing: number;
  main: number;
  postgres: number;
  load: number;
}

/**
 * Complete registrations (401 then 200) by `clients` concurrent clients, for `seconds`, each
 * client on its own keep-alive connection through bench/http-client.ts, which takes less CPU
 * from the service than node:http would (see that file); with `target`, where the CPU went in
 * the service process `target.pid` (and, on Postgres, the backends serving `target.database`).
 */
export async function registrations(port: number, clients: number, seconds: number, tag: string, target?: { pid: number; database?: string }) {
  const head = HttpClient.head('POST', '/_matrix/client/v3/register', '127.0.0.1', port, ['Content-Type: application/json']);
  const latencies: number[] = [];
  let failures = 0;
  let n = 0;
  // The load generator's own CPU (this process, user + system): on a shared machine every
  // millisecond of it is taken from the hashing being measured, so the table shows it.
  const cpu0 = process.cpuUsage();
  const threads0 = target ? threadCpu(target.pid) : undefined;
  const pg0 = target?.database ? postgresCpu(target.database) : undefined;
  const start = performance.now();
  const end = start + seconds * 1000;
  await Promise.all(
    Array.from({ length: clients }, async (_, w) => {
      const client = new HttpClient(port);
      try {
        while (performance.now() < end) {
          const t0 = performance.now();
          const first = await client.request(head, `{"username":"b${tag}w${w}n${n++}","password":"bench password 1234"}`);
          if (first.status !== 401) {
            failures += 1;
            continue;
          }
          const session = sessionOf(first.body);
          if (session === undefined) {
            failures += 1; // as before: a 401 without a session cannot complete a registration
            continue;
          }
          const second = await client.request(head, `{"auth":{"type":"m.login.dummy","session":${JSON.stringify(session)}}}`);
          if (second.status !== 200) {
            failures += 1;
            continue;
          }
          latencies.push(performance.now() - t0);
        }
      } finally {
        client.close();
      }
    }),
  );
  const elapsed = (performance.now() - start) / 1000;
  const cpu = process.cpuUsage(cpu0);
  const perRegistration = (seconds: number) => (seconds * 1000) / latencies.length;
  let split: CpuSplit | undefined;
  if (target && threads0) {
    const threads1 = threadCpu(target.pid);
    split = {
      // The service's other threads: argon2id on libuv's pool, and V8's (GC) helpers.
      hashing: perRegistration(threads1.others - threads0.others),
      main: perRegistration(threads1.main - threads0.main),
      postgres: pg0 ? perRegistration(postgresCpuSince(pg0, postgresCpu(target.database!))) : NaN,
      load: perRegistration((cpu.user + cpu.system) / 1e6),
    };
  }
  latencies.sort((a, b) => a - b);
  const pct = (q: number) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? NaN;
  return { perSecond: latencies.length / elapsed, p50: pct(0.5), p99: pct(0.99), failures, count: latencies.length, loadCpuMs: (cpu.user + cpu.system) / 1000 / latencies.length, split };
}
