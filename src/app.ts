/**
 * The composition root: builds the SIP stack from a validated configuration (transport, RFC 3263
 * resolver, transaction layer, proxy core, routing script) and the services beside it (component
 * loggers, statistics, events and webhooks, readiness, the MI with its core commands and
 * /metrics), starts it and stops it gracefully. `src/main.ts` is the command line around it;
 * tests start it in-process.
 */
import { readFileSync } from 'node:fs';
import type { Clock, TimerHandle } from './core/clock.js';
import { TimerWheel } from './core/timer-wheel.js';
import type { Logger } from './core/logger.js';
import { CoreError } from './core/errors.js';
import { CORE_EVENTS, EventBus } from './core/events.js';
import { LogLevels } from './core/log-levels.js';
import { Readiness } from './core/readiness.js';
import { StatsRegistry } from './core/stats.js';
import { ownVersion } from './core/version.js';
import type { TandemConfig } from './config/index.js';
import { timerConfig } from './config/index.js';
import { loadToken } from './mi/auth.js';
import { coreManifest } from './mi/core-commands.js';
import { registerStackStats } from './mi/core-stats.js';
import { JsonRpcEngine } from './mi/jsonrpc.js';
import { Metrics } from './mi/metrics.js';
import { ProcessProbe } from './mi/process.js';
import { MiRegistry } from './mi/registry.js';
import { MiServer } from './mi/server.js';
import { WebhookDispatcher } from './mi/webhooks.js';
import { installModules, type InstalledModules } from './module/install.js';
import { DEFAULT_MODULE_PATH, loadModules } from './module/loader.js';
import type { ModuleManifest } from './module/define-module.js';
import { ProxyCore } from './proxy/proxy-core.js';
import type { Clusterer } from './cluster/clusterer.js';
import { clustererManifest } from './cluster/mi.js';
import { BinNetwork } from './cluster/net/index.js';
import { createClusterer, localMiRunner } from './cluster/setup.js';
import { SelfAddresses } from './proxy/self.js';
import { ScriptRunner } from './script/runner.js';
import { Uac } from './proxy/uac.js';
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
  /** Every statistic (`core:rcv_requests` …), as MI get_statistics and /metrics read them. */
  readonly stats: StatsRegistry;
  readonly events: EventBus;
  /** Component loggers and their levels (MI log_level). */
  readonly loggers: LogLevels;
  /** Readiness sources behind /ready; the cluster and modules add theirs. */
  readonly readiness: Readiness;
  /** The MI command table (filled from manifests even when the MI server is off). */
  readonly commands: MiRegistry;
  readonly metrics: Metrics;
  /** The MI HTTP server, or null when `mi.enabled` is false. `mi.address` has the bound port. */
  readonly mi: MiServer | null;
  /** The cluster's control plane, or null on a standalone node (no `clusterer` section). */
  readonly clusterer: Clusterer | null;
  /** The sockets bound (port 0 in the config becomes the real port here). */
  sockets(): SocketInfo[];
  /**
   * Graceful stop: /ready turns 503, E_CORE_SHUTDOWN is raised, new requests are refused (503),
   * transactions in progress get up to `graceMs` to finish, then every socket and the MI close.
   * Calling it again returns the same promise.
   */
  stop(graceMs?: number, reason?: string): Promise<void>;
}

export interface StartOptions {
  /**
   * What the MI `shutdown` command does (main.ts passes the path SIGTERM takes, so the process
   * exits afterwards). Default: `app.stop()`.
   */
  onShutdownRequest?: (reason: string) => void;
  /** Module manifests to load after the core's (in order). */
  modules?: readonly ModuleManifest[];
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
export async function startTandem(
  config: TandemConfig,
  logger: Logger,
  options: StartOptions = {},
): Promise<TandemApp> {
  const startedAt = new Date();
  const loggers = new LogLevels(logger);
  const stats = new StatsRegistry();
  const events = new EventBus(loggers.component('events'));
  for (const [name, def] of Object.entries(CORE_EVENTS)) {
    events.declare(name, def, 'core');
  }
  const readiness = new Readiness();
  const metrics = new Metrics(stats);
  // Read before anything binds: an empty or unreadable token is a config error.
  const token = config.mi.enabled ? loadToken(config.mi) : null;

  const clock = new TimerWheel({ logger: loggers.component('timers') });
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
    logger: loggers.component('transport'),
    aliases: config.aliases,
  });
  const protocols = [...new Set(config.listen.map((l) => l.protocol))] as Protocol[];
  const resolver = new Resolver({
    ...(config.dns.servers.length > 0 ? { servers: config.dns.servers } : {}),
    cacheSize: config.dns.cache_size,
    supported: protocols,
    clock,
    // The resolver and its DNS client name their own loggers; register them as they do.
    logger: loggers.adopting(),
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
    logger: loggers.component('tm'),
    observer: metrics.observer,
  });
  core = new ProxyCore(
    {
      transport,
      transactions,
      resolver,
      clock,
      logger: loggers.component('proxy'),
      timerC: config.timers.timer_c,
      maxForwards: config.limits.max_forwards,
      observer: metrics.observer,
    },
    self,
  );
  const proxy = core;
  const script = new ScriptRunner(core, self, loggers.component('script'), events);
  const uac = new Uac({ transport, transactions, resolver, logger: loggers.component('uac') });

  const probe = new ProcessProbe();
  const commands = new MiRegistry();
  const engine = new JsonRpcEngine({ registry: commands, logger: loggers.component('mi') });
  const mi = config.mi.enabled
    ? new MiServer({
        engine,
        metrics,
        readiness,
        logger: loggers.component('mi'),
        token,
        bodyLimit: config.mi.body_limit,
      })
    : null;
  const webhooks = new WebhookDispatcher(
    events,
    config.events.webhooks,
    loggers.component('events'),
  );
  registerStackStats(stats, {
    core: proxy.stats,
    tm: transactions.stats,
    transport: transport.stats,
    transactions,
    mi: engine.stats,
    miServer: mi?.stats ?? null,
    events: events.stats,
    webhooks: webhooks.stats,
    script: script.stats,
    probe,
    startedAt,
  });

  const clusterer =
    config.clusterer === undefined
      ? null
      : await createClusterer(config.clusterer, {
          clock,
          logger: loggers.component('clusterer'),
          stats,
          raise: (event, params) => {
            events.raise(event, params);
          },
          makeNetwork: (p) => new BinNetwork(p),
        });
  if (clusterer !== null) {
    clusterer.localMi = localMiRunner(engine);
    readiness.register('clusterer', () => clusterer.readiness());
  }

  let started = false;
  let stopping: Promise<void> | null = null;
  readiness.register('listeners', () =>
    started && stopping === null
      ? true
      : { ready: false, detail: stopping === null ? 'not listening yet' : 'stopping' },
  );

  const app: TandemApp = {
    transport,
    transactions,
    resolver,
    core: proxy,
    script,
    clock,
    stats,
    events,
    loggers,
    readiness,
    commands,
    metrics,
    mi,
    clusterer,
    sockets: () => transport.sockets(),
    stop(graceMs = config.shutdown_grace * 1000, reason = 'stop') {
      stopping ??= stopAll(graceMs, reason);
      return stopping;
    },
  };

  let modules: InstalledModules | null = null;
  let readyTimer: TimerHandle | null = null;
  const stopAll = async (graceMs: number, reason: string): Promise<void> => {
    readyTimer?.cancel();
    events.raise('E_CORE_SHUTDOWN', { reason });
    proxy.drain();
    const deadline = Date.now() + graceMs;
    while (proxy.activeTransactions() > 0 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 50));
    }
    script.stop();
    transactions.stop();
    await transport.stop();
    resolver.close();
    await modules?.destroy();
    await clusterer?.stop();
    // Let E_CORE_SHUTDOWN and anything raised while draining reach the webhooks.
    await webhooks.stop(WEBHOOK_FLUSH_MS);
    await mi?.close();
    probe.stop();
  };

  const reloadScript = async (): Promise<void> => {
    try {
      await script.reload();
    } catch (err) {
      events.raise('E_CORE_SCRIPT_RELOADED', {
        file: config.script,
        success: false,
        error: (err as Error).message,
      });
      throw err;
    }
    events.raise('E_CORE_SCRIPT_RELOADED', { file: config.script, success: true });
  };

  try {
    const configured = await loadModules(
      Object.keys(config.modules),
      config.module_path ?? DEFAULT_MODULE_PATH,
    );
    modules = await installModules(
      [
        coreManifest({
          version: ownVersion(),
          startedAt,
          stats,
          loggers,
          registry: commands,
          events,
          probe,
          reloadScript,
          shutdown: (why) => {
            if (options.onShutdownRequest) {
              options.onShutdownRequest(why);
            } else {
              void app.stop(undefined, why);
            }
          },
        }),
        ...(clusterer === null ? [] : [clustererManifest(clusterer)]),
        ...configured,
        ...(options.modules ?? []),
      ],
      {
        commands,
        stats,
        events,
        loggers,
        readiness,
        params: config.modules,
        clock,
        dataDir: config.data_dir,
        sip: uac,
        ...(clusterer === null
          ? {}
          : { sharingTags: clusterer.sharingTags(), cluster: clusterer.api() }),
      },
    );
    script.setFunctions(modules.scriptFunctions, modules.names, modules.looseRouteHooks);
    webhooks.start();
    await script.load(config.script);
    await transport.start();
    self.setSockets(transport.sockets());
    transport.setHandler(transactions);
    await clusterer?.start();
    if (clusterer !== null) {
      readyTimer = signalModulesReady(clusterer, clock, loggers.component('clusterer'));
    }
    probe.start();
    if (mi !== null) {
      const { host, port } = config.mi.listen;
      try {
        await mi.listen(host, port);
      } catch (err) {
        throw new CoreError(
          'TANDEM_ERR_LISTEN',
          `mi.listen ${host}:${port}: ${(err as Error).message}`,
          { cause: err },
        );
      }
    }
  } catch (err) {
    // Undo what started; a failure while undoing must not hide the first one.
    script.stop();
    transactions.stop();
    await transport.stop().catch(() => undefined);
    resolver.close();
    await modules?.destroy();
    await clusterer?.stop().catch(() => undefined);
    await webhooks.stop();
    await mi?.close().catch(() => undefined);
    probe.stop();
    throw err;
  }
  started = true;
  events.raise('E_CORE_STARTED', {
    version: ownVersion(),
    listen: transport.sockets().map((s) => s.id),
  });
  return app;
}

/**
 * Tell the clusterer the modules are ready (capabilities may ask donors; the seed fallback
 * interval starts). With `TANDEM_TEST_HOOKS=1`, `TANDEM_TEST_STARTUP_DELAY_MS` delays the signal
 * (the network is up meanwhile) to play a slow start-up; returns that timer.
 */
function signalModulesReady(c: Clusterer, clock: Clock, logger: Logger): TimerHandle | null {
  const delay =
    process.env['TANDEM_TEST_HOOKS'] === '1'
      ? Number(process.env['TANDEM_TEST_STARTUP_DELAY_MS'] ?? 0)
      : 0;
  if (!(delay > 0)) {
    c.modulesReady();
    return null;
  }
  logger.warn({ delayMs: delay }, 'test hook: the modules-ready signal is delayed');
  return clock.setTimer(delay, () => {
    c.modulesReady();
  });
}

/** How long a stop waits for queued webhook deliveries. */
const WEBHOOK_FLUSH_MS = 2000;

function optional<K extends string, V>(key: K, value: V | undefined): { [P in K]?: V } {
  return value === undefined ? {} : ({ [key]: value } as { [P in K]?: V });
}
