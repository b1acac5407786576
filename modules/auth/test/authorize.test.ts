/**
 * www_/proxy_authorize and the challenges through the script functions: MD5 and SHA-256 (and
 * -sess, auth-int), stale nonces, tampered nonces, nc replay, wrong passwords, unknown users,
 * realms, digest-uri checks, RFC 2069, consume_credentials, and malformed headers that must
 * come back as a code, never an exception.
 */
import fc from 'fast-check';
import t from 'tap';
import { AUTH_CODES } from '../authorize.js';
import { parseQopArg, scriptFunctions } from '../script.js';
import { answer, fakeCtx, request, rig, type Rig } from './helpers.js';

function fns(r: Rig) {
  return scriptFunctions(() => r.auth);
}

/** Challenge a REGISTER and return the challenge values. */
function challenge(r: Rig, kind: 'www' | 'proxy' = 'www', realm?: string, qop?: string) {
  const ctx = fakeCtx(request('REGISTER', 'sip:sip.test'));
  const f = fns(r);
  const fn = kind === 'www' ? f.www_challenge : f.proxy_challenge;
  t.ok(fn(ctx, realm, qop));
  return ctx.replies[0]!;
}

t.test('a 401 offers SHA-256 then MD5 with one nonce; both answers authorize', async (t) => {
  const r = await rig(t);
  const rep = challenge(r);
  t.equal(rep.code, 401);
  t.equal(rep.reason, 'Unauthorized');
  t.same(
    rep.headers.map(([n]) => n),
    ['WWW-Authenticate', 'WWW-Authenticate'],
  );
  const [sha, md5] = rep.headers.map(([, v]) => v);
  t.match(sha, /^Digest realm="sip.test", nonce="[\w-]+", algorithm=SHA-256, qop="auth"$/);
  t.match(md5, /algorithm=MD5, qop="auth"$/);
  t.equal(/nonce="([^"]+)"/.exec(sha!)![1], /nonce="([^"]+)"/.exec(md5!)![1], 'shared nonce');

  // The nonce is shared, so its nc goes on across the two algorithms.
  for (const [i, value] of [sha!, md5!].entries()) {
    const msg = request('REGISTER', 'sip:sip.test', [
      `Authorization: ${answer(value, { user: 'alice', password: 'wonderland', method: 'REGISTER', uri: 'sip:sip.test', nc: i + 1 })}`,
    ]);
    const ctx = fakeCtx(msg);
    t.equal(fns(r).www_authorize(ctx), AUTH_CODES.AUTHORIZED, value.slice(-30));
    t.same(fns(r).auth_user(ctx), {
      user: 'alice',
      realm: 'sip.test',
      algorithm: value.includes('SHA-256') ? 'SHA-256' : 'MD5',
    });
    t.equal(ctx.vars.get('auth_user'), 'alice');
    t.equal(ctx.vars.get('auth_realm'), 'sip.test');
  }
  t.equal(r.counters.successes, 2);
  t.equal(r.counters.challenges, 1);
});

t.test('wrong password, unknown user, no credentials', async (t) => {
  const r = await rig(t);
  const [sha] = challenge(r).headers.map(([, v]) => v);
  const auth = (user: string, password: string) =>
    fns(r).www_authorize(
      fakeCtx(
        request('REGISTER', 'sip:sip.test', [
          `Authorization: ${answer(sha!, { user, password, method: 'REGISTER', uri: 'sip:sip.test' })}`,
        ]),
      ),
    );
  t.equal(auth('alice', 'looking-glass'), AUTH_CODES.INVALID_PASSWORD);
  t.equal(auth('carol', 'x'), AUTH_CODES.INVALID_USER);
  t.equal(
    fns(r).www_authorize(fakeCtx(request('REGISTER', 'sip:sip.test'))),
    AUTH_CODES.NO_CREDENTIALS,
  );
  // Credentials for another realm are not ours: as good as none.
  const other = answer(sha!.replace('sip.test', 'elsewhere.test'), {
    user: 'alice',
    password: 'wonderland',
    method: 'REGISTER',
    uri: 'sip:sip.test',
  });
  t.equal(
    fns(r).www_authorize(fakeCtx(request('REGISTER', 'sip:sip.test', [`Authorization: ${other}`]))),
    AUTH_CODES.NO_CREDENTIALS,
  );
  // A subscriber with only an MD5 hash cannot answer SHA-256.
  await r.store.put({ user: 'old', realm: 'sip.test', ha1: '0'.repeat(32), ha1_sha256: null });
  t.equal(auth('old', 'x'), AUTH_CODES.INVALID_USER);
  t.equal(r.counters.failures, 3);
});

t.test(
  'an expired nonce with the right password is stale; the new challenge says so',
  async (t) => {
    const r = await rig(t);
    const [sha] = challenge(r).headers.map(([, v]) => v);
    r.now.ms += 30_000;
    const msg = request('REGISTER', 'sip:sip.test', [
      `Authorization: ${answer(sha!, { user: 'alice', password: 'wonderland', method: 'REGISTER', uri: 'sip:sip.test' })}`,
    ]);
    const ctx = fakeCtx(msg);
    const f = fns(r);
    t.equal(f.www_authorize(ctx), AUTH_CODES.STALE_NONCE);
    t.ok(f.www_challenge(ctx));
    const values = ctx.replies[0]!.headers.map(([, v]) => v);
    t.ok(
      values.every((v) => v.endsWith(', stale=true')),
      'stale=true on every challenge',
    );
    // A wrong password on an expired nonce is not stale (RFC 7616 §3.3: only when the digest is right).
    const wrong = fakeCtx(
      request('REGISTER', 'sip:sip.test', [
        `Authorization: ${answer(sha!, { user: 'alice', password: 'nope', method: 'REGISTER', uri: 'sip:sip.test' })}`,
      ]),
    );
    t.equal(f.www_authorize(wrong), AUTH_CODES.INVALID_PASSWORD);
    f.www_challenge(wrong);
    t.notMatch(wrong.replies[0]!.headers[0]![1], /stale/);
    t.equal(r.counters.stale, 1);
  },
);

t.test('a tampered or foreign nonce is refused', async (t) => {
  const r = await rig(t);
  const [sha] = challenge(r).headers.map(([, v]) => v);
  const nonce = /nonce="([^"]+)"/.exec(sha!)![1]!;
  const flipped = nonce[5] === 'A' ? 'B' : 'A';
  const tampered = nonce.slice(0, 5) + flipped + nonce.slice(6);
  for (const n of [tampered, 'made-up-nonce', nonce.slice(0, -1)]) {
    const msg = request('REGISTER', 'sip:sip.test', [
      `Authorization: ${answer(sha!, { user: 'alice', password: 'wonderland', method: 'REGISTER', uri: 'sip:sip.test', override: { nonce: n } })}`,
    ]);
    t.equal(fns(r).www_authorize(fakeCtx(msg)), AUTH_CODES.INVALID_NONCE, n);
  }
  // A nonce issued for another realm does not open this one.
  const otherRealm = challenge(r, 'www', 'other.test').headers[0]![1];
  await r.store.put({ ...(await r.store.list())[0]!, realm: 'sip.test' });
  const moved = answer(otherRealm, {
    user: 'alice',
    password: 'wonderland',
    method: 'REGISTER',
    uri: 'sip:sip.test',
  }).replace('realm="other.test"', 'realm="sip.test"');
  t.equal(
    fns(r).www_authorize(fakeCtx(request('REGISTER', 'sip:sip.test', [`Authorization: ${moved}`]))),
    AUTH_CODES.INVALID_NONCE,
  );
});

t.test('nc: increasing counts pass, a replayed or lower count is refused as stale', async (t) => {
  const r = await rig(t);
  const [sha] = challenge(r).headers.map(([, v]) => v);
  const send = (nc: number) => {
    const ctx = fakeCtx(
      request('REGISTER', 'sip:sip.test', [
        `Authorization: ${answer(sha!, { user: 'alice', password: 'wonderland', method: 'REGISTER', uri: 'sip:sip.test', nc })}`,
      ]),
    );
    return fns(r).www_authorize(ctx);
  };
  t.equal(send(1), AUTH_CODES.AUTHORIZED);
  t.equal(send(2), AUTH_CODES.AUTHORIZED);
  t.equal(send(2), AUTH_CODES.STALE_NONCE, 'replay of nc 2');
  t.equal(send(1), AUTH_CODES.STALE_NONCE, 'lower nc');
  t.equal(send(7), AUTH_CODES.AUTHORIZED);
  t.equal(r.counters.replays, 2);
  // A wrong response does not advance the counter (no one can burn a client's nc values).
  const bad = fakeCtx(
    request('REGISTER', 'sip:sip.test', [
      `Authorization: ${answer(sha!, { user: 'alice', password: 'x', method: 'REGISTER', uri: 'sip:sip.test', nc: 99 })}`,
    ]),
  );
  t.equal(fns(r).www_authorize(bad), AUTH_CODES.INVALID_PASSWORD);
  t.equal(send(8), AUTH_CODES.AUTHORIZED);
});

t.test('-sess algorithms and qop=auth-int over the body', async (t) => {
  const r = await rig(t, { algorithms: ['SHA-256-sess', 'MD5-sess'], qop: ['auth', 'auth-int'] });
  const values = challenge(r).headers.map(([, v]) => v);
  t.match(values[0], /algorithm=SHA-256-sess, qop="auth,auth-int"/);
  const body = 'v=0\r\no=- 1 1 IN IP4 10.0.0.2\r\n';
  for (const [i, v] of values.entries()) {
    const msg = request(
      'INVITE',
      'sip:bob@sip.test',
      [
        `Authorization: ${answer(v, { user: 'alice', password: 'wonderland', method: 'INVITE', uri: 'sip:bob@sip.test', qop: 'auth-int', body, nc: i + 1 })}`,
      ],
      { body },
    );
    t.equal(fns(r).www_authorize(fakeCtx(msg)), AUTH_CODES.AUTHORIZED, v.slice(-40));
  }
  // The same answer over another body fails: auth-int covers it.
  const msg = request(
    'INVITE',
    'sip:bob@sip.test',
    [
      `Authorization: ${answer(values[0]!, { user: 'alice', password: 'wonderland', method: 'INVITE', uri: 'sip:bob@sip.test', qop: 'auth-int', body, nc: 5 })}`,
    ],
    { body: body.replace('10.0.0.2', '10.6.6.6') },
  );
  t.equal(fns(r).www_authorize(fakeCtx(msg)), AUTH_CODES.INVALID_PASSWORD);
});

t.test('proxy_authorize / proxy_challenge use Proxy-* headers and 407', async (t) => {
  const r = await rig(t, { algorithms: ['MD5'], realm: 'proxy.test' });
  await r.store.put({
    ...(await import('../credentials/store.js')).subscriberFromPassword(
      'alice',
      'proxy.test',
      'pw',
    ),
  });
  const rep = challenge(r, 'proxy');
  t.equal(rep.code, 407);
  t.equal(rep.reason, 'Proxy Authentication Required');
  t.equal(rep.headers.length, 1);
  t.equal(rep.headers[0]![0], 'Proxy-Authenticate');
  t.match(rep.headers[0]![1], /realm="proxy.test"/);
  const creds = answer(rep.headers[0]![1], {
    user: 'alice',
    password: 'pw',
    method: 'INVITE',
    uri: 'sip:bob@sip.test',
  });
  const msg = request('INVITE', 'sip:bob@sip.test', [
    `Proxy-Authorization: Digest username="x", realm="downstream.test", nonce="n", uri="sip:bob@sip.test", response="00"`,
    `Proxy-Authorization: ${creds}`,
  ]);
  const ctx = fakeCtx(msg);
  const f = fns(r);
  t.equal(f.www_authorize(ctx), AUTH_CODES.NO_CREDENTIALS, 'www looks at Authorization only');
  t.equal(f.proxy_authorize(ctx), AUTH_CODES.AUTHORIZED);
  t.ok(f.consume_credentials(ctx));
  t.same(msg.getAll('proxy-authorization').length, 1, 'only the used line removed');
  t.match(msg.get('proxy-authorization'), /downstream\.test/);
  t.notOk(f.consume_credentials(ctx), 'nothing left to consume');
  t.notOk(f.consume_credentials(fakeCtx(request('INVITE', 'sip:bob@sip.test'))), 'not authorized');
});

t.test('realm: argument, parameter, else To for REGISTER and From for others', async (t) => {
  const r = await rig(t);
  t.equal(r.auth.realmFor(request('REGISTER', 'sip:x', [], { to: 'sip:a@to.test' })), 'to.test');
  t.equal(
    r.auth.realmFor(request('INVITE', 'sip:x', [], { from: 'sip:a@from.test' })),
    'from.test',
  );
  t.equal(r.auth.realmFor(request('INVITE', 'sip:x'), 'given.test'), 'given.test');
  t.equal(r.auth.realmFor(request('INVITE', 'sip:x', [], { from: 'tel:+123' })), null);
  const fixed = await rig(t, { realm: 'fixed.test' });
  t.equal(fixed.auth.realmFor(request('REGISTER', 'sip:x')), 'fixed.test');
  // No realm to be had: a challenge answers 400, authorize says bad credentials.
  const ctx = fakeCtx(request('INVITE', 'sip:x', [], { from: 'tel:+123' }));
  fns(r).www_challenge(ctx);
  t.equal(ctx.replies[0]!.code, 400);
  t.equal(fns(r).www_authorize(ctx), AUTH_CODES.BAD_CREDENTIALS);
});

t.test(
  'digest-uri must name the Request-URI; qop and algorithm must be ones we accept',
  async (t) => {
    const r = await rig(t);
    const [sha, md5] = challenge(r).headers.map(([, v]) => v);
    const base = { user: 'alice', password: 'wonderland', method: 'REGISTER', uri: 'sip:sip.test' };
    const send = (creds: string, uri = 'sip:sip.test') =>
      fns(r).www_authorize(fakeCtx(request('REGISTER', uri, [`Authorization: ${creds}`])));
    t.equal(send(answer(sha!, base), 'sip:other.test'), AUTH_CODES.BAD_CREDENTIALS, 'uri mismatch');
    t.equal(send(answer(sha!, { ...base, qop: null })), AUTH_CODES.BAD_CREDENTIALS, 'no qop');
    t.equal(
      send(answer(sha!, { ...base, override: { algorithm: 'SHA-512-256' } })),
      AUTH_CODES.BAD_CREDENTIALS,
    );
    t.equal(
      send(answer(sha!, { ...base, override: { qop: 'auth-conf' } })),
      AUTH_CODES.BAD_CREDENTIALS,
    );
    t.equal(send(answer(sha!, { ...base, override: { nc: '1' } })), AUTH_CODES.BAD_CREDENTIALS);
    t.equal(send(answer(sha!, { ...base, nc: 0 })), AUTH_CODES.BAD_CREDENTIALS);
    t.equal(
      send(answer(sha!, { ...base, override: { userhash: 'true' } })),
      AUTH_CODES.BAD_CREDENTIALS,
    );
    t.equal(
      send(answer(md5!, base).replace(/, response="[0-9a-f]+"/, '')),
      AUTH_CODES.BAD_CREDENTIALS,
      'missing response',
    );
    const md5only = await rig(t, { algorithms: ['MD5'] });
    t.equal(
      fns(md5only).www_authorize(
        fakeCtx(request('REGISTER', 'sip:sip.test', [`Authorization: ${answer(sha!, base)}`])),
      ),
      AUTH_CODES.BAD_CREDENTIALS,
      'SHA-256 not offered',
    );
    const loose = await rig(t, { uriCheck: false });
    const [lsha] = challenge(loose).headers.map(([, v]) => v);
    t.equal(
      fns(loose).www_authorize(
        fakeCtx(request('REGISTER', 'sip:other.test', [`Authorization: ${answer(lsha!, base)}`])),
      ),
      AUTH_CODES.AUTHORIZED,
      'uri_check off',
    );
    t.ok(r.counters.bad_credentials >= 8);
  },
);

t.test('RFC 2069 answers only when allowed, and then once per nonce', async (t) => {
  const r = await rig(t, { allowRfc2069: true, algorithms: ['MD5'] });
  const v = challenge(r, 'www', undefined, '').headers[0]![1];
  t.notMatch(v, /qop/, 'challenge without qop');
  const creds = answer(v, {
    user: 'bob',
    password: 'builder',
    method: 'REGISTER',
    uri: 'sip:sip.test',
    qop: null,
  });
  const send = () =>
    fns(r).www_authorize(fakeCtx(request('REGISTER', 'sip:sip.test', [`Authorization: ${creds}`])));
  t.equal(send(), AUTH_CODES.AUTHORIZED);
  t.equal(send(), AUTH_CODES.STALE_NONCE, 'no nc: a second use is a replay');
  const strict = await rig(t, { algorithms: ['MD5'] });
  t.match(challenge(strict, 'www', undefined, '').headers[0]![1], /qop="auth"/, 'qop kept');
});

t.test('qop argument of the challenges', async (t) => {
  t.equal(parseQopArg(undefined), null);
  t.same(parseQopArg(''), []);
  t.same(parseQopArg('auth, AUTH-INT,auth'), ['auth', 'auth-int']);
  t.throws(() => parseQopArg('auth-conf'), /expected auth/);
});

t.test('malformed Authorization headers come back as a code, never an exception', async (t) => {
  const r = await rig(t);
  const f = fns(r);
  t.equal(
    f.www_authorize(
      fakeCtx(
        request(
          'REGISTER',
          'sip:sip.test',
          ['Authorization: Digest realm="sip.test", nonce="x'],
          {},
        ),
      ),
    ),
    AUTH_CODES.BAD_CREDENTIALS,
  );
  t.equal(
    f.www_authorize(fakeCtx(request('REGISTER', 'sip:sip.test', ['Authorization: Digest'], {}))),
    AUTH_CODES.NO_CREDENTIALS,
    'a scheme without a realm is not for us',
  );
  t.equal(
    f.www_authorize(
      fakeCtx(
        request('REGISTER', 'sip:sip.test', ['Authorization: Basic YWxhZGRpbjpvcGVuc2VzYW1l'], {}),
      ),
    ),
    AUTH_CODES.NO_CREDENTIALS,
  );
  const codes = new Set<number>(Object.values(AUTH_CODES));
  fc.assert(
    fc.property(
      fc.array(
        fc.constantFrom(
          'Digest ',
          'realm="sip.test"',
          'username="alice"',
          'nonce="',
          'uri="sip:sip.test"',
          'response="0"',
          'qop=auth',
          'nc=00000001',
          'cnonce="c"',
          'algorithm=MD5',
          ',',
          '"',
          '\\',
          ' ',
          '=',
          'x',
        ),
        { maxLength: 30 },
      ),
      (parts) => {
        const value = parts.join('').replace(/[\r\n]/g, '') || 'x';
        const rc = f.www_authorize(
          fakeCtx(request('REGISTER', 'sip:sip.test', [`Authorization: ${value}`])),
        );
        return typeof rc === 'number' && codes.has(rc);
      },
    ),
    { numRuns: 500 },
  );
  // A From that does not parse (realm taken from it) gives a code, not a throw.
  const broken = request('INVITE', 'sip:bob@sip.test');
  broken.setHeader('From', '<<<not a uri');
  t.equal(f.www_authorize(fakeCtx(broken)), AUTH_CODES.BAD_CREDENTIALS);
});

t.test('a store that fails gives the generic error', async (t) => {
  const r = await rig(t);
  const [sha] = challenge(r).headers.map(([, v]) => v);
  const creds = answer(sha!, {
    user: 'alice',
    password: 'wonderland',
    method: 'REGISTER',
    uri: 'sip:sip.test',
  });
  const failing = await rig(
    t,
    {},
    {
      ...r.store,
      backend: 'redis',
      get: () => Promise.reject(new Error('connection refused')),
      put: r.store.put.bind(r.store),
      remove: r.store.remove.bind(r.store),
      list: r.store.list.bind(r.store),
      reload: r.store.reload.bind(r.store),
      size: () => 0,
      close: () => Promise.resolve(),
    },
  );
  const rc = fns(failing).www_authorize(
    fakeCtx(request('REGISTER', 'sip:sip.test', [`Authorization: ${creds}`])),
  );
  t.equal(await rc, AUTH_CODES.GENERIC_ERROR);
  const throwing = await rig(
    t,
    {},
    {
      backend: 'file',
      get: () => {
        throw new Error('boom');
      },
      put: () => Promise.resolve(),
      remove: () => Promise.resolve(false),
      list: () => Promise.resolve([]),
      reload: () => Promise.resolve(0),
      size: () => 0,
      close: () => Promise.resolve(),
    },
  );
  t.equal(
    fns(throwing).www_authorize(
      fakeCtx(request('REGISTER', 'sip:sip.test', [`Authorization: ${creds}`])),
    ),
    AUTH_CODES.GENERIC_ERROR,
  );
  t.equal(throwing.counters.errors, 1);
  // An async store that finds the user: the promise resolves to authorized and sets the vars.
  const asyncStore = await rig(
    t,
    {},
    {
      backend: 'redis',
      get: (u, realm) => Promise.resolve(r.store.get(u, realm)),
      put: () => Promise.resolve(),
      remove: () => Promise.resolve(false),
      list: () => Promise.resolve([]),
      reload: () => Promise.resolve(0),
      size: () => 0,
      close: () => Promise.resolve(),
    },
  );
  const [asha] = challenge(asyncStore).headers.map(([, v]) => v);
  const ctx = fakeCtx(
    request('REGISTER', 'sip:sip.test', [
      `Authorization: ${answer(asha!, { user: 'alice', password: 'wonderland', method: 'REGISTER', uri: 'sip:sip.test' })}`,
    ]),
  );
  const pending = fns(asyncStore).www_authorize(ctx);
  t.ok(pending instanceof Promise);
  t.equal(await pending, AUTH_CODES.AUTHORIZED);
  t.equal(ctx.vars.get('auth_user'), 'alice');
});
