// m.login.registration_token: admits a registration with a pre-shared token. Passing the stage
// reserves one use of the token for the session (a hold that lapses if the session is abandoned);
// the registration turns it into a completed use. Wrong tokens spend a per-IP failure budget
// shared by all instances, so the stage cannot be used to guess tokens.
import { TOKEN_GRAMMAR } from '../../domain/registration-token.js';
import { STAGE } from '../../domain/flows.js';
import { errors } from '../../errors.js';
import type { Db } from '../../store/db.js';
import { peekFailures, recordFailure } from '../../store/failure-counters.js';
import { holdTokenUse, releaseLapsedHolds } from '../../store/registration-tokens.js';
import type { Stage } from '../stage.js';

export interface RegistrationTokenStageDeps {
  db: Db;
  holdMs: number;
  failureBudget: { max: number; windowMs: number };
}

export const tokenFailureKey = (ip: string) => `registration_token:${ip}`;

export function createRegistrationTokenStage(deps: RegistrationTokenStageDeps): Stage {
  const { db, holdMs, failureBudget } = deps;
  return {
    type: STAGE.registrationToken,
    async attempt(auth, { session, ip, now }) {
      const key = tokenFailureKey(ip);
      const spent = await peekFailures(db, key, now);
      if (spent.count >= failureBudget.max) throw errors.limitExceeded(spent.windowEnd - now);

      const token = auth.token;
      if (typeof token !== 'string' || !TOKEN_GRAMMAR.test(token)) {
        await recordFailure(db, key, now, failureBudget.windowMs);
        return { ok: false, error: errors.invalidRegistrationToken() };
      }
      await releaseLapsedHolds(db, now, token);
      const held = await holdTokenUse(db, {
        token,
        sessionId: session.session_id,
        now,
        holdUntil: Math.min(now + holdMs, session.expires_at),
      });
      if (held === 'invalid') {
        await recordFailure(db, key, now, failureBudget.windowMs);
        return { ok: false, error: errors.invalidRegistrationToken() };
      }
      return { ok: true, data: { token } };
    },
    fallback: {
      title: 'Registration token',
      instructions: 'This server admits new accounts with a registration token. Enter the token you were given.',
      submitLabel: 'Continue',
      fields: () => [
        { kind: 'text', name: 'token', label: 'Registration token', autocomplete: 'off', maxLength: 64 },
      ],
      toAuth: (form) => {
        const token = (form.get('token') ?? '').trim();
        if (token === '') return { ok: false, message: 'Enter your registration token.' };
        return { ok: true, auth: { type: STAGE.registrationToken, token } };
      },
    },
  };
}
