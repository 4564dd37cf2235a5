// Instructions per request of GET /register/available, for the service and its ceiling, counted by
// valgrind's callgrind: user-space instructions of the whole process (JIT code, V8, libuv, all
// threads), not the kernel's. On a shared VM the CPU time of a request swings by ±15% from run to
// run (bench/cpu-per-request.ts); the steady-state count varies by a few percent, so it shows what
// a change to the per-request work is worth. The system calls per request are the same for both (2 read, 2 writev
// with the same Postgres query; strace -c), so the difference in instructions is the service's
// own work beyond the ceiling's.
//
//   apt-get install valgrind && npm run build && npx tsx bench/instructions.ts
//
// Environment: INSTR_TARGETS (`service=dist/main.js,ceiling`; a service is
// `name=path/to/main.js[?VAR=value&...]`, so two builds or two settings compare side by side),
// INSTR_REQUESTS (3000 per counted window, three windows, after 9000 uncounted to warm up the
// JIT; the lowest window is reported, see below), BENCH_DATABASE_URL
// (as bench/run.ts). Under valgrind a request takes ~5 ms, so each target takes about a minute.
import { spawn, execFileSync } from 'node:child_process';
import { readFileSync, rmSync, readdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import autocannon from 'autocannon';
import { AVAILABLE_PATH, freePort, freshDatabase, get, ROOT, serviceEnv } from './harness.js';

const TARGETS = (process.env.INSTR_TARGETS ?? 'service=dist/main.js,ceiling').split(',');
const REQUESTS = Number(process.env.INSTR_REQUESTS ?? '3000');
const ADMIN_URL = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

// valgrind names its control pipe after $LOGNAME and $HOST, and callgrind_control must find the
// same name: both get these values (the service's own HOST is its listen address).
const VG_ENV = { LOGNAME: 'mrs-bench', HOST: 'mrs-bench' };

async function count(name: string, spec: string, dbUrl: string): Promise<number> {
  const ceiling = spec === 'ceiling';
  const [main, vars] = spec.split('?') as [string, string | undefined];
  const port = await freePort();
  const args = ceiling ? ['--import', 'tsx', 'bench/ceiling.ts'] : [main];
  const env = ceiling
    ? { CEILING_DATABASE_URL: dbUrl, CEILING_POOL_SIZE: '10' }
    : { ...serviceEnv({ DATABASE_URL: dbUrl }, 'info'), ...Object.fromEntries(new URLSearchParams(vars ?? '')) };
  const out = path.join(os.tmpdir(), `mrs-callgrind-${process.pid}-${name}.out`);
  const proc = spawn('valgrind', ['--tool=callgrind', '--instr-atstart=no', `--callgrind-out-file=${out}`, process.execPath, ...args], {
    cwd: ROOT,
    env: { ...process.env, ...env, PORT: String(port), ...VG_ENV, ...(ceiling ? {} : { HOST: '127.0.0.1' }) },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  proc.stderr!.on('data', (d) => (stderr += d));
  // The control pipe's name uses HOST as valgrind saw it.
  const control = (cmd: string[]) =>
    execFileSync('callgrind_control', [...cmd, String(proc.pid)], { env: { ...process.env, ...VG_ENV, HOST: ceiling ? VG_ENV.HOST : '127.0.0.1' } });
  try {
    const ready = ceiling ? '/available?username=x' : '/_matrix/client/v3/register/available?username=x';
    for (let i = 0; ; i++) {
      if (proc.exitCode !== null) throw new Error(`${name} exited: ${stderr}`);
      if (await get(port, ready).then((r) => r.status > 0, () => false)) break;
      if (i > 600) throw new Error(`${name} not ready after 5 min: ${stderr}`);
      await new Promise((r) => setTimeout(r, 500));
    }
    const url = `http://127.0.0.1:${port}${ceiling ? '/available?username=nobody' : AVAILABLE_PATH}`;
    // Warm-up: until V8 has compiled the hot code (its compiler threads count too).
    await autocannon({ url, connections: 16, amount: 3 * REQUESTS });
    // Three counted windows, each dumped on its own (a dump zeroes the counters). The lowest is
    // the steady state: a window that holds a full garbage collection or V8 still compiling hot
    // code on its background threads counts up to 50% more, never less.
    const perRequest: number[] = [];
    for (let w = 1; w <= 3; w++) {
      control(['-i', 'on']);
      const r = await autocannon({ url, connections: 16, amount: REQUESTS });
      control(['-i', 'off']);
      control(['-d']);
      if (r.non2xx + r.errors > 0) throw new Error(`${name}: ${r.non2xx + r.errors} failed requests`);
      const m = /^totals: (\d+)/m.exec(readFileSync(`${out}.${w}`, 'utf8'));
      if (!m) throw new Error(`${name}: no totals in ${out}.${w}`);
      perRequest.push(Number(m[1]) / r.requests.total);
    }
    process.stderr.write(`[instructions] ${name}: windows ${perRequest.map((x) => (x / 1000).toFixed(1)).join(" / ")}k\n`);
    return Math.min(...perRequest);
  } finally {
    proc.kill('SIGKILL');
    for (const f of readdirSync(path.dirname(out)).filter((f) => f.startsWith(path.basename(out)))) rmSync(path.join(path.dirname(out), f), { force: true });
  }
}

const db = await freshDatabase(ADMIN_URL, 'mrs_instr');
try {
  for (const t of TARGETS) {
    const [name, spec] = t === 'ceiling' ? ['ceiling', 'ceiling'] : [t.slice(0, t.indexOf('=')), t.slice(t.indexOf('=') + 1)];
    const perRequest = await count(name!, spec!, db.url);
    process.stdout.write(`${name}: ${(perRequest / 1000).toFixed(1)}k instructions per request (lowest of 3 windows of ${REQUESTS} requests, 16 connections)\n`);
  }
} finally {
  await db.drop();
}
