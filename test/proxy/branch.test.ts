import t from 'tap';
import { hashOfBranch, isLoop, LoopKey, proxyBranch } from '../../src/proxy/branch.js';
import { parseMessage, type SipRequest } from '../../src/sip/index.js';

/** The loop hash of `r` as it is now. */
const loopHash = (r: SipRequest): string => new LoopKey(r).hash;

const BASE: Record<string, string> = {
  uri: 'sip:bob@biloxi.example.com',
  via: 'SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bKa1',
  from: '<sip:alice@atlanta.example.com>;tag=f1',
  to: '<sip:bob@biloxi.example.com>;tag=t1',
  callId: 'c1@192.0.2.1',
  cseq: '7 INVITE',
};

function req(over: Record<string, string> = {}, extra: string[] = []): SipRequest {
  const f = { ...BASE, ...over };
  const text = [
    `INVITE ${f['uri']!} SIP/2.0`,
    `Via: ${f['via']!}`,
    'Max-Forwards: 70',
    `From: ${f['from']!}`,
    `To: ${f['to']!}`,
    `Call-ID: ${f['callId']!}`,
    `CSeq: ${f['cseq']!}`,
    ...extra,
    'Content-Length: 0',
    '',
    '',
  ].join('\r\n');
  return parseMessage(Buffer.from(text, 'latin1')) as SipRequest;
}

t.test('the same fields give the same 16 hex digits', async (t) => {
  const h = loopHash(req());
  t.match(h, /^[0-9a-f]{16}$/);
  t.equal(loopHash(req()), h);
  // Fields outside §16.3 item 4's list do not count.
  t.equal(
    loopHash(
      req({ via: 'SIP/2.0/TCP 198.51.100.9;branch=z9hG4bKzz' }, ['Record-Route: <sip:x;lr>']),
    ),
    h,
  );
});

t.test('every field of §16.3 item 4 changes the hash', async (t) => {
  const h = loopHash(req());
  const variants: [string, SipRequest][] = [
    ['Request-URI', req({ uri: 'sip:bob@192.0.2.7' })],
    ['From tag', req({ from: '<sip:alice@atlanta.example.com>;tag=f2' })],
    ['To tag', req({ to: '<sip:bob@biloxi.example.com>;tag=t2' })],
    ['no To tag', req({ to: '<sip:bob@biloxi.example.com>' })],
    ['Call-ID', req({ callId: 'c2@192.0.2.1' })],
    ['CSeq number', req({ cseq: '8 INVITE' })],
    ['CSeq number past 16 bits', req({ cseq: '65543 INVITE' })],
    ['Route', req({}, ['Route: <sip:p1.example.com;lr>'])],
    ['Proxy-Require', req({}, ['Proxy-Require: foo'])],
    ['Proxy-Authorization', req({}, ['Proxy-Authorization: Digest username="a"'])],
  ];
  const seen = new Set([h]);
  for (const [what, r] of variants) {
    const v = loopHash(r);
    t.not(v, h, what);
    seen.add(v);
  }
  t.equal(seen.size, variants.length + 1, 'all distinct');
});

t.test('text moved between fields or headers changes the hash', async (t) => {
  t.not(
    loopHash(req({ from: '<sip:a@x>;tag=ab', to: '<sip:b@x>;tag=c' })),
    loopHash(req({ from: '<sip:a@x>;tag=a', to: '<sip:b@x>;tag=bc' })),
  );
  t.not(loopHash(req({}, ['Route: <sip:p;lr>'])), loopHash(req({}, ['Proxy-Require: <sip:p;lr>'])));
});

t.test('a branch carries the hash and gives it back', async (t) => {
  const h = loopHash(req());
  const b = proxyBranch(h);
  t.ok(b.startsWith('z9hG4bK'));
  t.equal(hashOfBranch(b), h);
  t.equal(hashOfBranch('z9hG4bKother'), null);
});

/** Counts how often the digest is asked for. */
class CountingKey extends LoopKey {
  asked = 0;
  override get hash(): string {
    this.asked++;
    return super.hash;
  }
}

t.test('the loop check digests the request only for a Via of ours naming us', async (t) => {
  const r = req();
  const self = (host: string): boolean => host === '203.0.113.1';
  const key = new CountingKey(r);
  t.equal(isLoop(r.vias(), key, self), false);
  t.equal(key.asked, 0, 'a foreign branch needs no digest');

  const ours = proxyBranch(loopHash(r));
  const elsewhere = req({ via: `SIP/2.0/UDP 198.51.100.2;branch=${ours}` });
  const k2 = new CountingKey(elsewhere);
  t.equal(isLoop(elsewhere.vias(), k2, self), false);
  t.equal(k2.asked, 0, 'our branch in a Via naming another host needs none either');

  const back = req({ via: `SIP/2.0/UDP 203.0.113.1;branch=${ours}` });
  const k3 = new CountingKey(back);
  t.equal(isLoop(back.vias(), k3, self), true, 'the same fields back through us: a loop');
  t.equal(k3.asked, 1);
  t.equal(k3.hash, loopHash(r), 'the digest is kept');
});

t.test('the key holds the fields as they were when it was made', async (t) => {
  const r = req();
  const before = loopHash(r);
  const key = new LoopKey(r);
  r.setUri('sip:bob@192.0.2.99');
  t.equal(key.hash, before);
  t.not(loopHash(r), before);
});
