// m.login.terms (spec: Terms of service at registration): the person accepts the operator's
// policy documents. The versions presented are recorded in the session when the stage completes
// and stored per account by the registration transaction.
import type { TermsPolicy } from '../../config.js';
import { STAGE } from '../../domain/flows.js';
import type { Stage } from '../stage.js';

/** What the completed stage records: policy id -> the version accepted. */
export interface TermsAcceptance {
  policies: Record<string, string>;
}

/** The spec's m.login.terms params: { policies: { id: { version, <lang>: { name, url } } } }. */
export function termsParams(policies: Readonly<Record<string, TermsPolicy>>): { policies: Record<string, Record<string, unknown>> } {
  const out: Record<string, Record<string, unknown>> = {};
  for (const [id, p] of Object.entries(policies)) out[id] = { version: p.version, ...p.documents };
  return { policies: out };
}

/** The document to show when one language must be chosen: English if offered, else the first. */
export function preferredDocument(p: TermsPolicy): { lang: string; name: string; url: string } {
  const lang = 'en' in p.documents ? 'en' : Object.keys(p.documents)[0]!;
  return { lang, ...p.documents[lang]! };
}

export function createTermsStage(policies: Readonly<Record<string, TermsPolicy>>): Stage {
  const ids = Object.keys(policies);
  const accepted: TermsAcceptance = { policies: Object.fromEntries(ids.map((id) => [id, policies[id]!.version])) };
  const field = (id: string) => `accept_${id}`;
  return {
    type: STAGE.terms,
    params: () => termsParams(policies),
    // Submitting the stage is the acceptance of every policy presented (spec).
    attempt: async () => ({ ok: true, data: accepted }),
    fallback: {
      title: 'Accept the policies',
      instructions: 'Please read and accept the following documents to create your account.',
      submitLabel: 'Accept and continue',
      fields: () =>
        ids.map((id) => {
          const doc = preferredDocument(policies[id]!);
          return {
            kind: 'checkbox' as const,
            name: field(id),
            label: `I accept the ${doc.name} (version ${policies[id]!.version})`,
            link: { href: doc.url, text: `Read the ${doc.name}` },
          };
        }),
      toAuth: (form) => {
        const missing = ids.filter((id) => form.get(field(id)) !== 'on');
        if (missing.length > 0) return { ok: false, message: 'Tick every box to accept all of the documents.' };
        return { ok: true, auth: { type: STAGE.terms } };
      },
    },
  };
}
