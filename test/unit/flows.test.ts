// Which flows a configuration offers, stage ordering within flows, and flow completion.
import { describe, expect, it } from 'vitest';
import { completedFlow, offeredStages, registrationFlows, STAGE, stageAllowed } from '../../src/domain/flows.js';

describe('registrationFlows', () => {
  it('offers m.login.dummy when no token is required', () => {
    expect(registrationFlows({ requiresToken: false })).toEqual([['m.login.dummy']]);
  });
  it('offers only m.login.registration_token when a token is required (no dummy bypass)', () => {
    const flows = registrationFlows({ requiresToken: true });
    expect(flows).toEqual([['m.login.registration_token']]);
    expect(offeredStages(flows).has(STAGE.dummy)).toBe(false);
  });
  it('stage names are the spec\'s', () => {
    // Every stage name is one the spec defines (cs-api-client-authentication: authentication types).
    const specTypes = ['m.login.password', 'm.login.recaptcha', 'm.login.sso', 'm.login.email.identity', 'm.login.msisdn',
      'm.login.dummy', 'm.login.registration_token', 'm.login.terms', 'm.oauth', 'm.login.application_service'];
    for (const name of Object.values(STAGE)) expect(specTypes).toContain(name);
    expect(STAGE).toMatchObject({
      dummy: 'm.login.dummy',
      registrationToken: 'm.login.registration_token',
      password: 'm.login.password',
    });
  });
});

describe('offeredStages', () => {
  it('is the union of every flow\'s stages', () => {
    expect([...offeredStages([['a', 'b'], ['b', 'c'], []])].sort()).toEqual(['a', 'b', 'c']);
    expect(offeredStages([]).size).toBe(0);
  });
});

describe('stageAllowed', () => {
  const flows = [['a', 'b', 'c'], ['d']];
  const done = (...s: string[]) => new Set(s);

  it('allows the first stage of a flow at once', () => {
    expect(stageAllowed(flows, done(), 'a')).toBe(true);
    expect(stageAllowed(flows, done(), 'd')).toBe(true);
  });
  it('refuses a later stage until every earlier one is complete', () => {
    expect(stageAllowed(flows, done(), 'b')).toBe(false);
    expect(stageAllowed(flows, done(), 'c')).toBe(false);
    expect(stageAllowed(flows, done('a'), 'b')).toBe(true);
    expect(stageAllowed(flows, done('a'), 'c')).toBe(false);
    expect(stageAllowed(flows, done('b'), 'c')).toBe(false);
    expect(stageAllowed(flows, done('a', 'b'), 'c')).toBe(true);
  });
  it('refuses a stage no flow offers', () => {
    expect(stageAllowed(flows, done('a', 'b', 'c', 'd'), 'e')).toBe(false);
    expect(stageAllowed([], done(), 'a')).toBe(false);
  });
  it('allows a stage when any one flow allows it', () => {
    const f = [['x', 'y'], ['y']];
    expect(stageAllowed(f, done(), 'y')).toBe(true);
  });
  it('completed stages of another flow do not unlock a stage', () => {
    expect(stageAllowed([['a', 'b'], ['c', 'd']], done('c'), 'b')).toBe(false);
  });
  it('re-attempting an already completed stage is still in order', () => {
    expect(stageAllowed(flows, done('a'), 'a')).toBe(true);
  });
});

describe('completedFlow', () => {
  const flows = [['a', 'b'], ['c']];
  it('is undefined until some flow is complete', () => {
    expect(completedFlow(flows, new Set())).toBeUndefined();
    expect(completedFlow(flows, new Set(['a']))).toBeUndefined();
    expect(completedFlow(flows, new Set(['b']))).toBeUndefined();
  });
  it('is the first flow whose stages are all complete', () => {
    expect(completedFlow(flows, new Set(['a', 'b']))).toEqual(['a', 'b']);
    expect(completedFlow(flows, new Set(['c']))).toEqual(['c']);
    expect(completedFlow(flows, new Set(['a', 'b', 'c']))).toEqual(['a', 'b']);
  });
  it('extra completed stages do not matter', () => {
    expect(completedFlow(flows, new Set(['c', 'z']))).toEqual(['c']);
  });
  it('no flows: never complete', () => {
    expect(completedFlow([], new Set(['a']))).toBeUndefined();
  });
  it('works on the real registration flows', () => {
    const f = registrationFlows({ requiresToken: true });
    expect(completedFlow(f, new Set([STAGE.dummy]))).toBeUndefined();
    expect(completedFlow(f, new Set([STAGE.registrationToken]))).toEqual([STAGE.registrationToken]);
  });
});
