/**
 * Digest arithmetic against RFC 7616 §3.9.1's worked example (MD5 and SHA-256), the -sess and
 * auth-int forms against hashes computed here step by step, and the credentials parser.
 */
import { createHash } from 'node:crypto';
import fc from 'fast-check';
import t from 'tap';
import { sameUri } from '../authorize.js';
import {
  computeHa1,
  parseAlgorithm,
  requestDigest,
  sameDigest,
  type DigestAlgorithm,
} from '../digest.js';
import { MAX_CREDENTIALS_LENGTH, parseCredentials, quote } from '../header.js';

const md5 = (s: string | Buffer) => createHash('md5').update(s).digest('hex');
const sha = (s: string | Buffer) => createHash('sha256').update(s).digest('hex');

// RFC 7616 §3.9.1: the example's inputs.
const RFC = {
  user: 'Mufasa',
  realm: 'http-auth@example.org',
  password: 'Circle of Life',
  method: 'GET',
  uri: '/dir/index.html',
  nonce: '7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v',
  cnonce: 'f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ',
  nc: '00000001',
};

function rfcInput(algorithm: DigestAlgorithm, ha1: string) {
  return {
    algorithm,
    ha1,
    nonce: RFC.nonce,
    method: RFC.method,
    uri: RFC.uri,
    qop: 'auth' as const,
    nc: RFC.nc,
    cnonce: RFC.cnonce,
    body: Buffer.alloc(0),
  };
}

t.test('RFC 7616 §3.9.1 example: MD5 and SHA-256 responses', async (t) => {
  const ha1md5 = computeHa1('md5', RFC.user, RFC.realm, RFC.password);
  t.equal(requestDigest(rfcInput('MD5', ha1md5)), '8ca523f5e9506fed4657c9700eebdbec');
  const ha1sha = computeHa1('sha256', RFC.user, RFC.realm, RFC.password);
  t.equal(
    requestDigest(rfcInput('SHA-256', ha1sha)),
    '753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1',
  );
});

t.test('-sess, auth-int and the RFC 2069 form follow RFC 7616 §3.4.2/§3.4.3', async (t) => {
  const ha1 = md5('bob:sip.test:pw');
  const body = Buffer.from('v=0\r\n');
  const sessHa1 = md5(`${ha1}:n1:c1`);
  const ha2int = md5(`INVITE:sip:x@sip.test:${md5(body)}`);
  t.equal(
    requestDigest({
      algorithm: 'MD5-sess',
      ha1,
      nonce: 'n1',
      method: 'INVITE',
      uri: 'sip:x@sip.test',
      qop: 'auth-int',
      nc: '00000002',
      cnonce: 'c1',
      body,
    }),
    md5(`${sessHa1}:n1:00000002:c1:auth-int:${ha2int}`),
  );
  const ha1s = sha('bob:sip.test:pw');
  t.equal(
    requestDigest({
      algorithm: 'SHA-256-sess',
      ha1: ha1s,
      nonce: 'n1',
      method: 'REGISTER',
      uri: 'sip:sip.test',
      qop: 'auth',
      nc: '00000001',
      cnonce: 'c1',
      body,
    }),
    sha(`${sha(`${ha1s}:n1:c1`)}:n1:00000001:c1:auth:${sha('REGISTER:sip:sip.test')}`),
  );
  t.equal(
    requestDigest({
      algorithm: 'MD5',
      ha1,
      nonce: 'n1',
      method: 'REGISTER',
      uri: 'sip:sip.test',
      qop: null,
      nc: '',
      cnonce: '',
      body,
    }),
    md5(`${ha1}:n1:${md5('REGISTER:sip:sip.test')}`),
  );
});

t.test('algorithm tokens and constant-time comparison', async (t) => {
  t.equal(parseAlgorithm(undefined), 'MD5', 'absent means MD5 (RFC 7616 §3.4)');
  t.equal(parseAlgorithm('md5'), 'MD5');
  t.equal(parseAlgorithm('sha-256-SESS'), 'SHA-256-sess');
  t.equal(parseAlgorithm('SHA-512-256'), null);
  t.ok(sameDigest('abcd', 'ABCD'), 'hex case ignored');
  t.notOk(sameDigest('abcd', 'abce'));
  t.notOk(sameDigest('abcd', 'abc'), 'length differs');
});

t.test('credentials parser: quoted-strings, escapes, commas, whitespace', async (t) => {
  const r = parseCredentials(
    'Digest username="al\\"ice", realm="a, b",nonce=abc ,  uri="sip:x@y;transport=tcp",' +
      ' response="00", algorithm=MD5, ,nc=00000001, qop=auth',
  );
  t.ok(r.ok);
  if (r.ok) {
    t.equal(r.value.scheme, 'Digest');
    t.equal(r.value.params.get('username'), 'al"ice');
    t.equal(r.value.params.get('realm'), 'a, b');
    t.equal(r.value.params.get('nonce'), 'abc');
    t.equal(r.value.params.get('uri'), 'sip:x@y;transport=tcp');
    t.equal(r.value.params.get('qop'), 'auth');
    t.equal(r.value.params.size, 8);
  }
  const bad: [string, RegExp][] = [
    ['', /no auth scheme/],
    ['Digest', /./],
    ['Dig@st realm="x"', /bad auth scheme/],
    ['Digest realm="x', /unterminated/],
    ['Digest realm="x\\', /unterminated/],
    ['Digest realm', /has no value/],
    ['Digest realm=', /empty value/],
    ['Digest realm="a" nonce="b"', /expected a comma/],
    ['Digest realm="a", realm="b"', /repeated/],
    ['Digest =x', /unexpected character/],
    [`Digest ${Array.from({ length: 40 }, (_, i) => `p${i}=1`).join(',')}`, /too many/],
    [`Digest realm="${'x'.repeat(MAX_CREDENTIALS_LENGTH)}"`, /too long/],
  ];
  for (const [text, reason] of bad) {
    const b = parseCredentials(text);
    if (text === 'Digest') {
      // A scheme alone parses (no parameters); authorize refuses it for missing fields.
      t.ok(b.ok && b.value.params.size === 0, 'scheme alone');
      continue;
    }
    t.notOk(b.ok, text.slice(0, 40));
    if (!b.ok) {
      t.match(b.reason, reason);
    }
  }
  t.equal(quote('a"b\\c'), '"a\\"b\\\\c"');
  const back = parseCredentials(`Digest realm=${quote('a"b\\c')}`);
  t.equal(back.ok && back.value.params.get('realm'), 'a"b\\c', 'quote round-trips');
});

t.test('the parser never throws on random input', async (t) => {
  fc.assert(
    fc.property(fc.string({ maxLength: 300 }), (s) => {
      const r = parseCredentials(`Digest ${s}`);
      return typeof r.ok === 'boolean';
    }),
    { numRuns: 2000 },
  );
  fc.assert(
    fc.property(
      fc.array(fc.constantFrom('Digest ', 'a', '=', '"', '\\', ',', ' ', '\t', 'x'), {
        maxLength: 60,
      }),
      (parts) => typeof parseCredentials(parts.join('')).ok === 'boolean',
    ),
    { numRuns: 2000 },
  );
  t.pass('no throw');
});

t.test('digest-uri comparison', async (t) => {
  t.ok(sameUri('sip:a@b', 'sip:a@b'));
  t.ok(sameUri('SIP:a@EXAMPLE.com;transport=tcp', 'sip:a@example.com'), 'scheme/host case, params');
  t.ok(sameUri('sip:a;x=1@h', 'sip:a;x=1@h;lr'), "user part with ';'");
  t.ok(sameUri('sip:h?Subject=x', 'sip:h'), 'headers ignored');
  t.notOk(sameUri('sip:A@b', 'sip:a@b'), 'user is case-sensitive');
  t.notOk(sameUri('sip:a@b:5060', 'sip:a@b'), 'explicit port differs (RFC 3261 §19.1.4)');
  t.notOk(sameUri('sip:a@c', 'sip:a@b'));
  t.notOk(sameUri('nocolon', 'nocolon2'));
});

t.test('only Digest values are parsed', async (t) => {
  const { isDigest } = await import('../header.js');
  t.ok(isDigest('Digest realm="x"'));
  t.ok(isDigest('  digest'));
  t.ok(isDigest('DIGEST\trealm=x'));
  t.notOk(isDigest('Basic YWxhZGRpbjpvcGVuc2VzYW1l'));
  t.notOk(isDigest('Digestive realm="x"'));
  t.notOk(isDigest(''));
});
