// The embedded database: PGlite persisted under DATA_DIR, served over the Postgres wire protocol
// on a private unix socket, so the rest of the service talks to it through pg exactly as it talks
// to a real server. PGlite runs one transaction at a time (shared/notes/embedded-postgres.md).
import { mkdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { PGLiteSocketServer } from '@electric-sql/pglite-socket';

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
 * dataDir: a folder, or 'memory://' for a throw-away database (tests). maxConnections bounds
 * how many clients may be connected at once (each should use EMBEDDED_POOL_SIZE connections and
 * only one should be busy at a time).
 */
export async function startEmbeddedPostgres(dataDir: string, maxConnections = 4): Promise<EmbeddedPostgres> {
  const inMemory = dataDir.startsWith('memory://');
  const dir = inMemory ? undefined : path.resolve(dataDir);
  if (dir) await mkdir(dir, { recursive: true, mode: 0o700 });
  const db = await PGlite.create(dir ? path.join(dir, 'pgdata') : 'memory://');

  // A unix socket in DATA_DIR (mode 0700) is reachable by this user only; fall back to a
  // loopback port when the path would exceed the OS limit on socket path length.
  const socketPath = dir ? path.join(dir, '.s.PGSQL.5432') : undefined;
  const useSocket = socketPath !== undefined && Buffer.byteLength(socketPath) < 100;
  if (useSocket) await rm(socketPath, { force: true });
  const server = new PGLiteSocketServer(
    useSocket ? { db, path: socketPath, maxConnections } : { db, host: '127.0.0.1', port: 0, maxConnections },
  );
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
