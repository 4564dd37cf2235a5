// How long POST /register/email/requestToken takes with the mail server up and with it down
// (connection refused), with the outbox worker running: the answer must not depend on SMTP.
// Bounded: N requests per case, sequential, against 127.0.0.1 only.
//   npx tsx bench/threepid-request-token.ts            (embedded PGlite)
//   BENCH_DATABASE_URL=postgres://postgres@127.0.0.1:5432/test npx tsx bench/threepid-request-token.ts
import { createServer } from 'node:net';
import { buildApp } from '../src/app.js';
import { loadConfig } from '../src/config.js';
import { openTestDatabase } from '../test/helpers/databases.js';
import { startSmtpServer } from '../test/helpers/mail.js';

const N = Number(process.env.BENCH_N ?? 200);

async function closedPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  const port = (s.address() as { port: number }).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

async function run(kind: 'embedded' | 'postgres', smtpUrl: string, label: string) {
  if (kind === 'postgres') process.env.TEST_DATABASE_URL = process.env.BENCH_DATABASE_URL;
  const database = await openTestDatabase(kind);
  const config = loadConfig({
    SERVER_NAME: 'bench.example',
    LOG_LEVEL: 'silent',
    SMTP_URL: smtpUrl,
    EMAIL_FROM: 'bench@bench.example',
    SMTP_REQUIRE_TLS: 'false',
    RATE_LIMIT_3PID_SENDS_PER_IP: '1000000',
    RATE_LIMIT_3PID_REQUESTS_PER_MINUTE: '1000000',
    OUTBOX_POLL_INTERVAL: '200ms',
    OUTBOX_SEND_TIMEOUT: '2s',
  });
  const app = await buildApp({ config, db: database.connect(config.databasePoolSize), logger: false, maintenanceIntervalMs: 0 });
  await app.ready();
  const times: number[] = [];
  for (let i = 0; i < N; i++) {
    const t0 = performance.now();
    const res = await app.inject({
      method: 'POST',
      url: '/_matrix/client/v3/register/email/requestToken',
      payload: { client_secret: `bench${i}`, email: `user${i}@bench.example`, send_attempt: 1 },
    });
    times.push(performance.now() - t0);
    if (res.statusCode !== 200) throw new Error(res.body);
  }
  await app.close();
  await database.close();
  times.sort((a, b) => a - b);
  const q = (p: number) => times[Math.min(times.length - 1, Math.floor(p * times.length))]!.toFixed(1);
  console.log(`${kind.padEnd(8)} ${label.padEnd(10)} n=${N} p50=${q(0.5)}ms p95=${q(0.95)}ms max=${q(1)}ms`);
}

const kinds: ('embedded' | 'postgres')[] = process.env.BENCH_DATABASE_URL ? ['embedded', 'postgres'] : ['embedded'];
const smtp = await startSmtpServer();
const down = `smtp://127.0.0.1:${await closedPort()}`;
for (const kind of kinds) {
  await run(kind, smtp.url, 'SMTP up');
  await run(kind, down, 'SMTP down');
}
await smtp.stop();
