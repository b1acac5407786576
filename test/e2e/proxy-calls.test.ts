/**
 * End to end: Tandem started as `npm start` does, with sipp as caller and callee on 127.0.0.1.
 * Covers call set-up and tear-down along the recorded route, CANCEL while ringing, serial
 * failover after a 486, a parallel fork with one answer, 408 when nobody answers, UDP in and
 * TCP out, and Max-Forwards 0.
 */
import { createSocket } from 'node:dgram';
import t, { type Test } from 'tap';
import { freePort, waitListening } from '../helpers/ports.js';
import { HAVE_SIPP } from '../helpers/sipp.js';
import { check, run, uac as uacTo, uas } from '../helpers/sipp-calls.js';
import { startTandemProcess, ROOT, type TandemProcess } from '../helpers/tandem-process.js';

if (!HAVE_SIPP) {
  t.plan(0, 'sipp is not installed (Debian package sip-tester; .ci/run installs it)');
  process.exit(0);
}

async function proxy(
  t: Test,
  script: string | null,
  env: Record<string, string> = {},
): Promise<{ p: TandemProcess; port: number }> {
  const port = await freePort();
  const sets = [
    `listen[0]=udp:127.0.0.1:${port}`,
    `listen[1]=tcp:127.0.0.1:${port}`,
    'log.level=info',
    'timers.t1=100',
    'timers.timer_b=3000',
  ];
  if (script !== null) {
    sets.push(`script=${ROOT}test/e2e/routes/${script}`);
  }
  const p = await startTandemProcess({ sets, env });
  t.teardown(() => p.stop('SIGKILL'));
  return { p, port };
}

function uac(t: Test, scenario: string, proxyPort: number, ruri: string) {
  return uacTo(t, scenario, proxyPort, ruri);
}

t.test('default script', async (t) => {
  const { port, p } = await proxy(t, null);

  t.test('call set-up and tear-down along the recorded route', async (t) => {
    const callee = await uas(t, 'uas-answer.xml', port);
    const caller = uac(t, 'uac-call.xml', port, callee.uri);
    const [a, b] = await Promise.all([caller.done, callee.run.done]);
    check(t, 'caller: INVITE/180/200/ACK/BYE/200 with Record-Route', a.code, a);
    check(t, 'callee: ACK and BYE came through the proxy', b.code, b);
  });

  t.test('CANCEL while ringing', async (t) => {
    const callee = await uas(t, 'uas-ring-cancel.xml', port);
    const caller = uac(t, 'uac-cancel.xml', port, callee.uri);
    const [a, b] = await Promise.all([caller.done, callee.run.done]);
    check(t, 'caller: 200 to CANCEL, 487 to INVITE', a.code, a);
    check(t, 'callee: CANCEL relayed, 487 ACKed by the proxy', b.code, b);
  });

  t.test('UDP in, TCP out', async (t) => {
    const callee = await uas(t, 'uas-answer.xml', port, { transport: 'tcp' });
    const caller = uac(t, 'uac-call.xml', port, callee.uri);
    const [a, b] = await Promise.all([caller.done, callee.run.done]);
    check(t, 'caller over UDP', a.code, a);
    check(t, 'callee over TCP', b.code, b);
  });

  t.test('408 when nobody answers (Timer B set to 3 s here)', async (t) => {
    const silent = await freePort();
    const caller = uac(t, 'uac-408.xml', port, `sip:nobody@127.0.0.1:${silent}`);
    const a = await caller.done;
    check(t, 'caller gets 408 and ACKs it', a.code, a);
  });

  t.test('Max-Forwards 0 gets 483; OPTIONS to the proxy gets 200', async (t) => {
    const sock = createSocket('udp4');
    await new Promise<void>((r) => sock.bind(0, '127.0.0.1', r));
    t.teardown(() => sock.close());
    const lport = sock.address().port;
    const send = (text: string): Promise<string> =>
      new Promise((resolve) => {
        sock.once('message', (m) => {
          resolve(m.toString('latin1'));
        });
        sock.send(Buffer.from(text.replace(/\n/g, '\r\n'), 'latin1'), port, '127.0.0.1');
      });
    const msg = (method: string, ruri: string, mf: number, branch: string): string =>
      `${method} ${ruri} SIP/2.0\nVia: SIP/2.0/UDP 127.0.0.1:${lport};branch=${branch};rport\n` +
      `Max-Forwards: ${mf}\nFrom: <sip:t@127.0.0.1>;tag=1\nTo: <${ruri}>\nCall-ID: ${branch}@t\n` +
      `CSeq: 1 ${method}\nContent-Length: 0\n\n`;
    const r483 = await send(msg('MESSAGE', 'sip:x@127.0.0.1:9', 0, 'z9hG4bKmf0'));
    t.match(r483, /^SIP\/2\.0 483 /);
    const r200 = await send(msg('OPTIONS', `sip:127.0.0.1:${port}`, 70, 'z9hG4bKopt'));
    t.match(r200, /^SIP\/2\.0 200 /);
    t.match(r200, /\r\nAllow: [^\r]*INVITE/);
  });

  t.test('SIGTERM stops the proxy cleanly', async (t) => {
    t.equal(await p.stop('SIGTERM'), 0, 'exit code 0');
  });
});

t.test('serial failover: 486 from the first callee, the second answers', async (t) => {
  const second = await freePort();
  const { port } = await proxy(t, 'failover.ts', {
    FAILOVER_URI: `sip:callee@127.0.0.1:${second}`,
  });
  const busy = await uas(t, 'uas-busy.xml', port);
  const answerRun = run(t, {
    scenario: 'uas-answer.xml',
    port: second,
    keys: { proxy: `127\\.0\\.0\\.1:${port}` },
    pauseMs: 100,
  });
  await waitListening(second, 'udp');
  const caller = uac(t, 'uac-call.xml', port, busy.uri);
  const [a, b, c] = await Promise.all([caller.done, busy.run.done, answerRun.done]);
  check(t, 'caller connected', a.code, a);
  check(t, 'first callee said 486 and got the ACK', b.code, b);
  check(t, 'second callee answered', c.code, c);
});

t.test('parallel fork: one callee answers, the other is CANCELled', async (t) => {
  const ringing = await freePort();
  const { port } = await proxy(t, 'fork.ts', { FORK_URI: `sip:callee@127.0.0.1:${ringing}` });
  const ringRun = run(t, { scenario: 'uas-ring-cancel.xml', port: ringing });
  await waitListening(ringing, 'udp');
  const answer = await uas(t, 'uas-answer.xml', port, { pauseMs: 1000 });
  const caller = uac(t, 'uac-call.xml', port, answer.uri);
  const [a, b, c] = await Promise.all([caller.done, answer.run.done, ringRun.done]);
  check(t, 'caller connected', a.code, a);
  check(t, 'answering callee', b.code, b);
  check(t, 'ringing callee got CANCEL', c.code, c);
});
