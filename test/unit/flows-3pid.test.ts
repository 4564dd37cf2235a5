import { describe, expect, it } from 'vitest';
import { registrationFlows, resetFlows, stageAllowed, type Requires3pid } from '../../src/domain/flows.js';

const E = 'm.login.email.identity';
const M = 'm.login.msisdn';
const T = 'm.login.registration_token';

describe('registrationFlows with REGISTRATION_REQUIRES_3PID', () => {
  const cases: [Requires3pid, boolean, string[][]][] = [
    ['none', false, [['m.login.dummy']]],
    ['none', true, [[T]]],
    ['email', false, [[E]]],
    ['msisdn', false, [[M]]],
    ['either', false, [[E], [M]]],
    ['email', true, [[T, E]]],
    ['msisdn', true, [[T, M]]],
    ['either', true, [[T, E], [T, M]]],
  ];
  it.each(cases)('requires3pid=%s, token=%s', (requires3pid, requiresToken, flows) => {
    expect(registrationFlows({ requiresToken, requires3pid })).toEqual(flows);
  });
  it('puts the token first: the email stage waits for it', () => {
    const flows = registrationFlows({ requiresToken: true, requires3pid: 'email' });
    expect(stageAllowed(flows, new Set(), E)).toBe(false);
    expect(stageAllowed(flows, new Set([T]), E)).toBe(true);
  });
  it('puts the email or phone stage after every gate (token, captcha, terms)', () => {
    const gates = [T, 'm.login.recaptcha', 'm.login.terms'];
    expect(registrationFlows({ requiresToken: true, captcha: true, terms: true, requires3pid: 'either' })).toEqual([
      [...gates, E],
      [...gates, M],
    ]);
    expect(registrationFlows({ requiresToken: false, terms: true, requires3pid: 'msisdn' })).toEqual([['m.login.terms', M]]);
  });
  it('defaults to no 3PID', () => {
    expect(registrationFlows({ requiresToken: false })).toEqual([['m.login.dummy']]);
  });
});

describe('resetFlows', () => {
  it('offers each configured medium', () => {
    expect(resetFlows({ email: true, msisdn: true })).toEqual([[E], [M]]);
    expect(resetFlows({ email: true, msisdn: false })).toEqual([[E]]);
    expect(resetFlows({ email: false, msisdn: false })).toEqual([]);
  });
});
