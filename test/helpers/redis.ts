// The Redis the multi-instance tests share counters through: TEST_REDIS_URL (CI sets it), else
// the machine's Redis on 127.0.0.1:6379. Each test run uses its own key prefix, because other
// test runs use the same Redis at the same time, and deletes its keys afterwards.
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';

export const TEST_REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

export interface TestRedis {
  url: string;
  prefix: string;
  client: Redis;
  keys(): Promise<string[]>;
  close(): Promise<void>;
}

export async function openTestRedis(): Promise<TestRedis> {
  const client = new Redis(TEST_REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 1, connectTimeout: 3000 });
  try {
    await client.connect();
  } catch (err) {
    client.disconnect();
    throw new Error(`Redis at ${TEST_REDIS_URL} cannot be reached (set TEST_REDIS_URL): ${(err as Error).message}`);
  }
  const prefix = `mrs-test:${randomBytes(6).toString('hex')}:`;
  const keys = async () => {
    const found: string[] = [];
    let cursor = '0';
    do {
      const [next, batch] = await client.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
      cursor = next;
      found.push(...batch);
    } while (cursor !== '0');
    return found;
  };
  return {
    url: TEST_REDIS_URL,
    prefix,
    client,
    keys,
    async close() {
      const k = await keys();
      if (k.length > 0) await client.del(...k);
      await client.quit();
    },
  };
}
