// m.login.dummy: always succeeds. Offered alone only when the operator opted in to open
// registration (ENABLE_REGISTRATION_WITHOUT_VERIFICATION).
import { STAGE } from '../../domain/flows.js';
import type { Stage } from '../stage.js';

export const dummyStage: Stage = {
  type: STAGE.dummy,
  attempt: async () => ({ ok: true }),
  fallback: {
    title: 'Continue registration',
    instructions: 'No further information is needed for this step. Press Continue to go on.',
    submitLabel: 'Continue',
    fields: () => [],
    toAuth: () => ({ ok: true, auth: { type: STAGE.dummy } }),
  },
};
