// Pure rules of user-interactive authentication: which flows a configuration offers, whether a
// stage may be attempted now, and whether a flow is complete. The spec requires a flow's stages
// to be completed in order.

export type Flow = readonly string[];

export const STAGE = {
  dummy: 'm.login.dummy',
  registrationToken: 'm.login.registration_token',
  password: 'm.login.password',
  recaptcha: 'm.login.recaptcha',
  terms: 'm.login.terms',
  emailIdentity: 'm.login.email.identity',
  msisdn: 'm.login.msisdn',
} as const;

/** Which verified third-party identifier registration requires. */
export type Requires3pid = 'none' | 'email' | 'msisdn' | 'either';

export interface RegistrationFlowConfig {
  requiresToken: boolean;
  /**
   * REGISTRATION_TOKEN_OPTIONAL: besides the flows without a token, offer the same flows with a
   * registration token first (a token is a perk, recorded with the account, not a gate).
   */
  tokenOptional?: boolean;
  /** Defaults to 'none'. */
  requires3pid?: Requires3pid;
  /** m.login.recaptcha is configured (site key, secret, verifier URL). */
  captcha?: boolean;
  /** Policies the user must accept (m.login.terms). */
  terms?: boolean;
}

/**
 * The gates every registration flow starts with, cheapest first: a pre-shared token, a captcha,
 * then accepting the policies. They come before any stage that costs the operator something
 * (sending an email or a text), so a spammer pays the cheap checks before anything expensive.
 */
export function registrationGates(c: RegistrationFlowConfig): string[] {
  const gates: string[] = [];
  if (c.requiresToken) gates.push(STAGE.registrationToken);
  if (c.captcha) gates.push(STAGE.recaptcha);
  if (c.terms) gates.push(STAGE.terms);
  return gates;
}

/**
 * The flows POST /register offers for a configuration. A required 3PID gives one flow per
 * accepted medium: the cheap gates first (token, captcha, terms: they keep strangers from making
 * us send mail), the email or phone stage last; the engine enforces the order (stageAllowed).
 * With REGISTRATION_TOKEN_OPTIONAL, each flow is offered again with the token first.
 */
export function registrationFlows(c: RegistrationFlowConfig): Flow[] {
  const gates = registrationGates(c);
  const threepid = c.requires3pid ?? 'none';
  const media: string[] =
    threepid === 'email' ? [STAGE.emailIdentity]
    : threepid === 'msisdn' ? [STAGE.msisdn]
    : threepid === 'either' ? [STAGE.emailIdentity, STAGE.msisdn]
    : [];
  const base: Flow[] = media.length > 0 ? media.map((m) => [...gates, m]) : gates.length > 0 ? [gates] : [[STAGE.dummy]];
  if (c.tokenOptional && !c.requiresToken) return [...base, ...withTokenFirst(base)];
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

/** The flows of a password reset without an access token: proving control of a bound 3PID. */
export function resetFlows(media: { email: boolean; msisdn: boolean }): Flow[] {
  const flows: Flow[] = [];
  if (media.email) flows.push([STAGE.emailIdentity]);
  if (media.msisdn) flows.push([STAGE.msisdn]);
  return flows;
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
