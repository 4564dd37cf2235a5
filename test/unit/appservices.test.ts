// Application-service registrations (Synapse's file format) and namespace rules.
import { describe, expect, it } from 'vitest';
import { exclusiveOwners, isInterestedInUser, parseAppServiceRegistration } from '../../src/domain/appservices.js';

const base = {
  id: 'irc',
  url: null,
  as_token: 'as-token-irc',
  hs_token: 'hs-token-irc',
  sender_localpart: 'ircbot',
  namespaces: { users: [{ exclusive: true, regex: '@_irc_.*:example\\.org' }], aliases: [], rooms: [] },
};

describe('parseAppServiceRegistration', () => {
  it('reads the fields this service uses', () => {
    const s = parseAppServiceRegistration(base);
    expect(s).toMatchObject({ id: 'irc', asToken: 'as-token-irc', senderLocalpart: 'ircbot' });
    expect(s.users).toHaveLength(1);
    expect(s.users[0]!.exclusive).toBe(true);
  });

  it.each([
    [{ ...base, as_token: undefined }, /as_token/],
    [{ ...base, id: '' }, /id/],
    [{ ...base, hs_token: 3 }, /hs_token/],
    [{ ...base, sender_localpart: undefined }, /sender_localpart/],
    [{ ...base, namespaces: { users: {} } }, /namespaces.users must be a list/],
    [{ ...base, namespaces: { users: [{ regex: '@a.*' }] } }, /exclusive/],
    [{ ...base, namespaces: { users: [{ regex: 5, exclusive: true }] } }, /regex must be a string/],
    [{ ...base, namespaces: { users: [{ regex: '(', exclusive: true }] } }, /not a valid regular expression/],
    ['just a string', /mapping/],
  ])('refuses %j', (doc, message) => {
    expect(() => parseAppServiceRegistration(doc)).toThrow(message);
  });

  it('accepts a registration without namespaces', () => {
    expect(parseAppServiceRegistration({ ...base, namespaces: undefined }).users).toEqual([]);
  });
});

describe('namespaces', () => {
  const irc = parseAppServiceRegistration(base);
  const open = parseAppServiceRegistration({
    ...base,
    id: 'open',
    as_token: 'as-token-open',
    sender_localpart: 'openbot',
    namespaces: { users: [{ exclusive: false, regex: '@bridge_.*' }] },
  });

  it('matches from the start of the user ID, as Python re.match does', () => {
    expect(isInterestedInUser(irc, '@_irc_alice:example.org', 'example.org')).toBe(true);
    expect(isInterestedInUser(irc, '@x_irc_alice:example.org', 'example.org')).toBe(false);
    expect(isInterestedInUser(irc, '@ircbot:example.org', 'example.org')).toBe(true);
    expect(isInterestedInUser(irc, '@alice:example.org', 'example.org')).toBe(false);
  });

  it('names the exclusive owners of a user ID, except the asking service', () => {
    expect(exclusiveOwners([irc, open], '@_irc_bob:example.org').map((s) => s.id)).toEqual(['irc']);
    expect(exclusiveOwners([irc, open], '@_irc_bob:example.org', irc)).toEqual([]);
    // A non-exclusive namespace reserves nothing.
    expect(exclusiveOwners([irc, open], '@bridge_bob:example.org')).toEqual([]);
  });
});
