// m.login.email.identity and m.login.msisdn: the client proves control of an email address or
// phone number by naming a validation session (threepid_creds: sid + client_secret) it has
// validated through requestToken and the link or code. The stage completes only for a session
// that is validated, unexpired, unspent and of the purpose of the UIA session's operation
// (registration or password reset). The identifier is recorded in the UIA session; the operation
// spends the validation session inside its own transaction.
import { STAGE } from '../../domain/flows.js';
import { CLIENT_SECRET_GRAMMAR, purposeOfOperation, usableForStage, type Medium } from '../../domain/threepid.js';
import { errors } from '../../errors.js';
import { safeEqual } from '../../lib/secrets.js';
import type { Db } from '../../store/db.js';
import { findValidation } from '../../store/threepid-validations.js';
import type { Stage } from '../stage.js';

export function createThreepidStage(deps: { db: Db; medium: Medium }): Stage {
  const { db, medium } = deps;
  return {
    type: medium === 'email' ? STAGE.emailIdentity : STAGE.msisdn,
    async attempt(auth, { session, now }) {
      // threepidCreds is the r0-era spelling some clients still send.
      const creds = (auth.threepid_creds ?? auth.threepidCreds) as Record<string, unknown> | undefined;
      if (typeof creds !== 'object' || creds === null || Array.isArray(creds)) {
        return { ok: false, error: errors.stageUnauthorized('threepid_creds with sid and client_secret is required.') };
      }
      const { sid, client_secret: clientSecret } = creds;
      if (typeof sid !== 'string' || typeof clientSecret !== 'string' || !CLIENT_SECRET_GRAMMAR.test(sid) || !CLIENT_SECRET_GRAMMAR.test(clientSecret)) {
        return { ok: false, error: errors.stageUnauthorized('threepid_creds.sid and client_secret must be 1-255 characters of [0-9a-zA-Z.=_-].') };
      }
      const purpose = purposeOfOperation(session.operation);
      const v = await findValidation(db, sid);
      if (!purpose || !v || !safeEqual(v.client_secret, clientSecret) || v.medium !== medium || !usableForStage(v, purpose, now)) {
        return { ok: false, error: errors.threepidNotValidated() };
      }
      return { ok: true, data: { sid: v.sid, medium: v.medium, address: v.address, validated_at: v.validated_at } };
    },
  };
}
