/**
 * The JavaScript cost of one REGISTER without sockets: Tandem started as `npm start` starts it
 * (cfg/tandem.yaml: usrloc with its embedded file store, registrar, cfg/routes.ts), except that
 * requests are handed to the transport's receive path in-process and what it would send is
 * captured instead of reaching a socket. Parsing, validation, the transaction layer, the script,
 * the registrar, usrloc (events, write queue, the periodic flush to the file) and the 200's
 * serialization run as in production.
 *
 *     node --import tsx scripts/bench/register-core.bench.ts [workload...]
 *
 * Workloads: `register` (a REGISTER for a new AoR each time, as `bench:register` does),
 * `refresh` (the same few thousand AoRs again and again: an update, not an insert) and
 * `options` (an OPTIONS to the proxy itself answered 200 by the script: the floor of one
 * request in and one response out through the same stack). With the auth module (loaded when
 * `auth` or `challenge` is asked for, as `bench:register`'s register-auth phase loads it: file
 * backend, one subscriber, MD5): `challenge` (a REGISTER without credentials, answered 401) and
 * `auth` (one authenticated registration, as sipp's uac-register-csv-auth.xml makes it: the
 * REGISTER, its 401, the REGISTER with the MD5 answer computed here, its 200; one op is both
 * requests). `register` and `refresh` would be challenged too, so they are not run with these.
 * Slices are interleaved in rounds
 * and timed in process CPU time; each line prints the median of the slices:
 * `{"bench":"register-core-register","ops_per_sec":…,"cpu_us_per_op":…,"x_options":…}`, where
 * `x_options` is the median over rounds of the cost relative to `options` in the same round
 * (the figure to compare between builds on this shared machine).
 * BENCH_SAMPLE_MS (default 300) and BENCH_ROUNDS (default 15) set the slices.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startTandem } from '../../src/app.js';
import { loadConfig } from '../../src/config/index.js';
import { silentLogger } from '../../src/core/logger.js';
import type { ReceiveInfo, SendTarget } from '../../src/transport/types.js';
import { ROOT } from './sipp-bench.js';

const SAMPLE_MS = Number(process.env['BENCH_SAMPLE_MS'] ?? 300);
const ROUNDS = Number(process.env['BENCH_ROUNDS'] ?? 15);
const BATCH = 50;
const REFRESH_USERS = 5_000;

const chosen =
  process.argv.slice(2).length > 0 ? process.argv.slice(2) : ['register', 'refresh', 'options'];
const withAuth = chosen.includes('auth') || chosen.includes('challenge');
if (withAuth && (chosen.includes('register') || chosen.includes('refresh'))) {
  throw new Error('register and refresh are challenged when auth is loaded: run them apart');
}

const dataDir = mkdtempSync(join(tmpdir(), 'tandem-bench-regcore-'));
const AUTH_USER = 'bench';
const PASSWORD = 'bench-secret';
const REALM = '127.0.0.1';
const md5 = (s: string): string => createHash('md5').update(s).digest('hex');
const HA1 = md5(`${AUTH_USER}:${REALM}:${PASSWORD}`);
const subscribers = join(dataDir, 'subscribers.yaml');
writeFileSync(subscribers, `subscribers:\n  "${REALM}":\n    ${AUTH_USER}:\n      ha1: ${HA1}\n`);
const { config } = loadConfig(join(ROOT, 'cfg/tandem.yaml'), [
  'listen=[udp:127.0.0.1:0]',
  'mi.enabled=false',
  `data_dir=${dataDir}`,
  'modules.registrar.min_expires=60',
  ...(withAuth
    ? [
        `modules.auth={realm: "${REALM}", algorithms: [MD5], secret: bench-secret-0123456789, file: ${subscribers}}`,
      ]
    : []),
]);
const app = await startTandem(config, silentLogger);
const socket = app.sockets()[0]!;

let sent = 0;
let registered = 0;
/** The nonce of each 401 by Call-ID, for the `auth` workload's answers. */
const nonces = new Map<string, string>();
const NONCE = /nonce="([^"]+)"/;
const CALL_ID = /\r\nCall-ID: ([^\r]+)\r\n/;
// What the transport would put on the wire is counted instead (serialization still happens).
app.transport.send = (_target: SendTarget, data: Buffer, cb?: (err: Error | null) => void) => {
  sent += data.length > 0 ? 1 : 0;
  if (data[8] === 0x32 && data[9] === 0x30 && data[10] === 0x30) {
    registered++;
  }
  if (withAuth && data[8] === 0x34 && data[9] === 0x30 && data[10] === 0x31) {
    // 'SIP/2.0 401': keep its nonce for the answer (outside the proxy's cost, but cheap).
    const text = data.toString('latin1');
    const nonce = NONCE.exec(text)?.[1];
    const callId = CALL_ID.exec(text)?.[1];
    if (nonce !== undefined && callId !== undefined) {
      nonces.set(callId, nonce);
    }
  }
  cb?.(null);
};
const receiver = (
  app.transport as unknown as {
    receiver: { receive: (buf: Buffer, rx: ReceiveInfo, datagram: boolean) => void };
  }
).receiver;

const PORT = 5090;
const rx: ReceiveInfo = {
  socket,
  protocol: 'udp',
  sourceAddress: '127.0.0.1',
  sourcePort: PORT,
  connectionId: null,
  receivedAt: 0,
};
const DOMAIN = `127.0.0.1:${String(socket.port)}`;

/**
 * The datagram sipp's uac-register-csv.xml sends for `user` (call number `n`); with `auth`, the
 * Authorization line sipp's uac-register-csv-auth.xml adds to its second REGISTER.
 */
function register(user: string, n: number, cseq: number, auth = ''): Buffer {
  const text =
    `REGISTER sip:${DOMAIN} SIP/2.0\r\n` +
    `Via: SIP/2.0/UDP 127.0.0.1:${String(PORT)};branch=z9hG4bK-5515-${String(n)}-0\r\n` +
    `From: <sip:${user}@${DOMAIN}>;tag=5515SIPpTag00${String(n)}\r\n` +
    `To: <sip:${user}@${DOMAIN}>\r\n` +
    `Call-ID: ${String(n)}-5515@127.0.0.1\r\n` +
    `CSeq: ${String(cseq)} REGISTER\r\n` +
    `Contact: <sip:${user}@127.0.0.1:${String(PORT)}>\r\n` +
    'Expires: 3600\r\n' +
    auth +
    'Max-Forwards: 70\r\n' +
    'User-Agent: sipp\r\n' +
    'Content-Length: 0\r\n\r\n';
  const buf = Buffer.allocUnsafeSlow(text.length);
  buf.write(text, 'latin1');
  return buf;
}

/** sipp's answer to a 401 (RFC 7616 §3.4.1 MD5, qop=auth, nc 1), as its [authentication] writes it. */
function authorization(nonce: string): string {
  const uri = `sip:${DOMAIN}`;
  const cnonce = (0x10000000 + seq).toString(16);
  const ha2 = md5(`REGISTER:${uri}`);
  const response = md5(`${HA1}:${nonce}:00000001:${cnonce}:auth:${ha2}`);
  return (
    `Authorization: Digest username="${AUTH_USER}",realm="${REALM}",cnonce="${cnonce}",` +
    `nc=00000001,qop=auth,uri="${uri}",nonce="${nonce}",response="${response}",algorithm=MD5\r\n`
  );
}

function options(n: number): Buffer {
  const text =
    `OPTIONS sip:${DOMAIN} SIP/2.0\r\n` +
    `Via: SIP/2.0/UDP 127.0.0.1:${String(PORT)};branch=z9hG4bK-5515-${String(n)}-0\r\n` +
    `From: <sip:probe@${DOMAIN}>;tag=5515SIPpTag00${String(n)}\r\n` +
    `To: <sip:${DOMAIN}>\r\n` +
    `Call-ID: ${String(n)}-5515@127.0.0.1\r\n` +
    'CSeq: 1 OPTIONS\r\n' +
    'Max-Forwards: 70\r\n' +
    'User-Agent: sipp\r\n' +
    'Content-Length: 0\r\n\r\n';
  const buf = Buffer.allocUnsafeSlow(text.length);
  buf.write(text, 'latin1');
  return buf;
}

let seq = 0;
const workloads: Record<string, () => Buffer> = {
  register: () => {
    seq++;
    return register(`u${String(seq)}`, seq, 1);
  },
  refresh: () => {
    seq++;
    // CSeq rises with every refresh of the same user (its own Call-ID each time, as sipp does).
    return register(`f${String(seq % REFRESH_USERS)}`, seq, 1 + Math.floor(seq / REFRESH_USERS));
  },
  options: () => {
    seq++;
    return options(seq);
  },
  challenge: () => {
    seq++;
    return register(`c${String(seq)}`, seq, 1);
  },
};

/** One batch: BATCH requests received, then the script's promises settle. */
async function batch(make: () => Buffer): Promise<void> {
  const before = sent;
  // Built outside the timed part would be fairer still; building costs ~1 µs beside ~50–200.
  for (let i = 0; i < BATCH; i++) {
    receiver.receive(make(), rx, true);
  }
  await new Promise<void>((r) => setImmediate(r));
  if (sent - before !== BATCH) {
    throw new Error(`${String(sent - before)} responses to ${String(BATCH)} requests`);
  }
}

/** BATCH authenticated registrations: the challenged REGISTERs, then their answers. */
async function authBatch(): Promise<void> {
  const first = seq + 1;
  await batch(workloads['challenge']!);
  const answers: Buffer[] = [];
  for (let n = first; n <= seq; n++) {
    const nonce = nonces.get(`${String(n)}-5515@127.0.0.1`);
    if (nonce === undefined) {
      throw new Error(`no 401 for call ${String(n)}`);
    }
    nonces.delete(`${String(n)}-5515@127.0.0.1`);
    answers.push(register(`c${String(n)}`, n, 2, authorization(nonce)));
  }
  let i = 0;
  const okBefore = registered;
  await batch(() => answers[i++]!);
  if (registered - okBefore !== BATCH) {
    throw new Error(`${String(registered - okBefore)} of ${String(BATCH)} answers registered`);
  }
}
const runners: Record<string, () => Promise<void>> = {
  ...Object.fromEntries(Object.entries(workloads).map(([k, make]) => [k, () => batch(make)])),
  auth: authBatch,
};

const cpuUs = (): number => {
  const u = process.cpuUsage();
  return u.user + u.system;
};

async function slice(run: () => Promise<void>): Promise<number> {
  const c0 = cpuUs();
  const t0 = performance.now();
  let ops = 0;
  while (performance.now() - t0 < SAMPLE_MS) {
    await run();
    ops += BATCH;
  }
  return (cpuUs() - c0) / ops;
}

// Warm-up (and the refresh workload's users registered once).
for (const name of chosen) {
  for (let i = 0; i < 3; i++) {
    await slice(runners[name]!);
  }
}
const samples = new Map<string, number[]>(chosen.map((n) => [n, []]));
for (let r = 0; r < ROUNDS; r++) {
  for (const name of chosen) {
    samples.get(name)!.push(await slice(runners[name]!));
  }
}
const median = (xs: readonly number[]): number =>
  [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const floor = samples.get('options');
for (const [name, s] of samples) {
  const us = median(s);
  process.stdout.write(
    `${JSON.stringify({
      bench: `register-core-${name}`,
      ops_per_sec: Math.round(1e6 / us),
      cpu_us_per_op: Math.round(us * 10) / 10,
      samples: s.length,
      // The machine's speed drifts; the cost against the OPTIONS floor of the same round does not.
      ...(floor !== undefined && name !== 'options'
        ? { x_options: Math.round(median(s.map((v, i) => v / floor[i]!)) * 100) / 100 }
        : {}),
    })}\n`,
  );
}
await app.stop(0);
rmSync(dataDir, { recursive: true, force: true });
