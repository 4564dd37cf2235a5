// CPU time per request of GET /register/available, for the service (dist/main.js) and its ceiling
// (bench/ceiling.ts), on a fresh database on the local Postgres. Throughput on a shared machine
// swings with other people's work; the CPU the server process spends per request served does not,
// so this is the figure to compare before and after a change to the HTTP layer.
//
//   npm run build && npx tsx bench/cpu-per-request.ts
//
// Environment: CPU_SECONDS (10, each measured load; a 3 s warm-up precedes it), CPU_REPEAT (3:
// alternating runs of each target; the median of each is reported), CPU_SERVICES (the services to
// measure, `name=path/to/main.js[?VAR=value&...],...`; default `service=dist/main.js`: give two
// builds, or one build with different variables, to compare a change in the same alternating runs,
// which cancels most of the other load on the machine),
// CPU_CEILING (1; 0 leaves the ceiling out), CPU_CONNECTIONS (16), BENCH_DATABASE_URL (as
// bench/run.ts), CPU_RATE (unset: as fast as the target answers; a number: that many requests per
// second in all, so every target works under the same batching of events, which steadies the
// comparison), LOG_LEVEL (info), CPU_PROFILE_DIR (set: the services run under node --cpu-prof,
// writing their profiles there on exit).
import autocannon from 'autocannon';
import { freePort, freshDatabase, startChild, type Child } from './harness.js';
import { processCpu } from './proc-cpu.js';

const SECONDS = Number(process.env.CPU_SECONDS ?? '10');
const REPEAT = Number(process.env.CPU_REPEAT ?? '3');
const SERVICES = (process.env.CPU_SERVICES ?? 'service=dist/main.js').split(',').map((s) => [s.slice(0, s.indexOf('=')), s.slice(s.indexOf('=') + 1)] as const);
const CEILING = process.env.CPU_CEILING !== '0';
const CONNECTIONS = Number(process.env.CPU_CONNECTIONS ?? '16');
const ADMIN_URL = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const PROFILE_DIR = process.env.CPU_PROFILE_DIR;
const RATE = process.env.CPU_RATE ? Number(process.env.CPU_RATE) : undefined;
const log = (m: string) => process.stderr.write(`[cpu] ${m}\n`);

async function load(pid: number, url: string, seconds: number): Promise<{ rps: number; cpuPerRequestUs: number; non2xx: number }> {
  const cpu0 = processCpu(pid);
  const r = await autocannon({ url, connections: CONNECTIONS, duration: seconds, ...(RATE ? { overallRate: RATE } : {}) });
  const cpu = processCpu(pid) - cpu0;
  return { rps: r.requests.average, cpuPerRequestUs: (cpu * 1e6) / r.requests.total, non2xx: r.non2xx + r.errors + r.timeouts };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

const database = await freshDatabase(ADMIN_URL, 'mrs_cpu');
const dbUrl = database.url;
const children: Child[] = [];
try {
  const targets: { name: string; pid: number; url: string }[] = [];
  for (const [name, spec] of SERVICES) {
    const [main, vars] = spec.split('?') as [string, string | undefined];
    const args = [...(PROFILE_DIR ? ['--cpu-prof', `--cpu-prof-dir=${PROFILE_DIR}`] : []), main];
    const s = await startChild(
      args,
      {
        DATABASE_URL: dbUrl,
        HOST: '127.0.0.1',
        SERVER_NAME: 'bench.example',
        ENABLE_REGISTRATION: 'true',
        ENABLE_REGISTRATION_WITHOUT_VERIFICATION: 'true',
        LOG_LEVEL: process.env.LOG_LEVEL ?? 'info',
        RATE_LIMIT_AVAILABLE_PER_MINUTE: '1000000',
        ...Object.fromEntries(new URLSearchParams(vars ?? '')),
      },
      await freePort(),
      '/_matrix/client/v3/register/available?username=x',
    );
    children.push(s);
    targets.push({ name, pid: s.proc.pid!, url: `http://127.0.0.1:${s.port}/_matrix/client/v3/register/available?username=nobody` });
  }
  if (CEILING) {
    const c = await startChild(['--import', 'tsx', 'bench/ceiling.ts'], { CEILING_DATABASE_URL: dbUrl, CEILING_POOL_SIZE: '10' }, await freePort(), '/available?username=x');
    children.push(c);
    targets.push({ name: 'ceiling', pid: c.proc.pid!, url: `http://127.0.0.1:${c.port}/available?username=nobody` });
  }
  const results = new Map<string, Awaited<ReturnType<typeof load>>[]>();
  for (const t of targets) await load(t.pid, t.url, 3);
  for (let i = 0; i < REPEAT; i++) {
    // Each round starts with the next target, so none is always measured first.
    for (const t of [...targets.slice(i % targets.length), ...targets.slice(0, i % targets.length)]) {
      const r = await load(t.pid, t.url, SECONDS);
      log(`${t.name} run ${i + 1}: ${r.rps.toFixed(0)} req/s, ${r.cpuPerRequestUs.toFixed(1)} µs CPU/request${r.non2xx ? `, ${r.non2xx} non-2xx/errors` : ''}`);
      results.set(t.name, [...(results.get(t.name) ?? []), r]);
    }
  }
  const first = results.get(targets[0]!.name)!;
  for (const [name, rs] of results) {
    // Runs of different targets in the same round saw about the same other load: the median of
    // the per-round differences is steadier than the difference of the medians.
    const paired = name === targets[0]!.name ? '' : `, ${median(rs.map((r, i) => r.cpuPerRequestUs - first[i]!.cpuPerRequestUs)).toFixed(1)} µs vs ${targets[0]!.name} (median of paired runs)`;
    process.stdout.write(
      `${name}: median ${median(rs.map((r) => r.cpuPerRequestUs)).toFixed(1)} µs CPU/request, ${median(rs.map((r) => r.rps)).toFixed(0)} req/s (${REPEAT} × ${SECONDS} s, ${CONNECTIONS} connections)${paired}\n`,
    );
  }
} finally {
  for (const c of children) await c.stop();
  await database.drop();
}
