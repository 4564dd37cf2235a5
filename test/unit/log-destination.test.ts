import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createLogDestination, FLUSH_CHARS } from '../../src/lib/log-destination.js';

describe('the batching log destination', () => {
  let dir: string;
  let file: string;
  let fd: number;
  beforeEach(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'mrs-log-'));
    file = path.join(dir, 'out.log');
    fd = openSync(file, 'w');
  });
  afterEach(() => {
    try {
      closeSync(fd);
    } catch {
      // closed by the test
    }
    rmSync(dir, { recursive: true, force: true });
  });
  const written = () => readFileSync(file, 'utf8');

  it('holds lines until a flush, then writes them all, in order', () => {
    const d = createLogDestination(fd, 60_000);
    d.write('{"n":1}\n');
    d.write('{"n":2,"s":"é ✓"}\n');
    expect(written()).toBe('');
    d.flush();
    expect(written()).toBe('{"n":1}\n{"n":2,"s":"é ✓"}\n');
    d.flush(); // nothing pending: nothing written twice
    expect(written()).toBe('{"n":1}\n{"n":2,"s":"é ✓"}\n');
    d.close();
  });

  it('writes at once when FLUSH_CHARS have gathered', () => {
    const d = createLogDestination(fd, 60_000);
    const line = `${'x'.repeat(999)}\n`;
    const lines = Math.ceil(FLUSH_CHARS / line.length);
    for (let i = 0; i < lines - 1; i++) d.write(line);
    expect(written()).toBe('');
    d.write(line);
    expect(written()).toBe(line.repeat(lines));
    d.close();
  });

  it('writes within the flush interval without being asked', async () => {
    const d = createLogDestination(fd, 20);
    d.write('late line\n');
    const deadline = Date.now() + 2000;
    while (written() === '' && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    expect(written()).toBe('late line\n');
    d.close();
  });

  it('writes what is left on close', () => {
    const d = createLogDestination(fd, 60_000);
    d.write('last words\n');
    d.close();
    expect(written()).toBe('last words\n');
  });

  it('reports lines it cannot write instead of throwing', () => {
    const lost: Error[] = [];
    const d = createLogDestination(fd, 60_000, (err) => lost.push(err));
    closeSync(fd);
    d.write('into the void\n');
    expect(() => d.flush()).not.toThrow();
    expect(lost).toHaveLength(1);
    expect((lost[0] as NodeJS.ErrnoException).code).toBe('EBADF');
    d.close();
  });
});
