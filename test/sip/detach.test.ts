import t from 'tap';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { detach } from '../../src/sip/index.js';

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
