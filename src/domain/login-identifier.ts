// Pure rule: which user a login (or an m.login.password UIA stage) names. The spec's
// `identifier` object of type m.id.user, or the deprecated top-level `user` field. Third-party
// and phone identifiers are not supported (yet), so they are a distinct outcome.

export type LoginIdentifier =
  | { kind: 'user'; user: string }
  | { kind: 'none' }
  | { kind: 'unsupported' }
  | { kind: 'invalid'; field: string };

export function loginIdentifier(body: { identifier?: unknown; user?: unknown; medium?: unknown; address?: unknown }): LoginIdentifier {
  const id = body.identifier;
  if (id !== undefined && id !== null) {
    if (typeof id !== 'object' || Array.isArray(id)) return { kind: 'invalid', field: 'identifier' };
    const { type, user } = id as Record<string, unknown>;
    if (typeof type !== 'string') return { kind: 'invalid', field: 'identifier.type' };
    if (type !== 'm.id.user') return { kind: 'unsupported' };
    if (typeof user !== 'string') return { kind: 'invalid', field: 'identifier.user' };
    return { kind: 'user', user };
  }
  if (body.user !== undefined && body.user !== null) {
    if (typeof body.user !== 'string') return { kind: 'invalid', field: 'user' };
    return { kind: 'user', user: body.user };
  }
  if (body.medium !== undefined || body.address !== undefined) return { kind: 'unsupported' };
  return { kind: 'none' };
}
