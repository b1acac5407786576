/**
 * The composition root in-process: the stack built from a config answers SIP, relays, serves
 * TLS from configured files, refuses unreadable TLS material, and stops gracefully.
 */
import { createSocket, type Socket } from 'node:dgram';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { startTandem } from '../src/app.js';
import { loadConfig } from '../src/config/index.js';
import { silentLogger } from '../src/core/logger.js';
import { testCerts } from './helpers/tls-certs.js';

const CFG = fileURLToPath(new URL('../cfg/tandem.yaml', import.meta.url));
/** The MI's default port (8888) may be taken by another test or a running node. */
const MI_ANY_PORT = 'mi.listen=127.0.0.1:0';
// The default config keeps registrations under data_dir: this file's apps use a directory of
// their own, never the repository's data/.
const DATA = mkdtempSync(join(tmpdir(), 'tandem-app-test-'));
const DATA_DIR = `data_dir=${DATA}`;
t.teardown(() => {
  rmSync(DATA, { recursive: true, force: true });
});

async function udp(): Promise<Socket> {
  const s = createSocket('udp4');
  await new Promise<void>((r) => s.bind(0, '127.0.0.1', r));
  return s;
}

function request(method: string, ruri: string, port: number, branch: string): Buffer {
  return Buffer.from(
    `${method} ${ruri} SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:${port};branch=${branch};rport\r\n` +
      `Max-Forwards: 70\r\nFrom: <sip:a@127.0.0.1>;tag=1\r\nTo: <${ruri}>\r\nCall-ID: ${branch}\r\n` +
      `CSeq: 1 ${method}\r\nContent-Length: 0\r\n\r\n`,
  );
}

function next(s: Socket): Promise<string> {
  return new Promise((resolve) => {
    s.once('message', (m) => {
      resolve(m.toString('latin1'));
    });
  });
}

t.test('the default config answers OPTIONS, relays a MESSAGE, and stops', async (t) => {
  const { config } = loadConfig(CFG, [
    DATA_DIR,
    'listen=[udp:127.0.0.1:0, tcp:127.0.0.1:0]',
    MI_ANY_PORT,
  ]);
  const app = await startTandem(config, silentLogger);
  const sockets = app.sockets();
  t.same(
    sockets.map((s) => s.protocol),
    ['udp', 'tcp'],
  );
  const port = sockets[0]!.port;
  t.ok(port > 0, 'port 0 became a real port');

  const caller = await udp();
  const callee = await udp();
  t.teardown(() => {
    caller.close();
    callee.close();
  });
  const answered = next(caller);
  caller.send(
    request('OPTIONS', `sip:127.0.0.1:${port}`, caller.address().port, 'z9hG4bKo1'),
    port,
    '127.0.0.1',
  );
  t.match(await answered, /^SIP\/2\.0 200 OK\r\n/);

  const relayed = next(callee);
  const calleeUri = `sip:bob@127.0.0.1:${callee.address().port}`;
  caller.send(request('MESSAGE', calleeUri, caller.address().port, 'z9hG4bKm1'), port, '127.0.0.1');
  const forwarded = await relayed;
  t.match(forwarded, /^MESSAGE sip:bob@127\.0\.0\.1:\d+ SIP\/2\.0\r\n/);
  t.match(forwarded, new RegExp(`Via: SIP/2\\.0/UDP 127\\.0\\.0\\.1:${port};branch=z9hG4bK-t-`));
  t.match(forwarded, /Max-Forwards: 69/);
  t.equal(app.core.stats.rcv_requests, 2);
  t.ok(app.transactions.stats.UAS_transactions >= 1);

  await app.stop(1000);
  t.equal(app.transport.connectionCount, 0);
});

t.test(
  'TLS material is read from the configured files; unreadable files are config errors',
  async (t) => {
    const certs = testCerts();
    const dir = mkdtempSync(join(tmpdir(), 'tandem-app-'));
    t.teardown(() => {
      rmSync(dir, { recursive: true, force: true });
    });
    writeFileSync(join(dir, 'cert.pem'), certs.serverCert);
    writeFileSync(join(dir, 'key.pem'), certs.serverKey);
    writeFileSync(join(dir, 'ca.pem'), certs.ca);
    const sets = [
      MI_ANY_PORT,
      DATA_DIR,
      'listen=[tls:127.0.0.1:0]',
      `tls={cert: ${join(dir, 'cert.pem')}, key: ${join(dir, 'key.pem')}, ca: ${join(dir, 'ca.pem')}}`,
    ];
    const { config } = loadConfig(CFG, sets);
    const app = await startTandem(config, silentLogger);
    t.equal(app.sockets()[0]!.protocol, 'tls');
    await app.stop(0);

    const missing = loadConfig(CFG, [
      DATA_DIR,
      MI_ANY_PORT,
      'listen=[tls:127.0.0.1:0]',
      `tls={cert: ${join(dir, 'nope.pem')}, key: ${join(dir, 'key.pem')}}`,
    ]).config;
    await t.rejects(startTandem(missing, silentLogger), {
      code: 'TANDEM_ERR_CONFIG',
      message: /tls\.cert: cannot read .*nope\.pem/,
    });
  },
);

t.test(
  'a routing script that fails to load stops start-up before any socket is bound',
  async (t) => {
    const { config } = loadConfig(CFG, [
      DATA_DIR,
      'listen=[udp:127.0.0.1:0]',
      'script=/nonexistent/routes.ts',
    ]);
    await t.rejects(startTandem(config, silentLogger), { code: 'TANDEM_ERR_SCRIPT' });
  },
);
