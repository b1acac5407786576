/**
 * The composition root: builds the SIP stack from a validated configuration (transport, RFC 3263
 * resolver, transaction layer, proxy core, routing script), starts it and stops it gracefully.
 * `src/main.ts` is the command line around it; tests start it in-process.
 */
import { readFileSync } from 'node:fs';
import { TimerWheel } from './core/timer-wheel.js';
import type { Logger } from './core/logger.js';
import { CoreError } from './core/errors.js';
import type { TandemConfig } from './config/index.js';
import { timerConfig } from './config/index.js';
import { ProxyCore } from './proxy/proxy-core.js';
import { SelfAddresses } from './proxy/self.js';
import { ScriptRunner } from './script/runner.js';
import { TransactionLayer } from './transaction/layer.js';
import { Resolver } from './transport/resolver.js';
import { TransportLayer, type TransportTlsOptions } from './transport/transport-layer.js';
import type { Protocol, SocketInfo } from './transport/types.js';

export interface TandemApp {
  readonly transport: TransportLayer;
  readonly transactions: TransactionLayer;
  readonly resolver: Resolver;
  readonly core: ProxyCore;
  readonly script: ScriptRunner;
  readonly clock: TimerWheel;
  /** The sockets bound (port 0 in the config becomes the real port here). */
  sockets(): SocketInfo[];
  /**
   * Graceful stop: refuse new requests (503), wait up to `graceMs` for transactions in progress
   * to finish, then close every socket.
   */
  stop(graceMs?: number): Promise<void>;
}

function readTls(config: TandemConfig): TransportTlsOptions | undefined {
  const tls = config.tls;
  if (tls?.cert === undefined || tls.key === undefined) {
    return undefined;
  }
  const read = (what: string, file: string): Buffer => {
    try {
      return readFileSync(file);
    } catch (err) {
      throw new CoreError(
        'TANDEM_ERR_CONFIG',
        `tls.${what}: cannot read ${file}: ${(err as Error).message}`,
      );
    }
  };
  const out: TransportTlsOptions = {
    cert: read('cert', tls.cert),
    key: read('key', tls.key),
    verifyPeer: tls.require_client_cert,
    rejectUnauthorized: tls.verify_peer,
  };
  if (tls.ca !== undefined) {
    out.ca = read('ca', tls.ca);
  }
  return out;
}

/** Build and start the proxy described by `config`. The routing script is loaded first. */
export async function startTandem(config: TandemConfig, logger: Logger): Promise<TandemApp> {
  const clock = new TimerWheel({ logger: logger.child({ component: 'timers' }) });
  const transport = new TransportLayer({
    listen: config.listen,
    ...optional('tls', readTls(config)),
    limits: {
      maxConnections: config.limits.max_connections,
      idleTimeoutMs: config.limits.tcp_idle_timeout * 1000,
      connectTimeoutMs: config.limits.tcp_connect_timeout * 1000,
      maxHeadBytes: config.limits.max_head_bytes,
      maxBodyBytes: config.limits.max_body_bytes,
      udpRecvBufferBytes: config.limits.udp_recv_buffer,
    },
    clock,
    logger: logger.child({ component: 'transport' }),
  });
  const protocols = [...new Set(config.listen.map((l) => l.protocol))] as Protocol[];
  const resolver = new Resolver({
    ...(config.dns.servers.length > 0 ? { servers: config.dns.servers } : {}),
    cacheSize: config.dns.cache_size,
    supported: protocols,
    clock,
    logger,
  });
  const self = new SelfAddresses([], config.aliases);
  // The layer and the core refer to each other; the layer reaches the core through this user.
  let core: ProxyCore | null = null;
  const transactions = new TransactionLayer({
    transport,
    user: {
      onRequest: (req, rx, inviteTx) => core?.onRequest(req, rx, inviteTx),
      onStrayResponse: (res) => core?.onStrayResponse(res),
    },
    clock,
    timers: timerConfig(config),
    logger: logger.child({ component: 'tm' }),
  });
  core = new ProxyCore(
    {
      transport,
      transactions,
      resolver,
      clock,
      logger: logger.child({ component: 'proxy' }),
      timerC: config.timers.timer_c,
      maxForwards: config.limits.max_forwards,
    },
    self,
  );
  const script = new ScriptRunner(core, self, logger.child({ component: 'script' }));
  await script.load(config.script);
  await transport.start();
  self.setSockets(transport.sockets());
  transport.setHandler(transactions);
  const proxy = core;

  return {
    transport,
    transactions,
    resolver,
    core: proxy,
    script,
    clock,
    sockets: () => transport.sockets(),
    async stop(graceMs = config.shutdown_grace * 1000) {
      proxy.drain();
      const deadline = Date.now() + graceMs;
      while (proxy.activeTransactions() > 0 && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 50));
      }
      script.stop();
      transactions.stop();
      await transport.stop();
      resolver.close();
    },
  };
}

function optional<K extends string, V>(key: K, value: V | undefined): { [P in K]?: V } {
  return value === undefined ? {} : ({ [key]: value } as { [P in K]?: V });
}
