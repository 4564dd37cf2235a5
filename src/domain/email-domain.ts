// Which email domains may be used to register: a pure function of the address and the operator's
// policy (allow-list, deny-list, refusal of disposable-address providers). A listed domain also
// covers its subdomains ("example.org" covers "mail.example.org").

export interface EmailDomainPolicy {
  /** When non-empty, only these domains (and their subdomains) are accepted. */
  allow: readonly string[];
  /** These domains (and their subdomains) are refused. */
  deny: readonly string[];
  /** Refuse domains in the disposable-provider list. */
  refuseDisposable: boolean;
  /** The disposable-provider list (lower case). */
  disposable: ReadonlySet<string>;
}

export type EmailDomainVerdict =
  | { ok: true; domain: string }
  | { ok: false; reason: 'not_allowed' | 'denied' | 'disposable' | 'malformed'; domain: string };

/** The domain part of an address, lower case, without a trailing dot; undefined if there is none. */
export function emailDomain(address: string): string | undefined {
  const at = address.lastIndexOf('@');
  if (at <= 0 || at === address.length - 1) return undefined;
  const domain = address.slice(at + 1).trim().toLowerCase().replace(/\.$/, '');
  return domain.length > 0 && !/[\s@]/.test(domain) ? domain : undefined;
}

/** The domain and each parent domain: a.b.example.org, b.example.org, example.org, org. */
export function domainAndParents(domain: string): string[] {
  const labels = domain.split('.');
  return labels.map((_, i) => labels.slice(i).join('.'));
}

const normalise = (d: string) => d.trim().toLowerCase().replace(/^\*?\./, '').replace(/\.$/, '');

function listed(domain: string, list: readonly string[]): boolean {
  if (list.length === 0) return false;
  const set = new Set(list.map(normalise));
  return domainAndParents(domain).some((d) => set.has(d));
}

/** Whether an email address may be used, and if not, why. Deny beats allow. */
export function checkEmailDomain(address: string, policy: EmailDomainPolicy): EmailDomainVerdict {
  const domain = emailDomain(address);
  if (domain === undefined) return { ok: false, reason: 'malformed', domain: '' };
  if (listed(domain, policy.deny)) return { ok: false, reason: 'denied', domain };
  if (policy.allow.length > 0 && !listed(domain, policy.allow)) return { ok: false, reason: 'not_allowed', domain };
  if (policy.refuseDisposable && domainAndParents(domain).some((d) => policy.disposable.has(d))) {
    return { ok: false, reason: 'disposable', domain };
  }
  return { ok: true, domain };
}

/** The message of the M_THREEPID_DENIED answer for a refused verdict. */
export function emailDomainMessage(v: Exclude<EmailDomainVerdict, { ok: true }>): string {
  switch (v.reason) {
    case 'disposable':
      return `Addresses at ${v.domain} (a disposable-address provider) cannot be used to register here.`;
    case 'denied':
      return `Addresses at ${v.domain} cannot be used to register here.`;
    case 'not_allowed':
      return `Only addresses at the domains this homeserver accepts can be used to register; ${v.domain} is not one of them.`;
    case 'malformed':
      return 'The email address has no domain.';
  }
}
