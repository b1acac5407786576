/**
 * End to end: the dialog module in a Tandem process with sipp as caller and callee. A call is
 * listed while it lasts and gone after BYE; profile counts follow it; a call past its timeout
 * and a call whose callee stops answering pings are ended by the proxy with a BYE to both
 * sides; dlg_end_dlg ends a call; CANCEL while ringing ends an early dialog.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { freePort } from '../helpers/ports.js';
import { HAVE_SIPP } from '../helpers/sipp.js';
import { check, uac, uas } from '../helpers/sipp-calls.js';
import { miCall, startTandemProcess, ROOT, type TandemProcess } from '../helpers/tandem-process.js';

if (!HAVE_SIPP) {
  t.plan(0, 'sipp is not installed (Debian package sip-tester; .ci/run installs it)');
  process.exit(0);
}

interface Node {
  p: TandemProcess;
  port: number;
  /** acc's CDR file. */
  cdrFile: string;
}

interface CdrLine {
  call_id: string;
  duration_ms: number;
  ended_by: string;
  sip_status: number;
  missed: boolean;
}

function cdrs(n: Node): CdrLine[] {
  if (!existsSync(n.cdrFile)) {
    return [];
  }
  return readFileSync(n.cdrFile, 'utf8')
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as CdrLine);
}

/** The one CDR of a call, once acc has flushed it. */
async function cdrOf(n: Node, callId: string): Promise<CdrLine[]> {
  await until(`the CDR of ${callId}`, () =>
    Promise.resolve(cdrs(n).some((c) => c.call_id === callId)),
  );
  return cdrs(n).filter((c) => c.call_id === callId);
}

async function proxy(t: Test, sets: string[] = []): Promise<Node> {
  const port = await freePort();
  const dataDir = mkdtempSync(join(tmpdir(), 'tandem-dlg-'));
  t.teardown(() => {
    rmSync(dataDir, { recursive: true, force: true });
  });
  const p = await startTandemProcess({
    dataDir,
    sets: [
      `listen[0]=udp:127.0.0.1:${port}`,
      `listen[1]=tcp:127.0.0.1:${port}`,
      'log.level=info',
      'timers.timer_f=1500',
      `script=${ROOT}test/e2e/routes/dialog.ts`,
      'modules.dialog.profiles_no_value=calls',
      'modules.dialog.profiles_with_value=caller',
      'modules.dialog.options_ping_interval=1',
      'modules.acc.flush_interval=100',
      'modules.acc.fsync=false',
      ...sets,
    ],
  });
  t.teardown(() => p.stop('SIGKILL'));
  return { p, port, cdrFile: join(dataDir, 'acc', 'cdr.jsonl') };
}

interface Listed {
  ID: string;
  state: number;
  callid: string;
}

async function dialogs(n: Node): Promise<Listed[]> {
  const r = await miCall(n.p, 'dlg_list');
  return (r.result as { Dialogs: Listed[] }).Dialogs;
}

async function profileSize(n: Node, profile: string, value?: string): Promise<number> {
  const r = await miCall(
    n.p,
    'profile_get_size',
    value === undefined ? [profile] : [profile, value],
  );
  return (r.result as { profile: { count: number } }).profile.count;
}

async function stat(n: Node, name: string): Promise<number> {
  const r = await miCall(n.p, 'get_statistics', [[name]]);
  return (r.result as Record<string, number>)[name] ?? NaN;
}

/** Poll until `check` holds (generous bound: the box is shared with sipp). */
async function until(what: string, check: () => Promise<boolean>, ms = 15_000): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await check()) {
      return;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting for: ${what}`);
}

// One proxy for every test (the Request-URI carries each test's dialog flags and timeout);
// counters are read as differences.
const n = await proxy(t);

t.test('a call is listed while it lasts, counted in profiles, and gone after BYE', async (t) => {
  const processed = await stat(n, 'dialog:processed_dialogs');
  const callee = await uas(t, 'uas-answer.xml', n.port);
  const caller = uac(t, 'uac-call-hold.xml', n.port, callee.uri, { pauseMs: 3000 });
  await until('a confirmed dialog', async () => (await dialogs(n)).some((d) => d.state === 4));
  const [listed] = await dialogs(n);
  t.match(listed, { state: 4, callid: /.+/ }, 'dlg_list shows the call confirmed (state 4)');
  t.equal(await profileSize(n, 'calls'), 1, 'profile calls counts it');
  t.equal(await profileSize(n, 'caller', 'sipp'), 1, 'profile caller/sipp counts it');
  t.equal(await stat(n, 'dialog:active_dialogs'), 1, 'active_dialogs 1');
  const [a, b] = await Promise.all([caller.done, callee.run.done]);
  check(t, 'caller hung up after 3 s', a.code, a);
  check(t, 'callee saw the BYE through the proxy', b.code, b);
  await until('no dialog left', async () => (await dialogs(n)).length === 0);
  t.equal(await profileSize(n, 'calls'), 0, 'profile back to 0');
  t.equal(await profileSize(n, 'caller', 'sipp'), 0, 'valued profile back to 0');
  t.equal(await stat(n, 'dialog:processed_dialogs'), processed + 1, 'processed_dialogs +1');
  const [cdr, ...more] = await cdrOf(n, listed!.callid);
  t.equal(more.length, 0, 'exactly one CDR');
  t.match(cdr, { ended_by: 'caller', sip_status: 200, missed: false });
  t.ok(
    cdr!.duration_ms >= 2900 && cdr!.duration_ms < 15_000,
    `CDR duration ${String(cdr!.duration_ms)} ms for a call held 3 s`,
  );
});

t.test('CANCEL while ringing ends the early dialog', async (t) => {
  const failed = await stat(n, 'dialog:failed_dialogs');
  const before = new Set(cdrs(n).map((c) => c.call_id));
  const callee = await uas(t, 'uas-ring-cancel.xml', n.port);
  const caller = uac(t, 'uac-cancel.xml', n.port, callee.uri);
  const [a, b] = await Promise.all([caller.done, callee.run.done]);
  check(t, 'caller: 487', a.code, a);
  check(t, 'callee: CANCEL relayed', b.code, b);
  await until('no dialog left', async () => (await dialogs(n)).length === 0);
  t.equal(await stat(n, 'dialog:failed_dialogs'), failed + 1, 'counted as failed');
  await until('the missed-call record', () =>
    Promise.resolve(cdrs(n).some((c) => !before.has(c.call_id))),
  );
  t.match(
    cdrs(n).filter((c) => !before.has(c.call_id)),
    [{ missed: true, sip_status: 487, ended_by: 'cancelled', duration_ms: 0 }],
    'one missed-call record with 487',
  );
  t.equal(await profileSize(n, 'calls'), 0, 'profile back to 0');
});

t.test('a call past its timeout is ended with a BYE to both sides', async (t) => {
  const expired = await stat(n, 'dialog:expired_dialogs');
  const callee = await uas(t, 'uas-wait-bye.xml', n.port);
  const caller = uac(t, 'uac-wait-bye.xml', n.port, `${callee.uri};dlg_timeout=2`);
  const [a, b] = await Promise.all([caller.done, callee.run.done]);
  check(t, 'caller got the BYE and answered it', a.code, a);
  check(t, 'callee got the BYE and answered it', b.code, b);
  t.equal(await stat(n, 'dialog:expired_dialogs'), expired + 1, 'expired_dialogs +1');
  await until('its CDR', () => Promise.resolve(cdrs(n).some((c) => c.ended_by === 'timeout')));
  t.equal(cdrs(n).filter((c) => c.ended_by === 'timeout').length, 1, 'one CDR ended by timeout');
  t.equal((await dialogs(n)).length, 0, 'dialog gone');
});

t.test('a callee that stops answering pings has its call ended', async (t) => {
  // Flags: B (BYE on end) and p (ping the callee); the callee is on TCP, so the unanswered
  // OPTIONS is not retransmitted and fails on Timer F (1.5 s here).
  const callee = await uas(t, 'uas-wait-bye.xml', n.port, { transport: 'tcp' });
  const caller = uac(t, 'uac-wait-bye.xml', n.port, `${callee.uri};dlg_flags=Bp`);
  const [a, b] = await Promise.all([caller.done, callee.run.done]);
  check(t, 'caller got the BYE', a.code, a);
  check(t, 'callee got the OPTIONS, did not answer, then got the BYE', b.code, b);
  t.equal((await dialogs(n)).length, 0, 'dialog gone');
});

t.test('dlg_end_dlg ends a call; MI errors', async (t) => {
  const callee = await uas(t, 'uas-wait-bye.xml', n.port);
  const caller = uac(t, 'uac-wait-bye.xml', n.port, callee.uri);
  await until('a confirmed dialog', async () => (await dialogs(n)).some((d) => d.state === 4));
  const [listed] = await dialogs(n);
  t.same((await miCall(n.p, 'dlg_end_dlg', [listed!.ID])).result, 'OK', 'dlg_end_dlg OK');
  const [a, b] = await Promise.all([caller.done, callee.run.done]);
  check(t, 'caller got the BYE', a.code, a);
  check(t, 'callee got the BYE', b.code, b);
  t.match((await miCall(n.p, 'dlg_end_dlg', ['nope'])).error, { code: 404 }, 'unknown id: 404');
  t.match(
    (await miCall(n.p, 'profile_get_size', ['nope'])).error,
    { code: 404 },
    'unknown profile: 404',
  );
  t.match(
    (await miCall(n.p, 'dlg_list', ['no-such-call-id'])).error,
    { code: 404 },
    'unknown Call-ID: 404',
  );
});

t.test('1,000 concurrent calls: 1,000 CDRs, profiles back to 0', async (t) => {
  const before = cdrs(n).length;
  const callee = await uas(t, 'uas-answer.xml', n.port, {
    pauseMs: 0,
    calls: 1000,
    timeoutSec: 60,
  });
  const caller = uac(t, 'uac-call-hold.xml', n.port, callee.uri, {
    pauseMs: 4000,
    calls: 1000,
    rate: 500,
    limit: 1000,
    timeoutSec: 60,
  });
  let peak = 0;
  await until(
    '1,000 dialogs up at once',
    async () => {
      peak = Math.max(peak, await stat(n, 'dialog:active_dialogs'));
      return peak === 1000;
    },
    30_000,
  );
  t.equal(await profileSize(n, 'calls'), 1000, '1,000 in the profile at the peak');
  const a = await caller.done;
  check(t, 'sipp: 1,000 calls completed', a.code, a);
  await until('1,000 new CDRs', () => Promise.resolve(cdrs(n).length >= before + 1000), 30_000);
  t.equal(cdrs(n).length, before + 1000, 'exactly 1,000 CDRs');
  t.equal(await profileSize(n, 'calls'), 0, 'profile size back to 0');
  t.equal((await dialogs(n)).length, 0, 'no dialog left');
  const b = await callee.run.done;
  check(t, 'sipp callee: 1,000 calls answered', b.code, b);
});
