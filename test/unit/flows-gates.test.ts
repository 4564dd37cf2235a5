// Which registration flows a configuration offers, and the flow-order rules, exhaustively.
import { describe, expect, it } from 'vitest';
import { completedFlow, registrationFlows, registrationGates, STAGE, stageAllowed } from '../../src/domain/flows.js';

describe('registrationFlows', () => {
  const cases: [{ requiresToken: boolean; captcha: boolean; terms: boolean }, string[]][] = [
    [{ requiresToken: false, captcha: false, terms: false }, [STAGE.dummy]],
    [{ requiresToken: true, captcha: false, terms: false }, [STAGE.registrationToken]],
    [{ requiresToken: false, captcha: true, terms: false }, [STAGE.recaptcha]],
    [{ requiresToken: false, captcha: false, terms: true }, [STAGE.terms]],
    [{ requiresToken: true, captcha: true, terms: false }, [STAGE.registrationToken, STAGE.recaptcha]],
    [{ requiresToken: true, captcha: false, terms: true }, [STAGE.registrationToken, STAGE.terms]],
    [{ requiresToken: false, captcha: true, terms: true }, [STAGE.recaptcha, STAGE.terms]],
    [{ requiresToken: true, captcha: true, terms: true }, [STAGE.registrationToken, STAGE.recaptcha, STAGE.terms]],
  ];
  it.each(cases)('%o gives %o', (config, stages) => {
    expect(registrationFlows(config)).toEqual([stages]);
  });

  it('puts the cheap gates in a fixed order: token, captcha, terms', () => {
    expect(registrationGates({ requiresToken: true, captcha: true, terms: true })).toEqual([
      'm.login.registration_token',
      'm.login.recaptcha',
      'm.login.terms',
    ]);
    expect(registrationGates({ requiresToken: false })).toEqual([]);
  });

  it('never offers dummy next to a gate (dummy would make the gate optional)', () => {
    for (const [config] of cases.slice(1)) expect(registrationFlows(config).flat()).not.toContain(STAGE.dummy);
  });
});

describe('flow order', () => {
  const flows = [[STAGE.registrationToken, STAGE.recaptcha, STAGE.terms]];
  it('allows a stage only after every earlier stage of its flow', () => {
    expect(stageAllowed(flows, new Set(), STAGE.registrationToken)).toBe(true);
    expect(stageAllowed(flows, new Set(), STAGE.recaptcha)).toBe(false);
    expect(stageAllowed(flows, new Set([STAGE.registrationToken]), STAGE.recaptcha)).toBe(true);
    expect(stageAllowed(flows, new Set([STAGE.registrationToken]), STAGE.terms)).toBe(false);
    expect(stageAllowed(flows, new Set([STAGE.registrationToken, STAGE.recaptcha]), STAGE.terms)).toBe(true);
    expect(stageAllowed(flows, new Set(), STAGE.dummy)).toBe(false);
  });
  it('is complete only when every stage is', () => {
    expect(completedFlow(flows, new Set([STAGE.registrationToken, STAGE.recaptcha]))).toBeUndefined();
    expect(completedFlow(flows, new Set([STAGE.registrationToken, STAGE.recaptcha, STAGE.terms]))).toEqual(flows[0]);
  });
});
