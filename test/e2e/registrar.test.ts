/**
 * End to end: phones (sipp) register through Tandem started as `npm start` does, with the
 * shipped config (usrloc + registrar), and receive calls through it. Covers a call to a
 * registered user, 404 for an unknown one, a parallel fork to two contacts, a real short
 * expiry, registrations surviving a restart (clean stop, kill -9, and with Redis), and digest
 * authentication (sipp answers the 401).
 */
import { createSocket } from 'node:dgram';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { freePort } from '../helpers/ports.js';
import { HAVE_REDIS, startRedis } from '../helpers/redis-server.js';
import { HAVE_SIPP } from '../helpers/sipp.js';
import { check, run, uac, uas } from '../helpers/sipp-calls.js';
import { miCall, startTandemProcess, type TandemProcess } from '../helpers/tandem-process.js';

if (!HAVE_SIPP) {
  t.plan(0, 'sipp is not installed (Debian package sip-tester; .ci/run installs it)');
  process.exit(0);
}

interface Node {
  p: TandemProcess;
  port: number;
  dataDir: string;
}

async function node(t: Test, sets: string[] = [], reuse?: Node): Promise<Node> {
  const port = reuse?.port ?? (await freePort());
  const dataDir = reuse?.dataDir ?? mkdtempSync(join(tmpdir(), 'tandem-reg-e2e-'));
  if (reuse === undefined) {
    t.teardown(() => {
      rmSync(dataDir, { recursive: true, force: true });
    });
  }
  const p = await startTandemProcess({
    dataDir,
    sets: [
      `listen[0]=udp:127.0.0.1:${String(port)}`,
      `listen[1]=tcp:127.0.0.1:${String(port)}`,
      'timers.t1=100',
      ...sets,
    ],
  });
  t.teardown(() => p.stop('SIGKILL'));
  return { p, port, dataDir };
}

/** sipp registers `user` with the given contact; resolves when the 200 came. */
async function register(
  t: Test,
  n: Node,
  user: string,
  contact: string,
  expires = 600,
  scenario = 'uac-register.xml',
  extra: string[] = [],
): Promise<void> {
  const r = run(t, {
    scenario,
    remote: `127.0.0.1:${String(n.port)}`,
    keys: { user, domain: `127.0.0.1:${String(n.port)}`, contact, expires: String(expires) },
    extra,
  });
  const out = await r.done;
  check(t, `${user} registered ${contact}`, out.code, out);
}

/** A call from sipp to `user` at the proxy, answered by a sipp UAS on `port` (or a fresh one). */
async function callTo(t: Test, n: Node, user: string, calleePort?: number): Promise<void> {
  const callee = await uas(
    t,
    'uas-answer.xml',
    n.port,
    calleePort === undefined ? {} : { port: calleePort },
  );
  const caller = uac(t, 'uac-call.xml', n.port, `sip:${user}@127.0.0.1:${String(n.port)}`);
  const [a, b] = await Promise.all([caller.done, callee.run.done]);
  check(t, `call to ${user}: caller`, a.code, a);
  check(t, `call to ${user}: registered callee answered`, b.code, b);
}

/** The status line of the answer to a MESSAGE for `user` sent straight to the proxy. */
async function statusFor(n: Node, user: string): Promise<string> {
  const sock = createSocket('udp4');
  await new Promise<void>((r) => sock.bind(0, '127.0.0.1', r));
  try {
    const lport = sock.address().port;
    const ruri = `sip:${user}@127.0.0.1:${String(n.port)}`;
    const text =
      `MESSAGE ${ruri} SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:${String(lport)};branch=z9hG4bK${user}${String(Date.now())};rport\r\n` +
      `Max-Forwards: 70\r\nFrom: <sip:t@127.0.0.1>;tag=1\r\nTo: <${ruri}>\r\nCall-ID: ${user}-${String(Date.now())}@t\r\n` +
      `CSeq: 1 MESSAGE\r\nContent-Length: 0\r\n\r\n`;
    const answer = new Promise<string>((resolve) => {
      sock.on('message', (m) => {
        const line = m.toString('latin1').split('\r\n')[0]!;
        if (!line.startsWith('SIP/2.0 1')) {
          resolve(line);
        }
      });
    });
    sock.send(Buffer.from(text, 'latin1'), n.port, '127.0.0.1');
    return await answer;
  } finally {
    sock.close();
  }
}

t.test('a registered phone receives calls; unknown users get 404', async (t) => {
  const n = await node(t);
  const calleePort = await freePort();
  await register(t, n, 'alice', `sip:alice@127.0.0.1:${String(calleePort)}`);
  await callTo(t, n, 'alice', calleePort);
  t.match(await statusFor(n, 'nobody'), /^SIP\/2\.0 404 /);
  const dump = await miCall(n.p, 'ul_show_contact', ['alice@127.0.0.1']);
  t.match(JSON.stringify(dump.result), new RegExp(`127\\.0\\.0\\.1:${String(calleePort)}`));
});

t.test(
  'a parallel fork to two registered contacts: one answers, the other is cancelled',
  async (t) => {
    const n = await node(t);
    const ringing = await freePort();
    const answering = await freePort();
    await register(t, n, 'carol', `sip:carol@127.0.0.1:${String(ringing)}`);
    await register(t, n, 'carol', `sip:carol@127.0.0.1:${String(answering)}`);
    const ringRun = run(t, { scenario: 'uas-ring-cancel.xml', port: ringing });
    const answer = await uas(t, 'uas-answer.xml', n.port, { port: answering, pauseMs: 1000 });
    const caller = uac(t, 'uac-call.xml', n.port, `sip:carol@127.0.0.1:${String(n.port)}`);
    const [a, b, c] = await Promise.all([caller.done, answer.run.done, ringRun.done]);
    check(t, 'caller connected', a.code, a);
    check(t, 'one contact answered', b.code, b);
    check(t, 'the other contact got CANCEL', c.code, c);
  },
);

t.test('a registration expires for real', async (t) => {
  const n = await node(t, ['modules.registrar.min_expires=1', 'modules.usrloc.timer_interval=1']);
  await register(t, n, 'dave', 'sip:dave@127.0.0.1:9', 2);
  t.match(await statusFor(n, 'dave'), /^SIP\/2\.0 (408|503|200|4\d\d) /, 'dave is registered');
  await new Promise((r) => setTimeout(r, 3000));
  t.match(await statusFor(n, 'dave'), /^SIP\/2\.0 404 /, 'gone after 2 s');
});

t.test('registrations survive a restart: clean stop and kill -9 (embedded store)', async (t) => {
  const n = await node(t);
  const alicePort = await freePort();
  await register(t, n, 'alice', `sip:alice@127.0.0.1:${String(alicePort)}`);
  t.equal(await n.p.stop('SIGTERM'), 0, 'clean stop');
  const again = await node(t, [], n);
  await callTo(t, again, 'alice', alicePort);

  const bobPort = await freePort();
  await register(t, again, 'bob', `sip:bob@127.0.0.1:${String(bobPort)}`);
  // kill -9 loses at most the last flush interval (1 s): wait past it.
  await new Promise((r) => setTimeout(r, 1500));
  await again.p.stop('SIGKILL');
  const third = await node(t, [], n);
  await callTo(t, third, 'bob', bobPort);
  await callTo(t, third, 'alice', alicePort);
});

t.test(
  'registrations survive a restart with Redis',
  { skip: !HAVE_REDIS && 'no redis-server' },
  async (t) => {
    const redis = await startRedis();
    t.teardown(() => redis.stop());
    const sets = ['modules.usrloc.db_mode=redis', `modules.usrloc.redis_url=${redis.url}`];
    const n = await node(t, sets);
    const alicePort = await freePort();
    await register(t, n, 'alice', `sip:alice@127.0.0.1:${String(alicePort)}`);
    t.equal(await n.p.stop('SIGTERM'), 0);
    // A fresh data directory: the registration can only come from Redis.
    const fresh = await node(t, sets, {
      ...n,
      dataDir: mkdtempSync(join(tmpdir(), 'tandem-reg-e2e-')),
    });
    await callTo(t, fresh, 'alice', alicePort);
  },
);

t.test('digest authentication: sipp answers the 401 challenge', async (t) => {
  const n = await node(t, [
    'modules.auth={realm: 127.0.0.1, algorithms: [MD5], secret: e2e-secret-0123456789}',
  ]);
  const added = await miCall(n.p, 'auth:subscriber_add', ['alice', '127.0.0.1', 'wonderland']);
  t.notOk(added.error, 'subscriber added');
  await register(t, n, 'alice', 'sip:alice@127.0.0.1:9', 600, 'uac-register-auth.xml', [
    '-au',
    'alice',
    '-ap',
    'wonderland',
  ]);
  const wrong = run(t, {
    scenario: 'uac-register-auth.xml',
    remote: `127.0.0.1:${String(n.port)}`,
    keys: {
      user: 'alice',
      domain: `127.0.0.1:${String(n.port)}`,
      contact: 'sip:a@127.0.0.1:9',
      expires: '600',
    },
    extra: ['-au', 'alice', '-ap', 'wrong'],
    timeoutSec: 5,
  });
  t.not((await wrong.done).code, 0, 'a wrong password is not accepted');
});
