/**
 * The pieces end-to-end call tests share: sipp runs stopped at teardown, a UAS on a fresh
 * port, a UAC through the proxy, and a check that reports sipp's own errors when it fails.
 */
import type { Test } from 'tap';
import { freePort, waitListening } from './ports.js';
import { sipp, stopSipp, type SippOptions, type SippRun } from './sipp.js';

/** Start sipp, stopped when the test ends. */
export function run(t: Test, o: SippOptions): SippRun {
  const r = sipp(o);
  t.teardown(() => {
    stopSipp(r);
  });
  return r;
}

/** A UAS on a fresh port (or `o.port`); resolves its URI, run and port once it listens. */
export async function uas(
  t: Test,
  scenario: string,
  proxyPort: number,
  o: Partial<SippOptions> = {},
): Promise<{ uri: string; run: SippRun; port: number }> {
  const port = o.port ?? (await freePort());
  const transport = o.transport ?? 'udp';
  const r = run(t, {
    scenario,
    port,
    transport,
    keys: { proxy: `127\\.0\\.0\\.1:${String(proxyPort)}`, ...o.keys },
    pauseMs: o.pauseMs ?? 200,
    ...(o.timeoutSec !== undefined ? { timeoutSec: o.timeoutSec } : {}),
    ...(o.calls !== undefined ? { calls: o.calls } : {}),
  });
  await waitListening(port, transport);
  const uri = `sip:callee@127.0.0.1:${String(port)}${transport === 'tcp' ? ';transport=tcp' : ''}`;
  return { uri, run: r, port };
}

/** A UAC sending `scenario` to the proxy with `ruri` as its Request-URI (and more keys). */
export function uac(
  t: Test,
  scenario: string,
  proxyPort: number,
  ruri: string,
  o: Partial<SippOptions> = {},
): SippRun {
  return run(t, {
    ...o,
    scenario,
    remote: `127.0.0.1:${String(proxyPort)}`,
    keys: { ruri, ...o.keys },
  });
}

/** Pass when sipp exited 0; otherwise fail with what sipp logged. */
export function check(
  t: Test,
  name: string,
  code: number | null,
  out: { stdout: string; stderr: string; errors: string },
): void {
  if (code === 0) {
    t.pass(name);
  } else {
    t.fail(name, { code, errors: out.errors, stderr: out.stderr.slice(-1000) });
  }
}
