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
}

/** The flows POST /register offers for a configuration. */
export function registrationFlows(c: RegistrationFlowConfig): Flow[] {
  if (c.requiresToken) return [[STAGE.registrationToken]];
  return [[STAGE.dummy]];
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
