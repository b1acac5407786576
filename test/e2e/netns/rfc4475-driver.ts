/**
 * Runs inside a private network namespace with only loopback up (started by
 * test/e2e/rfc4475-udp.test.ts through `unshare -n`): the RFC 4475 messages name outside hosts,
 * and here nothing the proxy answers or forwards can leave the machine.
 *
 * Starts Tandem with the default script on udp 127.0.0.1:5070, sends every corpus message from
 * 127.0.0.1, collects what comes back, and after each one checks that the proxy still answers an
 * OPTIONS. Prints one JSON object with the results.
 */
import { createSocket } from 'node:dgram';
import { startTandem } from '../../../src/app.js';
import { loadConfig } from '../../../src/config/index.js';
import { createLogger } from '../../../src/core/logger.js';
import { parseMessage, validateMessage } from '../../../src/sip/index.js';
import { corpusFiles, readCorpus } from '../../helpers/corpus.js';

interface Result {
  name: string;
  valid: boolean;
  request: boolean;
  statuses: number[];
  alive: boolean;
}

const PROXY = 5070;
/**
 * Answers go where the top Via says (RFC 3261 §18.2.2): to `received` (127.0.0.1 here) and the
 * sent-by port, 5060 when absent. Listen on every port the corpus names so they can be seen.
 */
function viaPorts(): number[] {
  const ports = new Set<number>([5060]);
  for (const name of corpusFiles()) {
    const text = readCorpus(name).toString('latin1');
    for (const m of text.matchAll(
      /^(?:via|v)[ \t]*:[ \t]*SIP[ \t]*\/[ \t]*2\.0[ \t]*\/[ \t]*\w+[ \t]+(?:\[[^\]]*\]|[^;:\s]+)(?::(\d+))?/gim,
    )) {
      const port = Number(m[1] ?? 5060);
      if (port > 0 && port < 65536 && port !== PROXY) {
        ports.add(port);
      }
    }
  }
  return [...ports];
}
const { config } = loadConfig(new URL('../../../cfg/tandem.yaml', import.meta.url).pathname, [
  `listen=[udp:127.0.0.1:${PROXY}]`,
  'dns.servers=[127.0.0.1:53]',
  'timers.timer_b=2000',
  'timers.timer_f=2000',
  'mi.listen=127.0.0.1:0',
]);
const app = await startTandem(config, createLogger({ level: 'silent' }));
const sock = createSocket('udp4');
await new Promise<void>((r) => sock.bind(5062, '127.0.0.1', r));
const inbox: string[] = [];
sock.on('message', (m) => inbox.push(m.toString('latin1')));
const listeners = [];
for (const port of viaPorts()) {
  const l = createSocket('udp4');
  l.on('message', (m) => inbox.push(m.toString('latin1')));
  l.on('error', () => undefined);
  await new Promise<void>((r) => {
    l.once('error', () => {
      r();
    });
    l.bind(port, '127.0.0.1', r);
  });
  listeners.push(l);
}
const wait = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function alive(i: number): Promise<boolean> {
  const before = inbox.length;
  const branch = `z9hG4bKalive${i}`;
  sock.send(
    Buffer.from(
      `OPTIONS sip:127.0.0.1:${PROXY} SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:5062;branch=${branch};rport\r\n` +
        `Max-Forwards: 70\r\nFrom: <sip:t@127.0.0.1>;tag=a\r\nTo: <sip:127.0.0.1>\r\nCall-ID: alive${i}\r\n` +
        `CSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n`,
    ),
    PROXY,
    '127.0.0.1',
  );
  for (let n = 0; n < 40; n++) {
    await wait(25);
    const got = inbox.slice(before).find((m) => m.includes(branch));
    if (got !== undefined) {
      inbox.splice(inbox.indexOf(got), 1);
      return got.startsWith('SIP/2.0 200 ');
    }
  }
  return false;
}

const results: Result[] = [];
let i = 0;
for (const name of corpusFiles()) {
  const bytes = readCorpus(name);
  let valid = true;
  let request = !bytes.subarray(0, 8).toString('latin1').startsWith('SIP/2.0');
  try {
    const msg = parseMessage(bytes);
    request = msg.isRequest();
    validateMessage(msg);
  } catch {
    valid = false;
  }
  const before = inbox.length;
  sock.send(bytes, PROXY, '127.0.0.1');
  await wait(150);
  const statuses = inbox
    .slice(before)
    .map((m) => /^SIP\/2\.0 (\d{3}) /.exec(m)?.[1])
    .filter((s): s is string => s !== undefined)
    .map(Number);
  inbox.length = before;
  results.push({ name, valid, request, statuses, alive: await alive(i++) });
}
await app.stop(0);
sock.close();
for (const l of listeners) {
  l.close();
}
process.stdout.write(JSON.stringify({ results, stats: app.transport.stats }) + '\n');
process.exit(0);
