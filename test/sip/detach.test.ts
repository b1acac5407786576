import t from 'tap';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { detach, detachBytes } from '../../src/sip/index.js';

// A gc() for this test only (tap runs without --expose-gc).
setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

/** Heap bytes still used after keeping `keep(slice)` of 100 large texts and dropping the texts. */
function retained(keep: (s: string) => string): number {
  gc();
  const before = process.memoryUsage().heapUsed;
  const kept: string[] = [];
  for (let n = 0; n < 100; n++) {
    const text = `INVITE sip:bob@example.com SIP/2.0\r\nVia: SIP/2.0/UDP host;branch=z9hG4bK${n}\r\n`;
    const big = text + 'x'.repeat(200_000);
    kept.push(keep(big.slice(41, 80)));
  }
  gc();
  const after = process.memoryUsage().heapUsed;
  t.equal(kept.length, 100);
  return after - before;
}

t.test('detach() copies the value and lets the text it was cut from go', async (t) => {
  const text = 'Call-ID: a84b4c76e66710@pc33.atlanta.example.com\r\n';
  const value = text.slice(9, 48);
  t.equal(detach(value), value, 'same characters');
  t.equal(detach(''), '');
  const sliced = retained((s) => s);
  const detached = retained(detach);
  // 100 texts of 200 KB: ~20 MB kept through plain slices, next to nothing once detached.
  t.ok(sliced > 15_000_000, `plain slices keep the texts (${sliced} bytes)`);
  t.ok(detached < 2_000_000, `detached values do not (${detached} bytes)`);
});

t.test(
  'detachBytes() gives a pool slice a buffer of its own, and leaves an own buffer alone',
  async (t) => {
    // Buffer.from of a short string is a slice of Node's shared pool.
    const pooled = Buffer.from('SIP/2.0 200 OK\r\nContent-Length: 0\r\n\r\n', 'latin1');
    t.ok(pooled.buffer.byteLength > pooled.length, 'the input shares a pool');
    const own = detachBytes(pooled);
    t.not(own, pooled);
    t.equal(own.byteOffset, 0);
    t.equal(own.buffer.byteLength, own.length, 'nothing else in its memory');
    t.same(own, pooled, 'same bytes');
    t.equal(detachBytes(own), own, 'already alone: returned as it is');
    t.equal(detachBytes(Buffer.alloc(0)).length, 0);
  },
);
