import { describe, expect, it } from 'vitest';
import { ReplicationAuth, wrongReplica } from './replication-auth.js';

const own = new Map([
  ['london-token-0123456789', 'uk-london'],
  ['tokyo-token-0123456789', 'asia-tokyo'],
]);

describe('ReplicationAuth', () => {
  it('lets every request in when no token is set', () => {
    const auth = new ReplicationAuth(undefined, undefined);
    expect(auth.check(undefined)).toBe('open');
    expect(auth.check('Bearer anything')).toBe('open');
  });

  it('tells the current token from the one being retired, and refuses the rest', () => {
    const auth = new ReplicationAuth('new', 'old');
    expect(auth.check('Bearer new')).toBe('current');
    expect(auth.check('Bearer old')).toBe('previous');
    expect(auth.check('Bearer older')).toBeNull();
    expect(auth.check(undefined)).toBeNull();
    expect(new ReplicationAuth('new', undefined).check('Bearer old')).toBeNull();
  });

  it("takes a replica's own token for that replica alone, beside the shared one or without it", () => {
    for (const auth of [
      new ReplicationAuth('shared', undefined, own),
      new ReplicationAuth(undefined, undefined, own),
    ]) {
      const london = auth.check('Bearer london-token-0123456789');
      expect(london).toMatchObject({ replica: 'uk-london' });
      expect(wrongReplica(london!, 'uk-london')).toBeNull();
      expect(wrongReplica(london!, 'asia-tokyo')).toBe(
        "this replication token is replica uk-london's, not asia-tokyo's",
      );
      expect(auth.check('bearer   tokyo-token-0123456789 ')).toMatchObject({ replica: 'asia-tokyo' });
      expect(auth.check('Bearer london-token-012345678')).toBeNull();
      expect(auth.check(undefined)).toBeNull();
      expect(auth.check('Basic london-token-0123456789')).toBeNull();
    }
    // Only replicas' own tokens: the shared one is no more, and nothing is open.
    const only = new ReplicationAuth(undefined, undefined, own);
    expect(only.open).toBe(false);
    expect(only.check('Bearer shared')).toBeNull();
    expect(wrongReplica('current', 'asia-tokyo')).toBeNull();
  });

  it('holds a token only while the last reload still gives it to the same replica', () => {
    const auth = new ReplicationAuth('shared', undefined, own);
    const london = auth.check('Bearer london-token-0123456789')!;
    const tokyo = auth.check('Bearer tokyo-token-0123456789')!;
    auth.replace(new Map([['tokyo-token-0123456789', 'asia-tokyo']]));
    expect(auth.holds(london)).toBe(false);
    expect(auth.holds(tokyo)).toBe(true);
    expect(auth.holds('current')).toBe(true);
    expect(auth.check('Bearer london-token-0123456789')).toBeNull();
    // A token moved to another name speaks for that name now, not the old one.
    auth.replace(new Map([['tokyo-token-0123456789', 'asia-osaka']]));
    expect(auth.holds(tokyo)).toBe(false);
  });
});
