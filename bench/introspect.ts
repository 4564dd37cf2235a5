// Latency and throughput of token introspection (the homeserver's per-request call) and of an
// authenticated request (whoami), over real HTTP on 127.0.0.1, against a real PostgreSQL (a
// fresh database on the server named by BENCH_DATABASE_URL, dropped afterwards) or, without it,
// the embedded PGlite. Bounded: REQUESTS requests at CONCURRENCY in flight.
//
//   BENCH_DATABASE_URL=postgres://postgres@127.0.0.1:5432/test npx tsx bench/introspect.ts
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { buildApp } from '../src/app.js';
import { loadConfig } from '../src/config.js';
import { createDb } from '../src/store/db.js';
import { startEmbeddedPostgres } from '../src/store/embedded.js';
import { migrate } from '../src/store/migrate.js';

const REQUESTS = Number(process.env.REQUESTS ?? 3000);
const CONCURRENCY = Number(process.env.CONCURRENCY ?? 16);
const SECRET = randomBytes(24).toString('hex');

async function database(): Promise<{ url: string; drop: () => Promise<void> }> {
  const server = process.env.BENCH_DATABASE_URL;
  if (!server) {
    const e = await startEmbeddedPostgres('memory://');
    return { url: e.connectionString, drop: () => e.close() };
  }
  const name = `mrs_bench_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: server });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const u = new URL(server);
  u.pathname = `/${name}`;
  return {
    url: u.toString(),
    drop: async () => {
      const c = new pg.Client({ connectionString: server });
      await c.connect();
      await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await c.end();
    },
  };
}

async function run(label: string, fire: () => Promise<Response>): Promise<void> {
  const latencies: number[] = [];
  let next = 0;
  let failures = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next < REQUESTS) {
        next += 1;
        const s = performance.now();
        const res = await fire();
        await res.arrayBuffer();
        if (res.status !== 200) failures += 1;
        latencies.push(performance.now() - s);
      }
    }),
  );
  const secs = (performance.now() - t0) / 1000;
  latencies.sort((a, b) => a - b);
  const p = (q: number) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))]!.toFixed(2);
  console.log(
    `${label}: ${REQUESTS} requests, concurrency ${CONCURRENCY}: ${(REQUESTS / secs).toFixed(0)} req/s, ` +
      `p50 ${p(0.5)} ms, p99 ${p(0.99)} ms, non-200: ${failures}`,
  );
}

const db0 = await database();
try {
  await migrate(db0.url);
  const config = loadConfig({
    SERVER_NAME: 'bench.example',
    ENABLE_REGISTRATION: 'true',
    ENABLE_REGISTRATION_WITHOUT_VERIFICATION: 'true',
    INTROSPECTION_SECRET: SECRET,
    LOG_LEVEL: 'silent',
  });
  const db = createDb({ connectionString: db0.url, poolSize: 10 });
  const app = await buildApp({ config, db, logger: false, maintenanceIntervalMs: 0 });
  const base = await app.listen({ host: '127.0.0.1', port: 0 });
  const first = await app.inject({ method: 'POST', url: '/_matrix/client/v3/register', payload: { username: 'bench', password: 'bench password 1' } });
  const done = await app.inject({ method: 'POST', url: '/_matrix/client/v3/register', payload: { auth: { type: 'm.login.dummy', session: first.json().session } } });
  const token = done.json().access_token as string;

  // Warm-up (JIT, pool connections), not reported.
  for (let i = 0; i < 200; i++) await (await fetch(`${base}/_matrix/client/v3/account/whoami`, { headers: { authorization: `Bearer ${token}` } })).arrayBuffer();
  console.log(`database: ${process.env.BENCH_DATABASE_URL ? 'postgres' : 'embedded PGlite'}`);
  await run('introspect', () =>
    fetch(`${base}/_registration/v1/introspect`, {
      method: 'POST',
      headers: { authorization: `Bearer ${SECRET}`, 'content-type': 'application/x-www-form-urlencoded' },
      body: `token=${encodeURIComponent(token)}`,
    }),
  );
  await run('GET /login (no database)', () => fetch(`${base}/_matrix/client/v3/login`));
  await run('whoami', () => fetch(`${base}/_matrix/client/v3/account/whoami`, { headers: { authorization: `Bearer ${token}` } }));
  // Server-side cost alone (no HTTP client, no sockets): sequential app.inject.
  for (const [label, opts] of [
    ['introspect (in-process)', { method: 'POST' as const, url: '/_registration/v1/introspect', headers: { authorization: `Bearer ${SECRET}`, 'content-type': 'application/x-www-form-urlencoded' }, payload: `token=${encodeURIComponent(token)}` }],
    ['whoami (in-process)', { method: 'GET' as const, url: '/_matrix/client/v3/account/whoami', headers: { authorization: `Bearer ${token}` } }],
  ] as const) {
    const n = Math.min(REQUESTS, 1000);
    const lat: number[] = [];
    for (let i = 0; i < n; i++) {
      const s = performance.now();
      await app.inject(opts);
      lat.push(performance.now() - s);
    }
    lat.sort((a, b) => a - b);
    console.log(`${label}: ${n} sequential requests: p50 ${lat[Math.floor(n / 2)]!.toFixed(2)} ms, p99 ${lat[Math.floor(n * 0.99)]!.toFixed(2)} ms`);
  }
  await app.close();
  await db.close();
} finally {
  await db0.drop();
}
