// CPU time by process and thread from Linux's /proc, to show where the CPU of a load goes: the
// service's main thread (HTTP, JSON, the database client), its other threads (argon2id on libuv's
// pool, V8's helpers), and the Postgres backends serving the benchmark's database. Clock ticks
// are 1/100 s on Linux (USER_HZ), so figures over a 10 s run are good to about 1%.
import { readdirSync, readFileSync } from 'node:fs';

const TICKS_PER_SECOND = 100;

/** utime + stime in seconds from a /proc .../stat line (fields after the parenthesised name). */
function statCpuSeconds(stat: string): number {
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND;
}

function readOr(path: string, fallback: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return fallback; // the thread or process ended between listing and reading
  }
}

/** CPU seconds of a whole process, all its threads. */
export function processCpu(pid: number): number {
  return statCpuSeconds(readFileSync(`/proc/${pid}/stat`, 'utf8'));
}

/** CPU seconds of a process's main thread and of all its other threads. */
export function threadCpu(pid: number): { main: number; others: number } {
  let main = 0;
  let others = 0;
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    const stat = readOr(`/proc/${pid}/task/${tid}/stat`, '');
    if (stat === '') continue;
    if (tid === String(pid)) main += statCpuSeconds(stat);
    else others += statCpuSeconds(stat);
  }
  return { main, others };
}

/** CPU seconds of each Postgres backend connected to `database` (by its process title). */
export function postgresCpu(database: string): Map<number, number> {
  const out = new Map<number, number>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = readOr(`/proc/${entry}/stat`, '');
    if (!stat.includes('(postgres)')) continue;
    // A backend's title is "postgres: <user> <database> <client> <state>".
    const title = readOr(`/proc/${entry}/cmdline`, '').split('\0').join(' ');
    if (title.split(' ').includes(database)) out.set(Number(entry), statCpuSeconds(stat));
  }
  return out;
}

/** CPU seconds the backends of `database` used between two postgresCpu readings. */
export function postgresCpuSince(before: Map<number, number>, after: Map<number, number>): number {
  let total = 0;
  for (const [pid, seconds] of after) total += seconds - (before.get(pid) ?? 0);
  return total;
}
