// Pure rules of user-interactive authentication: which flows a configuration offers, whether a
// stage may be attempted now, and whether a flow is complete. The spec requires a flow's stages
// to be completed in order.

export type Flow = readonly string[];

export const STAGE = {
  dummy: 'm.login.dummy',
  registrationToken: 'm.login.registration_token',
  password: 'm.login.password',
} as const;

export interface RegistrationFlowConfig {
  requiresToken: boolean;
  /**
   * REGISTRATION_TOKEN_OPTIONAL: besides the flows without a token, offer the same flows with a
   * registration token first (a token is a perk, recorded with the account, not a gate).
   */
  tokenOptional?: boolean;
}

/**
 * The flows POST /register offers for a configuration. Cheap gates that send nothing (the
 * registration token) come first in every flow; the engine enforces the order (stageAllowed).
 */
export function registrationFlows(c: RegistrationFlowConfig): Flow[] {
  if (c.requiresToken) return [[STAGE.registrationToken]];
  const base: Flow[] = [[STAGE.dummy]];
  if (c.tokenOptional) return [...base, ...withTokenFirst(base)];
  return base;
}

/**
 * The token-bearing variants of tokenless flows: the token replaces m.login.dummy (which only
 * stands for "no other stage") or is put in front of the flow's stages.
 */
export function withTokenFirst(flows: readonly Flow[]): Flow[] {
  return flows.map((f) => {
    const rest = f.filter((s) => s !== STAGE.dummy && s !== STAGE.registrationToken);
    return [STAGE.registrationToken, ...rest];
  });
}

/** Stages named in any flow. */
export function offeredStages(flows: readonly Flow[]): Set<string> {
  return new Set(flows.flat());
}

/**
 * A stage may be attempted when some offered flow contains it and every stage before it in that
 * flow is already complete.
 */
export function stageAllowed(flows: readonly Flow[], completed: ReadonlySet<string>, stage: string): boolean {
  return flows.some((flow) => {
    const i = flow.indexOf(stage);
    return i >= 0 && flow.slice(0, i).every((s) => completed.has(s));
  });
}

/** The first flow whose stages are all complete, if any. */
export function completedFlow(flows: readonly Flow[], completed: ReadonlySet<string>): Flow | undefined {
  return flows.find((flow) => flow.every((s) => completed.has(s)));
}
