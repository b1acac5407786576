import t from 'tap';
import {
  parseMessage,
  validateMessage,
  type SipMessage,
  type ValidateOptions,
} from '../../src/sip/index.js';
import { INVITE, REGISTER } from '../fixtures/messages.js';
import { codeOf } from '../helpers/errors.js';
import { SINGLE_VALUE } from '../../src/sip/header-names.js';

const check = (text: string, options?: ValidateOptions): string =>
  codeOf(() => {
    validateMessage(parseMessage(Buffer.from(text, 'latin1')), options);
  }, 'ok');
const strict: ValidateOptions = { strictAddresses: true };

t.test('a well-formed INVITE and REGISTER pass both default and strict validation', async (t) => {
  for (const text of [INVITE, REGISTER]) {
    t.equal(check(text), 'ok');
    t.equal(check(text, strict), 'ok');
  }
});

t.test(
  'components a proxy does not act on are ignored by default (RFC 3261 §16.3 item 1)',
  async (t) => {
    const badSecondVia = INVITE.replace(
      'Via: SIP/2.0/UDP 192.0.2.10:5060',
      'Via: SIP/2.0/UDP bad..host:5060',
    );
    t.equal(check(badSecondVia), 'ok', 'a malformed lower Via is forwarded untouched');
    t.equal(check(badSecondVia, strict), 'SIP_ERR_VIA', 'strict mode parses every Via');

    const badFromUri = INVITE.replace('<sip:alice@atlanta.example.com>', '<sip:alice@bad..host>');
    t.equal(check(badFromUri), 'ok', 'the From URI is not parsed by default');
    t.equal(check(badFromUri, strict), 'SIP_ERR_URI');

    const badContact = INVITE.replace(
      'Contact: <sip:alice@pc33.atlanta.example.com:5060;transport=udp>',
      'Contact: sip:alice@pc33?x=y',
    );
    t.equal(check(badContact), 'ok', 'an INVITE Contact is the next hop’s business');
    t.equal(check(badContact, strict), 'SIP_ERR_NAME_ADDR');
  },
);

t.test(
  'a REGISTER Contact is checked by default: the registrar acts on it (RFC 4475 §3.1.2.13)',
  async (t) => {
    const bad = REGISTER.replace(/Contact: [^\r]*/, 'Contact: sip:bob@192.0.2.4?Route=x');
    t.equal(check(bad), 'SIP_ERR_NAME_ADDR');
    const star = REGISTER.replace(/Contact: [^\r]*/, 'Contact: *');
    t.equal(check(star), 'ok', 'the wildcard is valid syntax');
    t.equal(check(star, strict), 'ok');
  },
);

t.test(
  'the address syntax around a From or To URI is checked even when the URI is not',
  async (t) => {
    t.equal(
      check(
        INVITE.replace(
          'To: Bob <sip:bob@biloxi.example.com>',
          'To: Bob < sip:bob@biloxi.example.com>',
        ),
      ),
      'SIP_ERR_NAME_ADDR',
    );
    t.equal(check(INVITE.replace(';tag=1928301774', ';tag=')), 'SIP_ERR_PARAM');
  },
);

t.test('responses are validated on Via, From, To, Call-ID and CSeq', async (t) => {
  const ok =
    'SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\nFrom: <sip:a@b>;tag=1\r\nTo: <sip:c@d>;tag=2\r\nCall-ID: x\r\nCSeq: 1 INVITE\r\nl: 0\r\n\r\n';
  t.equal(check(ok), 'ok');
  t.equal(check(ok, strict), 'ok');
  t.equal(check(ok.replace('Call-ID: x\r\n', '')), 'SIP_ERR_MISSING_HEADER');
  t.equal(
    check(ok.replace('CSeq: 1 INVITE', 'CSeq: 1 INVITE\r\nCSeq: 2 INVITE')),
    'SIP_ERR_DUPLICATE_HEADER',
  );
  t.equal(
    check(
      ok
        .replace('Content-Type', 'x')
        .replace('l: 0', 'Content-Type: a/b\r\nContent-Type: a/c\r\nl: 0'),
    ),
    'SIP_ERR_DUPLICATE_HEADER',
  );
});

t.test('every single-value header may appear once only (RFC 3261 §7.3.1)', async (t) => {
  const base =
    'OPTIONS sip:x@y SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\nMax-Forwards: 70\r\nFrom: <sip:a@b>;tag=1\r\nTo: <sip:c@d>\r\nCall-ID: x\r\nCSeq: 1 OPTIONS\r\nContent-Type: a/b\r\nExpires: 5\r\n';
  t.equal(check(`${base}l: 0\r\n\r\n`), 'ok');
  for (const name of SINGLE_VALUE) {
    const line = base.split('\r\n').find((l) => l.toLowerCase().startsWith(`${name}:`));
    const extra = line ?? 'Content-Length: 0';
    const text = `${base}${extra}\r\nl: 0\r\n\r\n`;
    t.equal(check(text), 'SIP_ERR_DUPLICATE_HEADER', name);
  }
  // With several repeats, the reason names the first header (in order) that repeats.
  const two = `${base}To: <sip:c@d>\r\nFrom: <sip:a@b>;tag=1\r\nl: 0\r\n\r\n`;
  t.throws(
    () => {
      validateMessage(parseMessage(Buffer.from(two, 'latin1')));
    },
    {
      code: 'SIP_ERR_DUPLICATE_HEADER',
      reason: 'Duplicate From Header',
    },
  );
});

t.test('a message whose headers changed is validated on the headers it has now', async (t) => {
  // A received duplicate, to be found once the message changed elsewhere.
  const dup = INVITE.replace(
    'CSeq: 314159 INVITE\r\n',
    'CSeq: 314159 INVITE\r\nCSeq: 1 INVITE\r\n',
  );
  const cases: [label: string, text: string, change: (m: SipMessage) => void, code: string][] = [
    ['unchanged', INVITE, () => undefined, 'ok'],
    ['Call-ID removed', INVITE, (m) => m.removeHeader('call-id'), 'SIP_ERR_MISSING_HEADER'],
    [
      'second CSeq',
      INVITE,
      (m) => {
        m.addHeader('CSeq', '314159 INVITE');
      },
      'SIP_ERR_DUPLICATE_HEADER',
    ],
    [
      'Max-Forwards removed',
      INVITE,
      (m) => m.removeHeader('max-forwards'),
      'SIP_ERR_MISSING_HEADER',
    ],
    // Repeatable headers stay allowed, and a repeat replaced by one line is fine.
    [
      'second Contact',
      INVITE,
      (m) => {
        m.addHeader('Contact', '<sip:b@c>');
      },
      'ok',
    ],
    [
      'Expires repeated, then set',
      INVITE,
      (m) => {
        m.addHeader('Expires', '5');
        m.addHeader('Expires', '6');
        m.setHeader('Expires', '7');
      },
      'ok',
    ],
    [
      'received duplicate',
      dup,
      (m) => {
        m.addHeader('X-A', 'b');
      },
      'SIP_ERR_DUPLICATE_HEADER',
    ],
  ];
  for (const [label, text, change, code] of cases) {
    const got = codeOf(() => {
      const m = parseMessage(Buffer.from(text, 'latin1'));
      change(m);
      validateMessage(m);
    }, 'ok');
    t.equal(got, code, label);
  }
});
