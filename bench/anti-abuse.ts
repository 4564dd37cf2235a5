// Cost of the anti-abuse checks that run on the event loop: the zxcvbn estimate (once per
// registration when PASSWORD_MIN_STRENGTH > 0) and the ban check (every /register request).
// Run: npx tsx bench/anti-abuse.ts
import { estimateStrength } from '../src/domain/password-strength.js';
import { checkBans, compileBans } from '../src/domain/registration-bans.js';

const ms = (t0: number, n: number) => ((performance.now() - t0) / n).toFixed(2);

let t0 = performance.now();
estimateStrength('warm-up');
console.log(`zxcvbn first call (builds dictionaries): ${ms(t0, 1)} ms`);

const passwords = [
  'password1', 'correct-horse-battery-staple', 'Tr0ub4dor&3', 'ilovematrix2026',
  'x8#Lq!vZ2p@9mW', 'x8#Lq!vZ2p@9mWx8#Lq!vZ2p@9mWx8#Lq!vZ2p@9mW', '1!3@4$5%0|7+'.repeat(6), 'a'.repeat(5000),
];
for (const p of passwords) {
  t0 = performance.now();
  for (let i = 0; i < 10; i++) estimateStrength(p, ['alice', 'example.org']);
  console.log(`zxcvbn ${String(p.length).padStart(4)} chars ${JSON.stringify(p.slice(0, 16)).padEnd(20)} ${ms(t0, 10)} ms`);
}

const bans = {
  ips: Array.from({ length: 1000 }, (_, i) => `10.${i >> 8}.${i & 255}.0/24`),
  userAgents: Array.from({ length: 100 }, (_, i) => `*bot${i}*`),
};
const ua = 'Mozilla/5.0 (X11; Linux x86_64) Element/1.11.85 Chrome/130.0 Safari/537.36';
t0 = performance.now();
for (let i = 0; i < 200; i++) checkBans('198.51.100.7', ua, bans);
console.log(`checkBans, 1000 CIDRs + 100 patterns, parsed per call: ${ms(t0, 200)} ms`);
const compiled = compileBans(bans);
t0 = performance.now();
for (let i = 0; i < 2000; i++) checkBans('198.51.100.7', ua, compiled);
console.log(`checkBans, 1000 CIDRs + 100 patterns, compiled once:   ${ms(t0, 2000)} ms`);
