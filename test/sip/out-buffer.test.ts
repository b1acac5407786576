import t from 'tap';
import { outBuffer } from '../../src/sip/out-buffer.js';
import { parseMessage, type SipRequest } from '../../src/sip/index.js';
import { INVITE } from '../fixtures/messages.js';

t.test('cuts do not overlap, and a full slab is replaced by a new one', async (t) => {
  const cuts: Buffer[] = [];
  // 200 cuts of 1,000 bytes span several 64 KiB slabs.
  for (let i = 0; i < 200; i++) {
    const b = outBuffer(1000);
    b.fill(i % 256);
    cuts.push(b);
  }
  cuts.forEach((b, i) => {
    t.equal(b.length, 1000);
    t.ok(
      b.every((x) => x === i % 256),
      `cut ${i} kept its bytes`,
    );
  });
  t.ok(new Set(cuts.map((b) => b.buffer)).size > 1, 'more than one slab was used');
});

t.test('a large message gets a buffer of its own', async (t) => {
  const big = outBuffer(20_000);
  t.equal(big.length, 20_000);
  t.equal(big.byteOffset, 0);
  t.equal(big.buffer.byteLength, 20_000);
});

t.test('serialized messages stay intact while later ones are written', async (t) => {
  const base = Buffer.from(INVITE, 'latin1');
  const out: Buffer[] = [];
  for (let i = 0; i < 150; i++) {
    const m = parseMessage(base) as SipRequest;
    m.pushVia(`SIP/2.0/UDP 203.0.113.1:5060;branch=z9hG4bK-${i}`);
    m.decrementMaxForwards();
    out.push(m.toBuffer());
  }
  out.forEach((buf, i) => {
    const again = parseMessage(buf) as SipRequest;
    t.equal(again.topVia()?.params.get('branch'), `z9hG4bK-${i}`);
    t.equal(again.maxForwards(), 69);
  });
});
