// Application services (Synapse's registration file format): which user IDs a service claims,
// and which one, if any, holds a user ID exclusively. Pure functions over parsed registrations.

export interface UserNamespace {
  regex: RegExp;
  exclusive: boolean;
}

export interface AppService {
  id: string;
  asToken: string;
  senderLocalpart: string;
  users: UserNamespace[];
}

/**
 * Checks one parsed registration document and returns the service, or throws an Error naming
 * the problem (the caller prefixes the file name). Regexes match from the start of the user ID,
 * as Python's re.match does in Synapse.
 */
export function parseAppServiceRegistration(doc: unknown): AppService {
  if (doc === null || typeof doc !== 'object' || Array.isArray(doc)) throw new Error('expected a YAML mapping');
  const d = doc as Record<string, unknown>;
  for (const key of ['id', 'as_token', 'hs_token', 'sender_localpart'] as const) {
    if (typeof d[key] !== 'string' || (d[key] as string).length === 0) throw new Error(`${key} must be a non-empty string`);
  }
  const users: UserNamespace[] = [];
  const namespaces = d.namespaces ?? {};
  if (typeof namespaces !== 'object' || namespaces === null) throw new Error('namespaces must be a mapping');
  const list = (namespaces as Record<string, unknown>).users ?? [];
  if (!Array.isArray(list)) throw new Error('namespaces.users must be a list');
  list.forEach((ns, i) => {
    const n = ns as Record<string, unknown>;
    if (typeof n?.regex !== 'string') throw new Error(`namespaces.users[${i}].regex must be a string`);
    if (typeof n.exclusive !== 'boolean') throw new Error(`namespaces.users[${i}].exclusive must be true or false`);
    let regex: RegExp;
    try {
      regex = new RegExp(`^(?:${n.regex})`);
    } catch (err) {
      throw new Error(`namespaces.users[${i}].regex is not a valid regular expression: ${(err as Error).message}`);
    }
    users.push({ regex, exclusive: n.exclusive });
  });
  return { id: d.id as string, asToken: d.as_token as string, senderLocalpart: d.sender_localpart as string, users };
}

/** Whether the service may register or act as this user: its namespaces, or its sender user. */
export function isInterestedInUser(service: AppService, userId: string, serverName: string): boolean {
  if (userId === `@${service.senderLocalpart}:${serverName}`) return true;
  return service.users.some((ns) => ns.regex.test(userId));
}

/** The services (other than `except`) holding the user ID in an exclusive namespace. */
export function exclusiveOwners(services: readonly AppService[], userId: string, except?: AppService): AppService[] {
  return services.filter((s) => s !== except && s.users.some((ns) => ns.exclusive && ns.regex.test(userId)));
}
