import t from 'tap';
import { isToken } from '../../src/sip/chars.js';
import { MAGIC_COOKIE, newBranch, newCallId, newTag, randomToken } from '../../src/sip/ids.js';

t.test(
  'branches start with the RFC 3261 magic cookie and carry 96 random bits (§8.1.1.7)',
  async (t) => {
    const b = newBranch();
    t.ok(b.startsWith(MAGIC_COOKIE));
    t.equal(b.length, MAGIC_COOKIE.length + 16, '12 bytes in base64url');
    t.ok(isToken(b), 'a branch is a token');
  },
);

t.test('tags and Call-IDs are tokens of at least 96 bits', async (t) => {
  t.equal(newTag().length, 16);
  t.ok(isToken(newTag()));
  t.equal(newCallId().length, 24);
  t.match(newCallId('proxy.example.com'), /^[A-Za-z0-9_-]{24}@proxy\.example\.com$/);
});

t.test('identifiers do not repeat across many draws and pool refills', async (t) => {
  const seen = new Set<string>();
  for (let i = 0; i < 5000; i++) {
    seen.add(newBranch());
  }
  t.equal(seen.size, 5000);
});

t.test('randomToken rejects sizes outside the pool', async (t) => {
  t.throws(() => randomToken(0), RangeError);
  t.throws(() => randomToken(5000), RangeError);
  t.equal(randomToken(3).length, 4);
});

t.test(
  'randomToken gives ceil(4n/3) base64url characters for every size up to 4 KiB',
  async (t) => {
    for (const n of [1, 2, 3, 4, 5, 11, 12, 13, 4095, 4096]) {
      const tok = randomToken(n);
      t.equal(tok.length, Math.ceil((4 * n) / 3), `${n} bytes`);
      t.match(tok, /^[A-Za-z0-9_-]+$/);
    }
    // Odd sizes in between keep later tokens whole and distinct.
    const seen = new Set<string>();
    for (let i = 0; i < 2000; i++) {
      seen.add(randomToken(1 + (i % 7)) + '|' + newBranch());
    }
    t.equal(seen.size, 2000);
  },
);
