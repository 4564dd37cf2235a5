// npm run bench: measures the BUILT service (node dist/main.js) on 127.0.0.1 against the embedded
// database and a real Postgres (a fresh database on BENCH_DATABASE_URL's server, dropped
// afterwards), each figure beside its ceiling measured in the same run:
//   1. GET /register/available vs a bare Fastify + pg one-row query (bench/ceiling.ts)
//   2. complete m.login.dummy registrations/s vs raw argon2id hashes/s (bench/hash-rate.ts)
//   3. UIA round trip (401 then 200) latency, and token validity checks/s
//   4. peak RSS of the service process under each load (/proc/<pid>/status VmHWM, reset per load)
// and prints one table with the ratios. Loads run one at a time (the machine has few cores).
//
// Environment: BENCH_SECONDS (10; shorter runs are for checking the harness only),
// BENCH_DATABASES (embedded,postgres), BENCH_DATABASE_URL (postgres://postgres@127.0.0.1:5432/postgres),
// BENCH_CONNECTIONS (16, HTTP load), BENCH_CLIENTS (registration clients; 2 x thread pool),
// BENCH_REPEAT (1: how many alternating service/ceiling runs; the best of each is reported),
// BENCH_LOG_LEVEL (info, the service's default),
// UV_THREADPOOL_SIZE (passed to the service and the hash-rate child; default: the core count).
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { createServer } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import pg from 'pg';
import { HttpClient } from './http-client.js';
import { postgresCpu, postgresCpuSince, threadCpu } from './proc-cpu.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const SECONDS = Number(process.env.BENCH_SECONDS ?? '10');
const KINDS = (process.env.BENCH_DATABASES ?? 'embedded,postgres').split(',').map((s) => s.trim()) as ('embedded' | 'postgres')[];
const ADMIN_URL = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? '16');
const THREADPOOL = Number(process.env.UV_THREADPOOL_SIZE ?? String(os.availableParallelism()));
const CLIENTS = Number(process.env.BENCH_CLIENTS ?? String(THREADPOOL * 2));
const WARMUP_SECONDS = Math.min(3, SECONDS);
const REPEAT = Number(process.env.BENCH_REPEAT ?? '1');
const LOG_LEVEL = process.env.BENCH_LOG_LEVEL ?? 'info';
const ADMIN_TOKEN = randomBytes(24).toString('hex');
const ARGON2 = { ARGON2_MEMORY_KIB: '19456', ARGON2_ITERATIONS: '2', ARGON2_PARALLELISM: '1' };

const log = (m: string) => process.stderr.write(`[bench] ${m}\n`);

// ---------------------------------------------------------------- processes

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
    s.on('error', reject);
  });
}

interface Child {
  proc: ChildProcess;
  port: number;
  stop(): Promise<void>;
}

async function startChild(args: string[], env: Record<string, string>, port: number, readyPath: string): Promise<Child> {
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

/** Resets the process's peak RSS to its current RSS (Linux clear_refs "5"); false if refused. */
function resetPeak(pid: number): boolean {
  try {
    writeFileSync(`/proc/${pid}/clear_refs`, '5');
    return true;
  } catch {
    return false;
  }
}

function statusMb(pid: number, field: 'VmHWM' | 'VmRSS'): number {
  const m = new RegExp(`${field}:\\s+(\\d+) kB`).exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
}
const peakRssMb = (pid: number) => statusMb(pid, 'VmHWM');

// ---------------------------------------------------------------- HTTP

const agent = new http.Agent({ keepAlive: true, maxSockets: 256 });

function request(port: number, method: string, p: string, body?: unknown): Promise<{ status: number; json: any }> {
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
const get = (port: number, p: string) => request(port, 'GET', p);

interface HttpFigure {
  rps: number;
  p50: number;
  p99: number;
  non2xx: number;
  errors: number;
}

async function cannon(port: number, p: string, seconds: number): Promise<HttpFigure> {
  const r = await autocannon({ url: `http://127.0.0.1:${port}${p}`, connections: CONNECTIONS, duration: seconds });
  return { rps: r.requests.average, p50: r.latency.p50, p99: r.latency.p99, non2xx: r.non2xx, errors: r.errors + r.timeouts };
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

/**
 * Complete registrations (401 then 200) by `clients` concurrent clients, for `seconds`, each
 * client on its own keep-alive connection through bench/http-client.ts, which takes less CPU
 * from the service than node:http would (see that file).
 */
/** Where the CPU of the measured registrations went (ms per registration), by process and thread. */
interface CpuSplit {
  hashing: number;
  main: number;
  postgres: number;
  load: number;
}

/**
 * Complete registrations (401 then 200) by `clients` concurrent clients, for `seconds`, against
 * the service process `target.pid` (and, on Postgres, the backends serving `target.database`).
 */
async function registrations(port: number, clients: number, seconds: number, tag: string, target?: { pid: number; database?: string }) {
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

async function hashRate(seconds: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const proc = spawn(process.execPath, ['--import', 'tsx', 'bench/hash-rate.ts'], {
      cwd: ROOT,
      env: { ...process.env, ...ARGON2, HASH_SECONDS: String(seconds), HASH_CONCURRENCY: String(CLIENTS), UV_THREADPOOL_SIZE: String(THREADPOOL) },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    proc.stdout!.on('data', (c) => (out += c));
    proc.on('exit', (code) => (code === 0 ? resolve(JSON.parse(out).perSecond) : reject(new Error(`hash-rate exited ${code}`))));
  });
}

// ---------------------------------------------------------------- one database kind

interface Results {
  kind: string;
  ceiling: HttpFigure;
  available: HttpFigure;
  validity: HttpFigure;
  hashes: number;
  reg: Awaited<ReturnType<typeof registrations>>;
  uia: Awaited<ReturnType<typeof registrations>>;
  rss: Record<string, number>;
  rssReset: boolean;
  /** The service's RSS when ready, before any load. */
  idleRss: number;
  /** The ceiling process's peak RSS (the database client alone, or PGlite itself when embedded). */
  ceilingRss: number;
  /** The service's peak RSS over its first start (database creation and migrations). */
  firstStartRss: number;
}

async function benchKind(kind: 'embedded' | 'postgres'): Promise<Results> {
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'mrs-bench-'));
  let dbName: string | undefined;
  let dbUrl: string | undefined;
  const children: Child[] = [];
  try {
    if (kind === 'postgres') {
      dbName = `mrs_bench_${randomBytes(5).toString('hex')}`;
      const admin = new pg.Client({ connectionString: ADMIN_URL });
      await admin.connect();
      await admin.query(`CREATE DATABASE ${dbName}`);
      await admin.end();
      const u = new URL(ADMIN_URL);
      u.pathname = `/${dbName}`;
      dbUrl = u.toString();
    }
    const dbEnv: Record<string, string> = kind === 'postgres' ? { DATABASE_URL: dbUrl! } : { DATA_DIR: path.join(tmp, 'service') };
    const serviceEnv: Record<string, string> = {
      ...dbEnv,
      ...ARGON2,
      HOST: '127.0.0.1',
      SERVER_NAME: 'bench.example',
      ENABLE_REGISTRATION: 'true',
      ENABLE_REGISTRATION_WITHOUT_VERIFICATION: 'true',
      ADMIN_TOKEN,
      LOG_LEVEL: LOG_LEVEL,
      // Rate limits out of the way (their maxima): this measures throughput, not the limits.
      RATE_LIMIT_REGISTER_PER_SECOND: '1000000',
      RATE_LIMIT_REGISTER_BURST: '1000000',
      RATE_LIMIT_REGISTER_REQUESTS_PER_MINUTE: '1000000',
      RATE_LIMIT_AVAILABLE_PER_MINUTE: '1000000',
      RATE_LIMIT_TOKEN_VALIDITY_PER_SECOND: '1000000',
      RATE_LIMIT_TOKEN_VALIDITY_BURST: '1000000',
    };
    const readyPath = '/_matrix/client/v3/register/available?username=x';

    // First start: creates the database (initdb when embedded) and migrates; its peak is reported
    // apart, and the loads run on a second start, as a service normally runs.
    log(`${kind}: first start of the service`);
    const first = await startChild(['dist/main.js'], serviceEnv, await freePort(), readyPath);
    const firstStartRss = peakRssMb(first.proc.pid!);
    await first.stop();

    log(`${kind}: ceiling (bare Fastify + the same one-row query) and service`);
    const ceilingEnv: Record<string, string> = kind === 'postgres' ? { CEILING_DATABASE_URL: dbUrl!, CEILING_POOL_SIZE: '10' } : { CEILING_DATA_DIR: path.join(tmp, 'ceiling') };
    const ceilingChild = await startChild(['--import', 'tsx', 'bench/ceiling.ts'], ceilingEnv, await freePort(), '/available?username=x');
    children.push(ceilingChild);
    resetPeak(ceilingChild.proc.pid!); // its start-up (initdb when embedded) is not the query's cost
    const service = await startChild(['dist/main.js'], serviceEnv, await freePort(), readyPath);
    children.push(service);
    const pid = service.proc.pid!;
    const idleRss = statusMb(pid, 'VmRSS');
    const rssReset = resetPeak(pid);
    const rss: Record<string, number> = {};
    const measure = async <T>(name: string, f: () => Promise<T>): Promise<T> => {
      resetPeak(pid);
      const r = await f();
      rss[name] = Math.max(rss[name] ?? 0, peakRssMb(pid));
      return r;
    };
    const best = <T>(xs: T[], key: (x: T) => number): T => xs.reduce((a, b) => (key(b) > key(a) ? b : a));

    const token = await request(service.port, 'POST', '/_synapse/admin/v1/registration_tokens/new', {});
    if (token.status !== 200) throw new Error(`cannot create a registration token: ${JSON.stringify(token.json)}`);
    const availablePath = '/_matrix/client/v3/register/available?username=nobody';
    const validityPath = `/_matrix/client/v1/register/m.login.registration_token/validity?token=${token.json.token}`;

    // Service and ceiling alternate (both stay up; only the loaded one works), REPEAT times each;
    // the best run of each counts, which discounts bursts of load from other work on the machine.
    const ceilingRuns: HttpFigure[] = [];
    const availableRuns: HttpFigure[] = [];
    await cannon(ceilingChild.port, '/available?username=nobody', WARMUP_SECONDS);
    await cannon(service.port, availablePath, WARMUP_SECONDS);
    for (let i = 0; i < REPEAT; i++) {
      log(`${kind}: ceiling, run ${i + 1}`);
      ceilingRuns.push(await cannon(ceilingChild.port, '/available?username=nobody', SECONDS));
      log(`${kind}: /register/available, run ${i + 1}`);
      availableRuns.push(await measure('available', () => cannon(service.port, availablePath, SECONDS)));
    }
    const ceilingRss = peakRssMb(ceilingChild.proc.pid!);
    await ceilingChild.stop();

    log(`${kind}: token validity`);
    await cannon(service.port, validityPath, WARMUP_SECONDS);
    const validityRuns: HttpFigure[] = [];
    for (let i = 0; i < REPEAT; i++) validityRuns.push(await measure('validity', () => cannon(service.port, validityPath, SECONDS)));

    log(`${kind}: UIA round trips, one client`);
    await registrations(service.port, 1, WARMUP_SECONDS, `${kind[0]}w`);
    const uia = await measure('uia', () => registrations(service.port, 1, SECONDS, `${kind[0]}u`));

    await registrations(service.port, CLIENTS, WARMUP_SECONDS, `${kind[0]}x`);
    const regRuns: Awaited<ReturnType<typeof registrations>>[] = [];
    const hashRuns: number[] = [];
    for (let i = 0; i < REPEAT; i++) {
      log(`${kind}: registrations, ${CLIENTS} clients, run ${i + 1}`);
      regRuns.push(await measure('registrations', () => registrations(service.port, CLIENTS, SECONDS, `${kind[0]}r${i}`, { pid, database: dbName })));
      log(`${kind}: raw argon2id hash rate, ${CLIENTS} in flight, run ${i + 1}`);
      hashRuns.push(await hashRate(SECONDS));
    }
    await service.stop();
    return {
      kind,
      ceiling: best(ceilingRuns, (r) => r.rps),
      available: best(availableRuns, (r) => r.rps),
      validity: best(validityRuns, (r) => r.rps),
      hashes: Math.max(...hashRuns),
      reg: best(regRuns, (r) => r.perSecond),
      uia,
      rss,
      rssReset,
      idleRss,
      ceilingRss,
      firstStartRss,
    };
  } finally {
    for (const c of children) await c.stop().catch(() => {});
    if (dbName) {
      const admin = new pg.Client({ connectionString: ADMIN_URL });
      await admin.connect();
      await admin.query(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`);
      await admin.end();
    }
    rmSync(tmp, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------- report

const f0 = (n: number) => (Number.isFinite(n) ? n.toFixed(0) : '—');
const f1 = (n: number) => (Number.isFinite(n) ? n.toFixed(1) : '—');
const f2 = (n: number) => (Number.isFinite(n) ? n.toFixed(2) : '—');
const pct = (a: number, b: number) => (b > 0 ? `${((a / b) * 100).toFixed(0)}%` : '—');

function table(results: Results[]): string {
  const rows: string[][] = [['Database', 'Measure', 'Service', 'Ceiling', 'Ratio', 'Target']];
  for (const r of results) {
    const k = r.kind;
    rows.push([k, 'GET /register/available req/s', f0(r.available.rps), f0(r.ceiling.rps), pct(r.available.rps, r.ceiling.rps), '≥ 75%']);
    rows.push([k, '  latency p50 / p99 (ms)', `${r.available.p50} / ${r.available.p99}`, `${r.ceiling.p50} / ${r.ceiling.p99}`, '', '']);
    rows.push([k, 'Registrations/s (dummy flow) vs argon2id hashes/s', f1(r.reg.perSecond), f1(r.hashes), pct(r.reg.perSecond, r.hashes), '≥ 90%']);
    rows.push([k, `  round trip p50 / p99 (ms), ${CLIENTS} clients`, `${f0(r.reg.p50)} / ${f0(r.reg.p99)}`, '', '', '']);
    const c = r.reg.split;
    rows.push([k, '  CPU ms per registration: hashing threads / main thread / Postgres / load generator', c ? `${f1(c.hashing)} / ${f2(c.main)} / ${f2(c.postgres)} / ${f2(c.load)}` : '—', '', '', '']);
    rows.push([k, 'UIA round trip (401 then 200) p50 / p99 (ms), 1 client', `${f0(r.uia.p50)} / ${f0(r.uia.p99)}`, '', '', '']);
    rows.push([k, 'Token validity checks req/s', f0(r.validity.rps), '', '', '']);
    rows.push([k, '  latency p50 / p99 (ms)', `${r.validity.p50} / ${r.validity.p99}`, '', '', '']);
    const peak = Math.max(...Object.values(r.rss));
    rows.push([k, `Peak RSS MB (available / validity / UIA / registrations)`, `${f0(r.rss.available!)} / ${f0(r.rss.validity!)} / ${f0(r.rss.uia!)} / ${f0(r.rss.registrations!)}`, `${f0(r.ceilingRss)}`, peak < 250 ? 'ok' : 'OVER', '< 250']);
    rows.push([k, '  RSS when ready, before any load / peak over the first start (MB)', `${f0(r.idleRss)} / ${f0(r.firstStartRss)}`, '', '', '']);
  }
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((row) => row[i]!.length)));
  const line = (row: string[]) => `| ${row.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`;
  return [line(rows[0]!), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...rows.slice(1).map(line)].join('\n');
}

async function main(): Promise<void> {
  if (SECONDS < 10) log(`BENCH_SECONDS=${SECONDS}: shorter than 10 s, for checking the harness only; do not publish these figures`);
  const load0 = os.loadavg();
  const results: Results[] = [];
  for (const kind of KINDS) results.push(await benchKind(kind));
  const load1 = os.loadavg();
  const problems = results.flatMap((r) => [
    ...(r.ceiling.non2xx + r.ceiling.errors > 0 ? [`${r.kind}: ceiling had ${r.ceiling.non2xx} non-2xx / ${r.ceiling.errors} errors`] : []),
    ...(r.available.non2xx + r.available.errors > 0 ? [`${r.kind}: /register/available had ${r.available.non2xx} non-2xx / ${r.available.errors} errors`] : []),
    ...(r.validity.non2xx + r.validity.errors > 0 ? [`${r.kind}: validity had ${r.validity.non2xx} non-2xx / ${r.validity.errors} errors`] : []),
    ...(r.reg.failures + r.uia.failures > 0 ? [`${r.kind}: ${r.reg.failures + r.uia.failures} registrations failed`] : []),
    ...(r.rssReset ? [] : [`${r.kind}: could not reset the peak RSS between loads; each figure is the peak since start`]),
  ]);
  const cpus = os.cpus();
  const out = [
    '',
    `Machine: ${cpus.length} × ${cpus[0]?.model ?? 'unknown CPU'}, ${f1(os.totalmem() / 2 ** 30)} GiB RAM, ${os.type()} ${os.release()}, Node ${process.version}`,
    `Load average before / after: ${load0.map(f1).join(' ')} / ${load1.map(f1).join(' ')}`,
    `Each figure: ${SECONDS} s after ${WARMUP_SECONDS} s warm-up; HTTP load ${CONNECTIONS} connections (autocannon); ${CLIENTS} registration clients; UV_THREADPOOL_SIZE=${THREADPOOL}; argon2id m=${ARGON2.ARGON2_MEMORY_KIB} KiB t=${ARGON2.ARGON2_ITERATIONS} p=${ARGON2.ARGON2_PARALLELISM}; LOG_LEVEL=${LOG_LEVEL}; best of ${REPEAT} run(s) where repeated`,
    '',
    table(results),
    '',
    ...(problems.length ? ['Problems (figures above are not valid where listed):', ...problems.map((p) => `  - ${p}`)] : []),
  ].join('\n');
  process.stdout.write(`${out}\n`);
  agent.destroy();
  if (problems.some((p) => !p.includes('peak RSS'))) process.exitCode = 1;
}

await main();
