// The embedded database: PGlite persisted under DATA_DIR, served over the Postgres wire protocol
// on a private unix socket, so the rest of the service talks to it through pg exactly as it talks
// to a real server. PGlite runs one transaction at a time (shared/notes/embedded-postgres.md).
import { access, mkdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { PGLiteSocketServer } from '@electric-sql/pglite-socket';
import { setV8FlagUnlessGiven } from '../lib/v8-flags.js';

export interface EmbeddedPostgres {
  connectionString: string;
  close(): Promise<void>;
}

/**
 * Connections a pool may open to the embedded database: one. PGlite is a single Postgres session,
 * and pglite-socket's multiplexer interleaved the extended-protocol messages of concurrent
 * transactions on different connections (measured: 9 of 100 concurrent short transactions failed
 * with 'portal "" does not exist' or wrong parameters on 10 connections; none on 1). One
 * connection serialises everything, which PGlite does anyway.
 */
export const EMBEDDED_POOL_SIZE = 1;

/**
 * How a pool connects to the embedded database (DbOptions without the connection string).
 * Statements are prepared, as on Postgres: every connection reaches the same single Postgres
 * session, so store/db.ts names them per connection. Prepared, a dummy registration cost 5.8-6.1
 * ms of the main thread (where PGlite runs) against 7.6-8.1 ms unprepared, and 59-61
 * registrations/s against 54-57 (bench/run.ts's registration load, two runs each). A name
 * prepared in that session stays there until the process ends, so the connection is kept open
 * (idleTimeoutMs 0) rather than closed when idle and its statements prepared again.
 * connectTimeoutMs: a connection may wait behind another's transaction.
 */
export const EMBEDDED_DB_OPTIONS = { poolSize: EMBEDDED_POOL_SIZE, prepare: true, idleTimeoutMs: 0, connectTimeoutMs: 10_000 } as const;

/**
 * Postgres settings of the embedded database. shared_buffers: all of it is resident in this
 * process from start-up (PGlite allocates it zeroed in its WebAssembly memory): Postgres' default
 * (128MB) cost ~0.1 GB more than 16MB (npm run bench: ~0.3 GB against ~0.2 GB). 8MB (1024 pages)
 * holds a small instance's hot pages, and the OS caches the data files besides. Measured with
 * bench/memory.ts: PGlite's memory ~30 MB resident at 16MB, ~22 MB at 8MB, with the same CPU per
 * request (available 0.56-0.65 ms at 8MB, 0.62-0.68 ms at 16MB; validity ~1.1 ms both) and peak
 * RSS under registrations 227-229 MB against 236-238 MB.
 */
const EMBEDDED_SETTINGS = ['-c', 'shared_buffers=8MB'];

/**
 * Compiles PGlite's WebAssembly (Postgres) with V8's baseline compiler only (Liftoff), without
 * the background tier-up of hot functions to TurboFan. That tier-up kept compiling under each new
 * kind of load and its compiler memory stayed in the process (malloc arenas of V8's worker
 * threads): measured with bench/memory.ts, RSS when ready 231-256 MB with tier-up, 193-201 MB
 * without, and peaks under load lower by 60-100 MB. It costs no CPU that we could measure: a
 * PGlite-only loop of indexed selects and inserts took 0.117-0.18 ms CPU per query either way
 * (TurboFan's own compile time offsets its faster code for Postgres' broad, flat profile).
 * Only on x64 and arm64, where Liftoff compiles every function (elsewhere it may bail out, which
 * --liftoff-only turns into an error). Process-wide, and set before the module is compiled.
 */
function useBaselineWasmCompiler(): void {
  if (process.arch === 'x64' || process.arch === 'arm64') setV8FlagUnlessGiven('liftoff-only');
}

const exists = (p: string) => access(p).then(() => true, () => false);

/**
 * dataDir: a folder, or 'memory://' for a throw-away database (tests). maxConnections bounds
 * how many clients may be connected at once (each should use EMBEDDED_POOL_SIZE connections and
 * only one should be busy at a time).
 */
export async function startEmbeddedPostgres(dataDir: string, maxConnections = 4): Promise<EmbeddedPostgres> {
  const inMemory = dataDir.startsWith('memory://');
  const dir = inMemory ? undefined : path.resolve(dataDir);
  if (dir) await mkdir(dir, { recursive: true, mode: 0o700 });
  const pgdata = dir ? path.join(dir, 'pgdata') : 'memory://';
  useBaselineWasmCompiler();
  const options = { dataDir: pgdata, startParams: [...PGlite.defaultStartParams, ...EMBEDDED_SETTINGS] };
  if (dir && !(await exists(path.join(pgdata, 'PG_VERSION')))) {
    // First start: initdb runs inside this instance and leaves it holding ~0.7 GB (measured);
    // closing it and opening the new data directory afresh brings that down to ~0.2-0.3 GB.
    await (await PGlite.create(options)).close();
  }
  const db = await PGlite.create(options);

  // A unix socket in DATA_DIR (mode 0700) is reachable by this user only; fall back to a
  // loopback port when the path would exceed the OS limit on socket path length.
  const socketPath = dir ? path.join(dir, '.s.PGSQL.5432') : undefined;
  const useSocket = socketPath !== undefined && Buffer.byteLength(socketPath) < 100;
  if (useSocket) await rm(socketPath, { force: true });
  const server = new PGLiteSocketServer(
    useSocket ? { db, path: socketPath, maxConnections } : { db, host: '127.0.0.1', port: 0, maxConnections },
  );
  keepExtendedQueriesTogether(server, db);
  await server.start();

  const connectionString = useSocket
    ? `postgresql://postgres@localhost/postgres?host=${encodeURIComponent(dir!)}`
    : `postgresql://postgres@${server.getServerConn()}/postgres`;

  return {
    connectionString,
    async close() {
      await server.stop();
      await db.close();
    },
  };
}

// Protocol message types that end a unit of work: Sync (extended protocol), Query (simple
// protocol), Terminate; 0 is the first byte of a startup message (it begins with a length).
const UNIT_END = new Set([0x53, 0x51, 0x58, 0x00]);

/**
 * pglite-socket 0.2 queues each protocol message on its own and keeps one connection's messages
 * together only inside a transaction. Outside one, another connection's Parse can land between a
 * connection's Parse and Bind on PGlite's single session: the unnamed statement is replaced and
 * the first connection gets "bind message supplies 4 parameters, but prepared statement requires
 * 2", or another query's rows. (Seen with concurrent registrations on one PGlite.) The queue
 * already serves "the connection in a transaction" first; this makes it also serve the connection
 * whose extended-protocol batch (Parse … Sync) is unfinished, so batches never interleave.
 * EMBEDDED_POOL_SIZE = 1 avoids the problem within one pool; this also covers several pools on
 * one embedded database (tests run two app instances on one PGlite).
 */
function keepExtendedQueriesTogether(server: PGLiteSocketServer, db: PGlite): void {
  const queue = (server as unknown as { queryQueue?: { db: PGlite } }).queryQueue;
  if (!queue || typeof queue.db?.isInTransaction !== 'function') {
    throw new Error('pglite-socket internals changed: review keepExtendedQueriesTogether in src/store/embedded.ts');
  }
  let midBatch = false;
  queue.db = new Proxy(db, {
    get(target, prop) {
      if (prop === 'isInTransaction') return () => midBatch || target.isInTransaction();
      if (prop === 'execProtocolRawStream') {
        return (message: Uint8Array, opts: unknown) => {
          midBatch = !UNIT_END.has(message[0] ?? 0);
          return (target.execProtocolRawStream as (m: Uint8Array, o: unknown) => Promise<unknown>)(message, opts);
        };
      }
      const v = Reflect.get(target, prop, target) as unknown;
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  });
}
