// Flow derivation for REGISTRATION_TOKEN_OPTIONAL and the engine's order rule (stageAllowed).
import { describe, expect, it } from 'vitest';
import { completedFlow, registrationFlows, stageAllowed, STAGE, withTokenFirst } from '../../src/domain/flows.js';

describe('registrationFlows', () => {
  it('offers dummy alone, the token alone, or both flows with an optional token', () => {
    expect(registrationFlows({ requiresToken: false })).toEqual([[STAGE.dummy]]);
    expect(registrationFlows({ requiresToken: true })).toEqual([[STAGE.registrationToken]]);
    expect(registrationFlows({ requiresToken: false, tokenOptional: true })).toEqual([[STAGE.dummy], [STAGE.registrationToken]]);
    // A required token wins over "optional" (the configuration refuses the combination anyway).
    expect(registrationFlows({ requiresToken: true, tokenOptional: true })).toEqual([[STAGE.registrationToken]]);
  });
  it('with captcha and terms, offers the gate flow and the same flow with the token first', () => {
    expect(registrationFlows({ requiresToken: false, tokenOptional: true, captcha: true, terms: true })).toEqual([
      [STAGE.recaptcha, STAGE.terms],
      [STAGE.registrationToken, STAGE.recaptcha, STAGE.terms],
    ]);
  });
  it('puts the token first in front of the other stages', () => {
    expect(withTokenFirst([['m.login.terms', 'm.login.email.identity'], [STAGE.dummy]])).toEqual([
      [STAGE.registrationToken, 'm.login.terms', 'm.login.email.identity'],
      [STAGE.registrationToken],
    ]);
  });
});

describe('stageAllowed (a flow is completed in order)', () => {
  const flows = [[STAGE.registrationToken, 'm.login.terms', 'm.login.email.identity'], ['m.login.terms', 'm.login.email.identity']];
  it('accepts the first stage of any flow', () => {
    expect(stageAllowed(flows, new Set(), STAGE.registrationToken)).toBe(true);
    expect(stageAllowed(flows, new Set(), 'm.login.terms')).toBe(true);
  });
  it('refuses a later stage before the earlier ones', () => {
    expect(stageAllowed(flows, new Set(), 'm.login.email.identity')).toBe(false);
    expect(stageAllowed(flows, new Set([STAGE.registrationToken]), 'm.login.email.identity')).toBe(false);
  });
  it('accepts it once some flow’s earlier stages are complete', () => {
    expect(stageAllowed(flows, new Set(['m.login.terms']), 'm.login.email.identity')).toBe(true);
    expect(stageAllowed(flows, new Set([STAGE.registrationToken, 'm.login.terms']), 'm.login.email.identity')).toBe(true);
  });
  it('refuses stages no flow offers', () => {
    expect(stageAllowed(flows, new Set(), STAGE.dummy)).toBe(false);
  });
  it('finds the completed flow', () => {
    expect(completedFlow(flows, new Set(['m.login.terms', 'm.login.email.identity']))).toEqual(flows[1]);
    expect(completedFlow(flows, new Set(['m.login.terms']))).toBeUndefined();
  });
});
