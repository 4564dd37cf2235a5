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
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  agent,
  ARGON2,
  AVAILABLE_PATH,
  cannon as cannonAt,
  freePort,
  freshDatabase,
  newRegistrationToken,
  peakRssMb,
  READY_PATH,
  registrations,
  resetPeak,
  ROOT,
  serviceEnv,
  startChild,
  statusMb,
  THREADPOOL,
  validityPath,
  type Child,
  type HttpFigure,
} from './harness.js';

const SECONDS = Number(process.env.BENCH_SECONDS ?? '10');
const KINDS = (process.env.BENCH_DATABASES ?? 'embedded,postgres').split(',').map((s) => s.trim()) as ('embedded' | 'postgres')[];
const ADMIN_URL = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? '16');
const CLIENTS = Number(process.env.BENCH_CLIENTS ?? String(THREADPOOL * 2));
const WARMUP_SECONDS = Math.min(3, SECONDS);
const REPEAT = Number(process.env.BENCH_REPEAT ?? '1');
const LOG_LEVEL = process.env.BENCH_LOG_LEVEL ?? 'info';

const log = (m: string) => process.stderr.write(`[bench] ${m}\n`);

const cannon = (port: number, p: string, seconds: number) => cannonAt(port, p, seconds, CONNECTIONS);

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
  let database: Awaited<ReturnType<typeof freshDatabase>> | undefined;
  const children: Child[] = [];
  try {
    if (kind === 'postgres') database = await freshDatabase(ADMIN_URL, 'mrs_bench');
    const dbUrl = database?.url;
    const env = serviceEnv(dbUrl !== undefined ? { DATABASE_URL: dbUrl } : { DATA_DIR: path.join(tmp, 'service') }, LOG_LEVEL);

    // First start: creates the database (initdb when embedded) and migrates; its peak is reported
    // apart, and the loads run on a second start, as a service normally runs.
    log(`${kind}: first start of the service`);
    const first = await startChild(['dist/main.js'], env, await freePort(), READY_PATH);
    const firstStartRss = peakRssMb(first.proc.pid!);
    await first.stop();

    log(`${kind}: ceiling (bare Fastify + the same one-row query) and service`);
    const ceilingEnv: Record<string, string> = kind === 'postgres' ? { CEILING_DATABASE_URL: dbUrl!, CEILING_POOL_SIZE: '10' } : { CEILING_DATA_DIR: path.join(tmp, 'ceiling') };
    const ceilingChild = await startChild(['--import', 'tsx', 'bench/ceiling.ts'], ceilingEnv, await freePort(), '/available?username=x');
    children.push(ceilingChild);
    resetPeak(ceilingChild.proc.pid!); // its start-up (initdb when embedded) is not the query's cost
    const service = await startChild(['dist/main.js'], env, await freePort(), READY_PATH);
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

    const availablePath = AVAILABLE_PATH;
    const tokenValidityPath = validityPath(await newRegistrationToken(service.port));

    // Service and ceiling alternate (both stay up; only the loaded one works), REPEAT times each;
    // the best run of each counts, which discounts bursts of load from other work on the machine.
    const ceilingRuns: HttpFigure[] = [];
    const availableRuns: HttpFigure[] = [];
    await cannon(ceilingChild.port, '/available?username=nobody', WARMUP_SECONDS);
    await cannon(service.port, availablePath, WARMUP_SECONDS);
    for (let i = 0; i < REPEAT; i++) {
      ceilingRuns.push(await cannon(ceilingChild.port, '/available?username=nobody', SECONDS));
      log(`${kind}: ceiling, run ${i + 1}: ${ceilingRuns[i]!.rps.toFixed(0)} req/s`);
      availableRuns.push(await measure('available', () => cannon(service.port, availablePath, SECONDS)));
      log(`${kind}: /register/available, run ${i + 1}: ${availableRuns[i]!.rps.toFixed(0)} req/s`);
    }
    const ceilingRss = peakRssMb(ceilingChild.proc.pid!);
    await ceilingChild.stop();

    log(`${kind}: token validity`);
    await cannon(service.port, tokenValidityPath, WARMUP_SECONDS);
    const validityRuns: HttpFigure[] = [];
    for (let i = 0; i < REPEAT; i++) validityRuns.push(await measure('validity', () => cannon(service.port, tokenValidityPath, SECONDS)));

    log(`${kind}: UIA round trips, one client`);
    await registrations(service.port, 1, WARMUP_SECONDS, `${kind[0]}w`);
    const uia = await measure('uia', () => registrations(service.port, 1, SECONDS, `${kind[0]}u`));

    await registrations(service.port, CLIENTS, WARMUP_SECONDS, `${kind[0]}x`);
    const regRuns: Awaited<ReturnType<typeof registrations>>[] = [];
    const hashRuns: number[] = [];
    for (let i = 0; i < REPEAT; i++) {
      regRuns.push(await measure('registrations', () => registrations(service.port, CLIENTS, SECONDS, `${kind[0]}r${i}`, { pid, database: database?.name })));
      log(`${kind}: registrations, ${CLIENTS} clients, run ${i + 1}: ${regRuns[i]!.perSecond.toFixed(1)}/s`);
      hashRuns.push(await hashRate(SECONDS));
      log(`${kind}: raw argon2id hash rate, ${CLIENTS} in flight, run ${i + 1}: ${hashRuns[i]!.toFixed(1)}/s`);
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
    await database?.drop();
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
