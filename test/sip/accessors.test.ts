import t from 'tap';
import {
  authValuesOf,
  contentTypeOf,
  eventOf,
  expiresOf,
  parseMessage,
  subscriptionStateOf,
  tokensOf,
} from '../../src/sip/index.js';
import { codeOf } from '../helpers/errors.js';
import { INVITE, REGISTER } from '../fixtures/messages.js';

const parse = (s: string) => parseMessage(Buffer.from(s, 'latin1'));

t.test(
  'tokensOf reads option tags and methods across lines (RFC 3261 §20.5, §20.37)',
  async (t) => {
    const m = parse(INVITE);
    t.same(tokensOf(m, 'supported'), ['replaces', 'timer']);
    t.equal(tokensOf(m, 'allow').length, 10);
    t.same(tokensOf(m, 'proxy-require'), []);
    m.addHeader('Proxy-Require', 'sec-agree');
    m.addHeader('Proxy-Require', 'foo, bar');
    t.same(tokensOf(m, 'proxy-require'), ['sec-agree', 'foo', 'bar']);
    m.setHeader('Require', 'a b');
    t.equal(
      codeOf(() => tokensOf(m, 'require')),
      'SIP_ERR_HEADER_VALUE',
    );
  },
);

t.test('expiresOf reads delta-seconds and clamps overlarge values (RFC 3261 §20.19)', async (t) => {
  const m = parse(REGISTER);
  t.equal(expiresOf(m), 3600);
  m.setHeader('Expires', '1'.repeat(30));
  t.equal(expiresOf(m), 2 ** 32 - 1);
  m.removeHeader('Expires');
  t.equal(expiresOf(m), null);
  m.setHeader('Expires', '-1');
  t.equal(
    codeOf(() => expiresOf(m)),
    'SIP_ERR_HEADER_VALUE',
  );
});

t.test('contentTypeOf lower-cases type and subtype (RFC 3261 §20.15)', async (t) => {
  const m = parse(INVITE);
  const ct = contentTypeOf(m);
  t.equal(ct?.type, 'application');
  t.equal(ct?.subtype, 'sdp');
  m.setHeader('Content-Type', 'Multipart/Mixed;boundary=xyz');
  t.equal(contentTypeOf(m)?.params.get('boundary'), 'xyz');
  t.equal(contentTypeOf(parse(REGISTER)), null);
});

t.test('eventOf and subscriptionStateOf read RFC 6665 headers', async (t) => {
  const m = parse(INVITE);
  t.equal(eventOf(m), null);
  t.equal(subscriptionStateOf(m), null);
  m.addHeader('o', 'presence.winfo;id=1');
  m.addHeader('Subscription-State', 'active;expires=600');
  t.equal(eventOf(m)?.value, 'presence.winfo');
  t.equal(eventOf(m)?.params.get('id'), '1');
  t.equal(subscriptionStateOf(m)?.params.get('expires'), '600');
});

t.test('authValuesOf reads every credential line (RFC 3261 §22.4)', async (t) => {
  const m = parse(REGISTER);
  const [cred] = authValuesOf(m, 'authorization');
  t.equal(cred?.scheme, 'Digest');
  t.equal(cred?.params.get('username'), 'bob');
  t.equal(cred?.params.get('nc'), '00000001');
  t.same(authValuesOf(m, 'proxy-authorization'), []);
});
