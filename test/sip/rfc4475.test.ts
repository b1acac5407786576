/**
 * The RFC 4475 torture messages (shipped byte-exact by the `sip` package) with our own verdict
 * for each: what a proxy must accept, and what it must reject with which code. A proxy runs
 * parseMessage() then validateMessage() before acting, so the verdict covers both.
 */
import t, { type Test } from 'tap';
import { isSipParseError, type SipErrorCode } from '../../src/core/errors.js';
import {
  parseMessage,
  validateMessage,
  type SipMessage,
  type SipRequest,
  type SipResponse,
  type ValidateOptions,
} from '../../src/sip/index.js';
import { corpusFiles, readCorpus } from '../helpers/corpus.js';

type Check = (t: Test, msg: SipMessage) => void;
interface Valid {
  valid: true;
  section: string;
  check: Check;
  options?: ValidateOptions;
}
interface Invalid {
  valid: false;
  section: string;
  code: SipErrorCode;
  status?: number;
}
type Verdict = Valid | Invalid;

function req(msg: SipMessage): SipRequest {
  if (!msg.isRequest()) {
    throw new Error('expected a request');
  }
  return msg;
}

function res(msg: SipMessage): SipResponse {
  if (!msg.isResponse()) {
    throw new Error('expected a response');
  }
  return msg;
}

const EXPECTED: Record<string, Verdict> = {
  // ---- §3.1.1 valid messages ----
  wsinv: {
    valid: true,
    section: '3.1.1.1 short tortuous INVITE',
    check: (t, m) => {
      const r = req(m);
      t.equal(r.method, 'INVITE');
      t.equal(r.uri, 'sip:vivekg@chair-dnrc.example.com;unknownparam');
      t.equal(r.toTag(), '1918181833n');
      t.equal(r.fromTag(), '98asjd8');
      t.equal(r.from().displayName, 'J Rosenberg \\"');
      t.equal(r.maxForwards(), 68);
      t.same(r.cseq(), { seq: 9, method: 'INVITE' });
      t.equal(r.callId(), 'wsinv.ndaksdj@192.0.2.1');
      const vias = r.vias();
      t.equal(vias.length, 3);
      t.equal(vias[0]?.host, '192.0.2.2');
      t.equal(vias[0]?.params.get('branch'), '390skdjuw');
      t.equal(vias[1]?.transport, 'TCP');
      t.equal(vias[1]?.host, 'spindle.example.com');
      t.equal(vias[2]?.params.get('branch'), 'z9hG4bK30239');
      t.equal(r.get('NewFangledHeader'), 'newfangled value continued newfangled value');
      t.equal(r.get('UnknownHeaderWithUnusualValue'), ';;,,;;,;');
      t.equal(r.get('subject'), '');
      t.equal(r.routes().length, 1);
      const c = r.contact();
      t.ok(c !== null && !c.star && c.contacts[0]?.params.get('q') === '0.33');
      t.equal(r.body.length, 150);
    },
  },
  intmeth: {
    valid: true,
    section: '3.1.1.2 wide range of valid characters',
    check: (t, m) => {
      const r = req(m);
      t.equal(r.method, "!interesting-Method0123456789_*+`.%indeed'~");
      t.equal(r.cseq().method, r.method);
      t.equal(r.callId(), 'intmeth.word%ZK-!.*_+\'@word`~)(><:\\/"][?}{');
      t.equal(r.maxForwards(), 255);
      t.equal(r.fromTag(), "_token~1'+`*%!-.");
      t.equal(r.topVia()?.params.get('branch'), "z9hG4bK-.!%66*_+`'~");
      t.equal(r.from().displayName, "token1~` token2'+_ token3*%!.-");
    },
  },
  esc01: {
    valid: true,
    section: '3.1.1.3 valid use of the % escaping mechanism',
    check: (t, m) => {
      const r = req(m);
      const uri = r.requestUri();
      t.ok(uri.kind === 'sip' && uri.user === 'sips%3Auser%40example.com');
      t.equal(r.callId(), 'esc01.239409asdfakjkn23onasd0-3234');
      t.equal(r.get('content-type'), 'application/sdp');
      const c = r.contact();
      t.ok(c !== null && !c.star && c.contacts.length === 1);
    },
  },
  escnull: {
    valid: true,
    section: '3.1.1.4 escaped nulls in URIs',
    check: (t, m) => {
      const c = req(m).contact();
      t.ok(c !== null && !c.star && c.contacts.length === 2);
    },
  },
  esc02: {
    valid: true,
    section: '3.1.1.5 use of % when it is not an escape',
    check: (t, m) => {
      const r = req(m);
      t.equal(r.method, 'RE%47IST%45R');
      t.equal(r.from().displayName, '%Z%45');
      t.equal(r.topVia()?.params.get('branch'), 'z9hG4bK209%fzsnel234');
      const c = r.contact();
      // "C%6Fntact" is not a Contact header: header names are not unescaped.
      t.ok(c !== null && !c.star && c.contacts.length === 2);
      t.equal(r.get('C%6Fntact'), '<sip:alias2@host2.example.com>');
    },
  },
  lwsdisp: {
    valid: true,
    section: '3.1.1.6 message with no LWS between display name and <',
    check: (t, m) => {
      t.equal(req(m).from().displayName, 'caller');
    },
  },
  longreq: {
    valid: true,
    section: '3.1.1.7 long values in header fields',
    check: (t, m) => {
      const r = req(m);
      t.equal(r.vias().length, 34);
      t.equal(r.toTag(), null);
      t.match(r.fromTag() ?? '', /^12982982982982982982982/);
      const to = r.to().uri;
      t.ok(to.kind === 'sip' && to.port === 6000 && to.params.size === 3);
      t.equal(r.body.length, 150);
    },
  },
  dblreq: {
    valid: true,
    section: '3.1.1.8 extra trailing octets in a UDP datagram',
    check: (t, m) => {
      const r = req(m);
      t.equal(r.method, 'REGISTER');
      t.equal(r.callId(), 'dblreq.0ha0isndaksdj99sdfafnl3lk233412');
      t.equal(r.body.length, 0);
    },
  },
  semiuri: {
    valid: true,
    section: '3.1.1.9 semicolon-separated parameters in URI user part',
    check: (t, m) => {
      const uri = req(m).requestUri();
      t.ok(
        uri.kind === 'sip' && uri.user === 'user;par=u%40example.net' && uri.host === 'example.com',
      );
      t.equal(req(m).getList('accept').length, 6);
    },
  },
  transports: {
    valid: true,
    section: '3.1.1.10 varied and unknown transport types',
    check: (t, m) => {
      t.same(
        req(m)
          .vias()
          .map((v) => v.transport),
        ['UDP', 'SCTP', 'TLS', 'UNKNOWN', 'TCP'],
      );
    },
  },
  mpart01: {
    valid: true,
    section: '3.1.1.11 multipart MIME message',
    check: (t, m) => {
      t.equal(req(m).body.length, 553);
      t.equal(req(m).topVia()?.params.get('rport'), null);
    },
  },
  unreason: {
    valid: true,
    section: '3.1.1.12 unusual reason phrase',
    check: (t, m) => {
      const r = res(m);
      t.equal(r.status, 200);
      t.match(Buffer.from(r.reason, 'latin1').toString('utf8'), /^= 2\*\*3 \* 5\*\*2 но сто/);
    },
  },
  noreason: {
    valid: true,
    section: '3.1.1.13 empty reason phrase',
    check: (t, m) => {
      const r = res(m);
      t.equal(r.status, 100);
      t.equal(r.reason, '');
    },
  },

  // ---- §3.1.2 invalid messages ----
  badinv01: {
    valid: false,
    section: '3.1.2.1 extraneous header field separators',
    code: 'SIP_ERR_VIA',
  },
  clerr: {
    valid: false,
    section: '3.1.2.2 Content-Length larger than message',
    code: 'SIP_ERR_BODY_TRUNCATED',
  },
  ncl: { valid: false, section: '3.1.2.3 negative Content-Length', code: 'SIP_ERR_CONTENT_LENGTH' },
  scalar02: {
    valid: false,
    section: '3.1.2.4 request scalar fields with overlarge values',
    code: 'SIP_ERR_CSEQ',
  },
  scalarlg: {
    valid: false,
    section: '3.1.2.5 response scalar fields with overlarge values',
    code: 'SIP_ERR_CSEQ',
  },
  quotbal: {
    valid: false,
    section: '3.1.2.6 unterminated quoted string in display name',
    code: 'SIP_ERR_NAME_ADDR',
  },
  ltgtruri: {
    valid: false,
    section: '3.1.2.7 <> enclosing Request-URI',
    code: 'SIP_ERR_REQUEST_URI',
  },
  lwsruri: {
    valid: false,
    section: '3.1.2.8 malformed SIP Request-URI (embedded LWS)',
    code: 'SIP_ERR_START_LINE',
  },
  lwsstart: {
    valid: false,
    section: '3.1.2.9 multiple SP separating Request-Line elements',
    code: 'SIP_ERR_START_LINE',
  },
  trws: {
    valid: false,
    section: '3.1.2.10 SP characters at end of Request-Line',
    code: 'SIP_ERR_START_LINE',
  },
  escruri: {
    valid: false,
    section: '3.1.2.11 escaped headers in SIP Request-URI',
    code: 'SIP_ERR_REQUEST_URI',
  },
  // §3.1.2.12: the Date header is not a proxy's concern; it forwards the request as is.
  baddate: {
    valid: true,
    section: '3.1.2.12 invalid time zone in Date header field',
    check: (t, m) => {
      t.equal(req(m).get('date'), 'Fri, 01 Jan 2010 16:00:00 EST');
    },
  },
  regbadct: {
    valid: false,
    section: '3.1.2.13 failure to enclose name-addr URI in <>',
    code: 'SIP_ERR_NAME_ADDR',
  },
  badaspec: {
    valid: false,
    section: '3.1.2.14 spaces within addr-spec',
    code: 'SIP_ERR_NAME_ADDR',
  },
  baddn: {
    valid: false,
    section: '3.1.2.15 non-token characters in display name',
    code: 'SIP_ERR_NAME_ADDR',
  },
  badvers: {
    valid: false,
    section: '3.1.2.16 unknown protocol version',
    code: 'SIP_ERR_VERSION',
    status: 505,
  },
  mismatch01: {
    valid: false,
    section: '3.1.2.17 start line and CSeq method mismatch',
    code: 'SIP_ERR_CSEQ_METHOD',
  },
  mismatch02: {
    valid: false,
    section: '3.1.2.18 unknown method with CSeq method mismatch',
    code: 'SIP_ERR_CSEQ_METHOD',
  },
  bigcode: {
    valid: false,
    section: '3.1.2.19 overlarge response code',
    code: 'SIP_ERR_STATUS_CODE',
  },

  // ---- §3.2 transaction layer ----
  badbranch: {
    valid: true,
    section: '3.2.1 missing transaction identifier',
    check: (t, m) => {
      t.equal(req(m).topVia()?.params.get('branch'), 'z9hG4bK');
    },
  },

  // ---- §3.3 application layer: parseable; the proxy or UAS decides what to answer ----
  insuf: {
    valid: false,
    section: '3.3.1 missing required header fields',
    code: 'SIP_ERR_MISSING_HEADER',
  },
  unkscm: {
    valid: true,
    section: '3.3.2 Request-URI with unknown scheme',
    check: (t, m) => {
      const uri = req(m).requestUri();
      t.ok(uri.kind === 'other' && uri.scheme === 'nobodyknowsthisscheme');
    },
  },
  novelsc: {
    valid: true,
    section: '3.3.3 Request-URI with known but atypical scheme',
    check: (t, m) => {
      t.equal(req(m).requestUri().kind, 'other');
    },
  },
  unksm2: {
    valid: true,
    section: '3.3.4 unknown URI schemes in header fields',
    check: (t, m) => {
      t.equal(req(m).to().uri.kind, 'other');
      t.equal(req(m).from().uri.scheme, 'http');
    },
  },
  bext01: {
    valid: true,
    section: '3.3.5 Proxy-Require and Require',
    check: (t, m) => {
      t.same(req(m).getList('proxy-require'), [
        'noProxiesSupportThis',
        'norDoAnyProxiesSupportThis',
      ]);
    },
  },
  invut: {
    valid: true,
    section: '3.3.6 unknown Content-Type',
    check: (t, m) => {
      t.equal(req(m).body.length, 40);
    },
  },
  regaut01: {
    valid: true,
    section: '3.3.7 unknown authorization scheme',
    check: (t, m) => {
      t.equal(req(m).get('authorization'), 'NoOneKnowsThisScheme opaque-data=here');
    },
  },
  multi01: {
    valid: false,
    section: '3.3.8 multiple values in single value required fields',
    code: 'SIP_ERR_DUPLICATE_HEADER',
  },
  mcl01: {
    valid: false,
    section: '3.3.9 multiple Content-Length values',
    code: 'SIP_ERR_CONTENT_LENGTH_MISMATCH',
  },
  bcast: {
    valid: true,
    section: '3.3.10 200 OK response with broadcast Via',
    check: (t, m) => {
      t.equal(res(m).vias()[1]?.host, '255.255.255.255');
    },
  },
  zeromf: {
    valid: true,
    section: '3.3.11 Max-Forwards of zero (the proxy answers 483)',
    check: (t, m) => {
      t.equal(req(m).maxForwards(), 0);
    },
  },
  cparam01: {
    valid: true,
    section: '3.3.12 REGISTER with a contact parameter',
    check: (t, m) => {
      const c = req(m).contact();
      t.ok(c !== null && !c.star && c.contacts[0]?.params.has('unknownparam') === true);
    },
  },
  cparam02: {
    valid: true,
    section: '3.3.13 REGISTER with a URL parameter',
    check: (t, m) => {
      const c = req(m).contact();
      const first = c !== null && !c.star ? c.contacts[0] : undefined;
      t.ok(first !== undefined && first.uri.kind === 'sip' && first.uri.params.has('unknownparam'));
      t.equal(first?.params.size, 0);
    },
  },
  regescrt: {
    valid: true,
    section: '3.3.14 REGISTER with a URL escaped header',
    check: (t, m) => {
      const c = req(m).contact();
      const first = c !== null && !c.star ? c.contacts[0] : undefined;
      t.ok(
        first !== undefined &&
          first.uri.kind === 'sip' &&
          first.uri.headers.get('Route') === '%3Csip:sip.example.com%3E',
      );
    },
  },
  sdp01: {
    valid: true,
    section: '3.3.15 unacceptable Accept offering',
    check: (t, m) => {
      t.equal(req(m).get('accept'), 'text/nobodyKnowsThis');
    },
  },

  // ---- §3.4 backward compatibility: RFC 2543 omits Max-Forwards, accepted when allowed ----
  inv2543: {
    valid: true,
    section: '3.4.1 INVITE with RFC 2543 syntax',
    options: { requireMaxForwards: false },
    check: (t, m) => {
      t.equal(req(m).maxForwards(), null);
      t.equal(req(m).topVia()?.params.has('branch'), false);
    },
  },

  // ---- extra files the `sip` package ships beside the RFC 4475 set ----
  test: {
    valid: false,
    section: 'sip package: request line without version',
    code: 'SIP_ERR_START_LINE',
  },
  badcseq: { valid: false, section: 'sip package: non-numeric CSeq', code: 'SIP_ERR_CSEQ' },
  baddn_sep: { valid: false, section: 'sip package: CRLF only', code: 'SIP_ERR_EMPTY' },
};

function verdict(buf: Buffer, options?: ValidateOptions): SipMessage {
  const msg = parseMessage(buf);
  validateMessage(msg, options);
  return msg;
}

const files = corpusFiles();

t.test('every corpus file has an expected verdict', async (t) => {
  t.equal(files.length, 52);
  for (const name of files) {
    t.ok(EXPECTED[name], `verdict for ${name}.dat`);
  }
});

for (const name of files) {
  const expected = EXPECTED[name];
  if (expected === undefined) {
    continue;
  }
  const buf = readCorpus(name);
  if (expected.valid) {
    t.test(`RFC 4475 §${expected.section} (${name}) is accepted`, async (t) => {
      const msg = verdict(buf, expected.options);
      expected.check(t, msg);
    });
  } else {
    t.test(
      `RFC 4475 §${expected.section} (${name}) is rejected with ${expected.code}`,
      async (t) => {
        let caught: unknown;
        try {
          verdict(buf);
        } catch (err) {
          caught = err;
        }
        t.ok(isSipParseError(caught), 'rejected with a coded SipParseError');
        if (isSipParseError(caught)) {
          t.equal(caught.code, expected.code);
          t.equal(caught.status, expected.status ?? 400);
          t.ok(caught.reason.length > 0, 'carries a reason phrase for the reply');
        }
      },
    );
  }
}

t.test(
  'inv2543 is rejected for its missing Max-Forwards under the default strict options',
  async (t) => {
    const buf = readCorpus('inv2543');
    t.throws(() => verdict(buf), {
      code: 'SIP_ERR_MISSING_HEADER',
      reason: 'Missing Max-Forwards Header',
    });
  },
);

t.test('accepted corpus messages round-trip byte for byte when untouched', async (t) => {
  for (const name of files) {
    if (EXPECTED[name]?.valid !== true) {
      continue;
    }
    const buf = readCorpus(name);
    const msg = parseMessage(buf);
    const out = msg.toBuffer();
    // dblreq carries a second request after the first: only the first is the message.
    t.ok(buf.subarray(0, out.length).equals(out), `${name} serializes to its own bytes`);
  }
});
