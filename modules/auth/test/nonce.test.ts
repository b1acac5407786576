/** Stateless nonces (issue, verify, expiry, tampering) and the bounded nc replay guard. */
import t from 'tap';
import { NcTracker, NonceService } from '../nonce.js';

const SECRET = 'a shared secret of some length';

t.test(
  'a nonce verifies on any node with the secret, for its realm, until it expires',
  async (t) => {
    let now = 1_700_000_000_000;
    const a = new NonceService(SECRET, 30_000, () => now);
    const b = new NonceService(Buffer.from(SECRET), 30_000, () => now);
    const n = a.issue('sip.test');
    t.match(n, /^[A-Za-z0-9_-]{42}$/, 'base64url, fixed length');
    t.not(a.issue('sip.test'), n, 'random part differs');
    t.same(b.verify(n, 'sip.test'), { status: 'fresh', issuedAt: now, expiresAt: now + 30_000 });
    t.same(a.verify(n, 'other.test'), { status: 'invalid' }, 'bound to its realm');
    t.same(new NonceService('another secret entirely', 30_000, () => now).verify(n, 'sip.test'), {
      status: 'invalid',
    });
    now += 29_999;
    t.equal(a.verify(n, 'sip.test').status, 'fresh');
    now += 1;
    t.equal(a.verify(n, 'sip.test').status, 'expired', 'authentic but old');
  },
);

t.test('a nonce stays valid after it left the recently-issued memory', async (t) => {
  const now = 1_700_000_000_000;
  const s = new NonceService(SECRET, 30_000, () => now);
  const first = s.issue('sip.test');
  const draws = new Set<string>();
  // More than the remembered nonces and than one pool of random bytes.
  for (let i = 0; i < 5000; i++) {
    draws.add(s.issue('sip.test').slice(9, 20));
  }
  t.equal(draws.size, 5000, 'the random part never repeats across pool refills');
  t.same(s.verify(first, 'sip.test'), { status: 'fresh', issuedAt: now, expiresAt: now + 30_000 });
  t.same(s.verify(first, 'other.test'), { status: 'invalid' }, 'still bound to its realm');
});

t.test('tampered, truncated and foreign nonces are invalid', async (t) => {
  let now = 1_700_000_000_000;
  const s = new NonceService(SECRET, 30_000, () => now);
  const n = s.issue('r');
  const buf = Buffer.from(n, 'base64url');
  for (let i = 0; i < buf.length; i++) {
    const copy = Buffer.from(buf);
    copy[i] = copy[i]! ^ 0x01;
    t.equal(s.verify(copy.toString('base64url'), 'r').status, 'invalid', `byte ${i} flipped`);
  }
  // An attacker who rewrites the timestamp to make an old nonce fresh breaks the MAC.
  const older = Buffer.from(buf);
  older.writeUIntBE(now + 10_000, 1, 6);
  t.equal(s.verify(older.toString('base64url'), 'r').status, 'invalid');
  for (const bad of ['', 'abc', n.slice(1), `${n}A`, n.replace(/./, '+'), 'x'.repeat(42)]) {
    t.equal(s.verify(bad, 'r').status, 'invalid', JSON.stringify(bad));
  }
  // A node whose clock is far ahead issues a nonce from the future: refused past one lifetime.
  const ahead = new NonceService(SECRET, 30_000, () => now + 60_000).issue('r');
  t.equal(s.verify(ahead, 'r').status, 'invalid');
  const slightlyAhead = new NonceService(SECRET, 30_000, () => now + 5_000).issue('r');
  t.equal(s.verify(slightlyAhead, 'r').status, 'fresh');
  now += 0;
});

t.test('nc must grow per nonce; replays and lower counts are refused', async (t) => {
  const now = 1000;
  const nc = new NcTracker(100, () => now);
  t.equal(nc.accept('n1', 1, 900, 2000), 'ok');
  t.equal(nc.accept('n1', 1, 900, 2000), 'replay', 'same nc');
  t.equal(nc.accept('n1', 3, 900, 2000), 'ok', 'gaps are fine');
  t.equal(nc.accept('n1', 2, 900, 2000), 'replay', 'lower nc');
  t.equal(nc.accept('n2', 1, 900, 2000), 'ok', 'per nonce');
  t.equal(nc.accept('n3', null, 900, 2000), 'ok', 'RFC 2069: one use');
  t.equal(nc.accept('n3', null, 900, 2000), 'replay');
  t.equal(nc.size, 3);
});

t.test('entries go when their nonce expires; a full map forgets safely', async (t) => {
  let now = 1000;
  const nc = new NcTracker(100, () => now);
  nc.accept('a', 1, 500, 1500);
  nc.accept('b', 1, 600, 1600);
  nc.accept('c', 1, 900, 5000);
  now = 1600;
  nc.prune();
  t.equal(nc.size, 1, 'a and b expired');

  const small = new NcTracker(2, () => now);
  t.equal(small.accept('x', 1, 1000, 9000), 'ok');
  t.equal(small.accept('y', 1, 1100, 9000), 'ok');
  t.equal(small.accept('z', 1, 1200, 9000), 'ok', 'x evicted for room');
  t.equal(small.size, 2);
  t.equal(small.accept('x', 2, 1000, 9000), 'replay', 'forgotten nonce refused, not re-opened');
  t.equal(small.accept('w', 1, 1000, 9000), 'replay', 'older than what was forgotten');
  t.equal(small.accept('z', 2, 1200, 9000), 'ok', 'kept entries still work');
  // A newcomer older than the entry it pushes out is refused too.
  t.equal(small.accept('v', 1, 1050, 9000), 'replay');
  small.clear();
  t.equal(small.size, 0);
});
