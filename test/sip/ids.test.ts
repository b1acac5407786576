import t from 'tap';
import { isToken } from '../../src/sip/chars.js';
import { MAGIC_COOKIE, newBranch, newCallId, newTag, randomToken } from '../../src/sip/ids.js';

t.test(
  'branches start with the RFC 3261 magic cookie and carry 96 random bits (§8.1.1.7)',
  async (t) => {
    const b = newBranch();
    t.ok(b.startsWith(MAGIC_COOKIE));
    t.equal(b.length, MAGIC_COOKIE.length + 24, '12 bytes in hex');
    t.match(b.slice(MAGIC_COOKIE.length), /^[0-9a-f]{24}$/);
    t.ok(isToken(b), 'a branch is a token');
  },
);

t.test('tags and Call-IDs are tokens of at least 96 bits', async (t) => {
  t.equal(newTag().length, 24);
  t.ok(isToken(newTag()));
  t.equal(newCallId().length, 36);
  t.match(newCallId('proxy.example.com'), /^[0-9a-f]{36}@proxy\.example\.com$/);
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
  t.equal(randomToken(3).length, 6);
});

t.test('randomToken gives 2n lower-case hex characters for every size up to 4 KiB', async (t) => {
  for (const n of [1, 2, 3, 4, 5, 11, 12, 13, 4095, 4096]) {
    const tok = randomToken(n);
    t.equal(tok.length, 2 * n, `${n} bytes`);
    // No upper case: a token never spells a header name such as CSeq (see src/sip/ids.ts).
    t.match(tok, /^[0-9a-f]+$/);
  }
  // Odd sizes in between keep later tokens whole and distinct.
  const seen = new Set<string>();
  for (let i = 0; i < 2000; i++) {
    seen.add(randomToken(1 + (i % 7)) + '|' + newBranch());
  }
  t.equal(seen.size, 2000);
});
