// The process as an operator runs it: start-up refuses bad configuration (exit code 1, one line
// per problem naming the variable), and a good one serves on the embedded database.
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const MAIN = path.join(ROOT, 'src/main.ts');

function run(env: Record<string, string>, untilReady?: (out: string) => boolean, timeoutMs = 120_000) {
  return new Promise<{ code: number | null; stderr: string; stdout: string; kill: () => void }>((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', MAIN], {
      cwd: ROOT,
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`timed out; stdout=${stdout} stderr=${stderr}`));
    }, timeoutMs);
    child.stdout.on('data', (d) => {
      stdout += d;
      if (untilReady?.(stdout)) {
        clearTimeout(timer);
        resolve({ code: null, stdout, stderr, kill: () => child.kill('SIGTERM') });
      }
    });
    child.stderr.on('data', (d) => (stderr += d));
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr, kill: () => {} });
    });
  });
}

const freePort = () =>
  new Promise<number>((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });

describe('start-up', () => {
  it('exits 1 with one line naming a missing required variable', async () => {
    const r = await run({});
    expect(r.code).toBe(1);
    expect(r.stderr.trim().split('\n')).toEqual([expect.stringMatching(/^configuration error: SERVER_NAME: is required/)]);
  });

  it('lists every problem, one line each, naming the variable', async () => {
    const r = await run({
      SERVER_NAME: 'bad name!',
      PORT: 'eighty',
      ENABLE_REGISTRATION: 'maybe',
      TRUST_PROXY: '10.0.0.0/99',
      ADMIN_TOKEN: 'short',
      UIA_SESSION_LIFETIME: 'forever',
      DATABASE_URL: 'mysql://x',
    });
    expect(r.code).toBe(1);
    const lines = r.stderr.trim().split('\n');
    const named = lines.map((l) => /^configuration error: ([A-Z_]+): .+/.exec(l)?.[1]);
    expect(named.sort()).toEqual(
      ['ADMIN_TOKEN', 'DATABASE_URL', 'ENABLE_REGISTRATION', 'PORT', 'SERVER_NAME', 'TRUST_PROXY', 'UIA_SESSION_LIFETIME'].sort(),
    );
  });

  it('refuses open registration with nothing but m.login.dummy unless explicitly opted in', async () => {
    const r = await run({ SERVER_NAME: 'example.org', ENABLE_REGISTRATION: 'true' });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^configuration error: ENABLE_REGISTRATION: .*ENABLE_REGISTRATION_WITHOUT_VERIFICATION=true/m);
  });

  it('starts on the embedded database with DATABASE_URL unset and serves a full dummy registration', { timeout: 180_000 }, async () => {
    const dataDir = await mkdtemp(path.join(tmpdir(), 'mrs-start-'));
    const port = await freePort();
    const r = await run(
      {
        SERVER_NAME: 'example.org',
        ENABLE_REGISTRATION: 'true',
        ENABLE_REGISTRATION_WITHOUT_VERIFICATION: 'true',
        DATA_DIR: dataDir,
        HOST: '127.0.0.1',
        PORT: String(port),
      },
      (out) => out.includes('matrix registration service ready'),
    );
    try {
      expect(r.code).toBeNull();
      const url = `http://127.0.0.1:${port}/_matrix/client/v3/register`;
      const first = await fetch(url, { method: 'POST', body: JSON.stringify({ username: 'newcomer', password: 'a good password' }) });
      expect(first.status).toBe(401);
      const { session } = (await first.json()) as { session: string };
      const done = await fetch(url, { method: 'POST', body: JSON.stringify({ auth: { type: 'm.login.dummy', session } }) });
      expect(done.status).toBe(200);
      expect(((await done.json()) as { user_id: string }).user_id).toBe('@newcomer:example.org');
      // Logs are JSON lines.
      for (const line of r.stdout.trim().split('\n')) expect(() => JSON.parse(line)).not.toThrow();
    } finally {
      r.kill();
      await new Promise((res) => setTimeout(res, 1500));
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});
