// npx tsx bench/memory.ts: the service's memory alone (the RSS part of npm run bench, without the
// ceilings, warm-ups and hash rates), quick enough to compare one change against another. Starts
// the BUILT service (npm run build first) on each database kind with bench/run.ts's environment,
// runs bench/run.ts's loads one after another for MEM_SECONDS each, and prints from
// /proc/<pid>/status the RSS when ready, then per load its peak (VmHWM, reset before the load),
// the RSS left after it, and the service's CPU time per request (or per registration).
//
// Environment: MEM_SECONDS (10), BENCH_DATABASES (embedded,postgres), BENCH_DATABASE_URL
// (postgres://postgres@127.0.0.1:5432/postgres; a fresh database is created and dropped),
// MEM_LOADS (available,validity,uia,registrations), BENCH_CONNECTIONS (16), BENCH_CLIENTS
// (2 x UV_THREADPOOL_SIZE, which defaults to the core count), BENCH_LOG_LEVEL (info),
// MEM_MAIN (dist/main.js: e.g. another build's output to compare with), MEM_NODE_ARGS (node
// flags for the service, e.g. "--max-semi-space-size=8"), MEM_SMAPS=1 (also break the RSS down
// by kind of mapping, from /proc/<pid>/smaps).
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  agent,
  AVAILABLE_PATH,
  cannon,
  freePort,
  freshDatabase,
  newRegistrationToken,
  READY_PATH,
  registrations,
  resetPeak,
  serviceEnv,
  startChild,
  statusMb,
  THREADPOOL,
  validityPath,
} from './harness.js';
import { threadCpu } from './proc-cpu.js';

const SECONDS = Number(process.env.MEM_SECONDS ?? '10');
const KINDS = (process.env.BENCH_DATABASES ?? 'embedded,postgres').split(',').map((s) => s.trim());
const LOADS = (process.env.MEM_LOADS ?? 'available,validity,uia,registrations').split(',').map((s) => s.trim());
const ADMIN_URL = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? '16');
const CLIENTS = Number(process.env.BENCH_CLIENTS ?? String(THREADPOOL * 2));
const LOG_LEVEL = process.env.BENCH_LOG_LEVEL ?? 'info';
const MAIN = process.env.MEM_MAIN ?? 'dist/main.js';
const NODE_ARGS = (process.env.MEM_NODE_ARGS ?? '').split(' ').filter(Boolean);
const SMAPS = process.env.MEM_SMAPS === '1';

/** The service's CPU time so far, all threads, in seconds. */
const cpuSeconds = (pid: number) => {
  const t = threadCpu(pid);
  return t.main + t.others;
};

const log = (m: string) => process.stderr.write(`[memory] ${m}\n`);

/**
 * The process's RSS (MB) by kind of mapping: V8's heap pages (small anonymous mappings), PGlite's
 * WebAssembly memory (the one anonymous mapping over 64 MB), malloc's main heap (brk) and its
 * per-thread arenas (64 MB-aligned mappings; argon2id's memory is there), other anonymous memory
 * (PGlite's module bytes and file bundle, compiled code), and files (mostly node's own binary).
 */
function rssByMapping(pid: number): string {
  const totals = new Map<string, number>();
  let kind = '';
  for (const line of readFileSync(`/proc/${pid}/smaps`, 'utf8').split('\n')) {
    const m = /^([0-9a-f]+)-([0-9a-f]+) \S+ \S+ \S+ \S+\s*(.*)$/.exec(line);
    if (m) {
      const start = BigInt(`0x${m[1]}`);
      const mb = Number(BigInt(`0x${m[2]}`) - start) / 2 ** 20;
      const name = m[3]!;
      if (name.startsWith('/')) kind = 'files';
      else if (name === '[heap]') kind = 'malloc-brk';
      else if (name.startsWith('[')) kind = 'other';
      else if (mb > 64) kind = 'wasm';
      else if (start % BigInt(64 * 2 ** 20) === 0n) kind = 'malloc-arenas';
      else kind = mb < 1 ? 'v8-heap' : 'anon>=1MB';
      continue;
    }
    const rss = /^Rss:\s+(\d+) kB/.exec(line);
    if (rss) totals.set(kind, (totals.get(kind) ?? 0) + Number(rss[1]) / 1024);
  }
  return [...totals].sort((a, b) => b[1] - a[1]).map(([k, v]) => `${k} ${v.toFixed(0)}`).join(', ');
}

async function measureKind(kind: string): Promise<string[]> {
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'mrs-memory-'));
  const database = kind === 'postgres' ? await freshDatabase(ADMIN_URL, 'mrs_memory') : undefined;
  try {
    const env = serviceEnv(database ? { DATABASE_URL: database.url } : { DATA_DIR: path.join(tmp, 'service') }, LOG_LEVEL);
    // The first start creates the database and migrates; the loads run on a second start.
    const first = await startChild([...NODE_ARGS, MAIN], env, await freePort(), READY_PATH);
    const firstPeak = statusMb(first.proc.pid!, 'VmHWM');
    await first.stop();
    const service = await startChild([...NODE_ARGS, MAIN], env, await freePort(), READY_PATH);
    const pid = service.proc.pid!;
    const lines = [`${kind}: first start peak ${firstPeak.toFixed(0)} MB; ready ${statusMb(pid, 'VmRSS').toFixed(0)} MB`];
    if (SMAPS) lines.push(`  RSS by mapping (MB): ${rssByMapping(pid)}`);
    const token = await newRegistrationToken(service.port);
    const http = async (p: string) => {
      const r = await cannon(service.port, p, SECONDS, CONNECTIONS);
      if (r.non2xx + r.errors > 0) throw new Error(`${p}: ${r.non2xx} non-2xx answers, ${r.errors} errors`);
      return r.total;
    };
    const register = async (clients: number, tag: string) => {
      const r = await registrations(service.port, clients, SECONDS, tag);
      if (r.failures > 0) throw new Error(`${r.failures} registrations failed`);
      return r.count;
    };
    const loads: Record<string, () => Promise<number>> = {
      available: () => http(AVAILABLE_PATH),
      validity: () => http(validityPath(token)),
      uia: () => register(1, `${kind[0]}u`),
      registrations: () => register(CLIENTS, `${kind[0]}r`),
    };
    for (const name of LOADS) {
      const load = loads[name];
      if (!load) throw new Error(`MEM_LOADS: unknown load ${name}`);
      if (!resetPeak(pid)) throw new Error('cannot reset the peak RSS (/proc/<pid>/clear_refs)');
      const cpu0 = cpuSeconds(pid);
      const done = await load();
      const cpuMs = ((cpuSeconds(pid) - cpu0) / done) * 1000;
      const line = `${kind}: ${name.padEnd(13)} peak ${statusMb(pid, 'VmHWM').toFixed(0)} MB, after ${statusMb(pid, 'VmRSS').toFixed(0)} MB; ${done} done, ${cpuMs.toFixed(2)} ms CPU each`;
      log(line);
      lines.push(line);
      if (SMAPS) lines.push(`  RSS by mapping (MB): ${rssByMapping(pid)}`);
    }
    await service.stop();
    return lines;
  } finally {
    await database?.drop();
    rmSync(tmp, { recursive: true, force: true });
  }
}

const out: string[] = [];
for (const kind of KINDS) out.push(...(await measureKind(kind)));
agent.destroy();
process.stdout.write(`${[MAIN, ...NODE_ARGS].join(' ')}; ${SECONDS} s per load, ${CONNECTIONS} connections, ${CLIENTS} registration clients, UV_THREADPOOL_SIZE=${THREADPOOL}\n${out.join('\n')}\n`);
