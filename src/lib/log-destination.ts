// Where the process's log lines go: stdout, in batches.
//
// pino's default destination (sonic-boom, asynchronous) cost more per line than pino's own
// serialisation: ~3 µs of ~5 µs per line on the benchmark machine (node loop of 200k lines to
// /dev/null), because every write re-measures the byte length of the whole pending buffer, and
// each flush is a job on libuv's thread pool, the pool the argon2id hashes keep busy. Lines
// here are collected as strings and written together, synchronously, at most every
// flushIntervalMs or once FLUSH_CHARS have gathered, and at exit. On GET /register/available,
// LOG_LEVEL=info cost ~39k instructions per request more than LOG_LEVEL=warn with pino's
// destination and ~21k with this one (bench/instructions.ts, the first window after warm-up).
//
// What batching costs: a line reaches stdout up to one interval late, and a process killed with
// SIGKILL (or by the OOM killer) loses the lines of its last interval. Every other exit
// (process.exit after a signal, a crash on an uncaught exception) writes them out first.
import { writeSync } from 'node:fs';

/** Characters gathered before a write regardless of the interval (about 200 request lines). */
export const FLUSH_CHARS = 64 * 1024;

export interface LogDestination {
  /** pino's destination interface: one serialised line, newline included. */
  write(line: string): void;
  /** Writes out everything gathered so far, synchronously. */
  flush(): void;
  /** Stops the timer and writes out what is left (process exit, tests). */
  close(): void;
}

/**
 * A batching destination on file descriptor `fd`. `onLost` hears of lines that could not be
 * written (stdout closed by its reader): logging never stops the service.
 */
export function createLogDestination(fd: number, flushIntervalMs: number, onLost: (err: Error) => void = () => {}): LogDestination {
  let pending: string[] = [];
  let chars = 0;
  const flush = () => {
    if (pending.length === 0) return;
    const data = Buffer.from(pending.length === 1 ? pending[0]! : pending.join(''), 'utf8');
    pending = [];
    chars = 0;
    writeAll(fd, data, onLost);
  };
  const timer = setInterval(flush, flushIntervalMs);
  timer.unref();
  return {
    write(line) {
      pending.push(line);
      chars += line.length;
      if (chars >= FLUSH_CHARS) flush();
    },
    flush,
    close() {
      clearInterval(timer);
      flush();
    },
  };
}

/** Writes all of data, waiting out EAGAIN (a non-blocking pipe whose reader is behind). */
function writeAll(fd: number, data: Buffer, onLost: (err: Error) => void): void {
  let offset = 0;
  let waits = 0;
  while (offset < data.length) {
    try {
      offset += writeSync(fd, data, offset);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      // A reader that is behind: wait for it, a millisecond at a time, for at most a second.
      if ((code === 'EAGAIN' || code === 'EWOULDBLOCK') && waits++ < 1000) {
        Atomics.wait(SLEEP, 0, 0, 1);
        continue;
      }
      onLost(err as Error);
      return;
    }
  }
}

const SLEEP = new Int32Array(new SharedArrayBuffer(4));
