// The physical limit of registration: raw argon2id hashes per second at the service's parameters,
// with as many hashes in flight as the registration load has clients, on libuv's thread pool of
// the same size (UV_THREADPOOL_SIZE is inherited from bench/run.ts), salted as the service salts
// (16 bytes drawn synchronously). Prints one JSON line.
import { randomBytes } from 'node:crypto';
import argon2 from 'argon2';

const seconds = Number(process.env.HASH_SECONDS ?? '10');
const concurrency = Number(process.env.HASH_CONCURRENCY ?? '8');
const opts = {
  type: argon2.argon2id as 2,
  memoryCost: Number(process.env.ARGON2_MEMORY_KIB ?? '19456'),
  timeCost: Number(process.env.ARGON2_ITERATIONS ?? '2'),
  parallelism: Number(process.env.ARGON2_PARALLELISM ?? '1'),
};

// Warm-up (thread pool start, first allocation), not counted.
await Promise.all(Array.from({ length: concurrency }, () => argon2.hash('warm-up password', opts)));

let done = 0;
const start = performance.now();
const end = start + seconds * 1000;
await Promise.all(
  Array.from({ length: concurrency }, async () => {
    while (performance.now() < end) {
      await argon2.hash(randomBytes(12).toString('base64'), { ...opts, salt: randomBytes(16) });
      done += 1;
    }
  }),
);
const elapsed = (performance.now() - start) / 1000;
process.stdout.write(`${JSON.stringify({ hashes: done, seconds: elapsed, perSecond: done / elapsed })}\n`);
