/**
 * The `tandem` command: parse the command line, load and validate the configuration, start the
 * proxy, and stop it gracefully on SIGTERM/SIGINT or the MI `shutdown` command.
 *
 *   node dist/src/main.js [--config FILE] [--set key=value]... [--check]   (built)
 *   node --import tsx src/main.ts [...]                                     (npm start)
 *
 * Exit codes: 0 normal stop (or --check passed), 1 configuration or start-up error, 2 bad
 * command line.
 */
import type { TandemApp } from './app.js';
import { TandemError } from './core/errors.js';
import { createLogger, type Logger } from './core/logger.js';
import { ownVersion } from './core/version.js';
import {
  loadConfig,
  parseCommandLine,
  USAGE,
  usePrettyLogs,
  type TandemConfig,
} from './config/index.js';

async function checkModuleParams(config: TandemConfig): Promise<void> {
  const { DEFAULT_MODULE_PATH, loadModules, orderModules, parseModuleParams } =
    await import('./module/index.js');
  const manifests = await loadModules(
    Object.keys(config.modules),
    config.module_path ?? DEFAULT_MODULE_PATH,
  );
  for (const m of orderModules(manifests)) {
    parseModuleParams(m, config.modules[m.name]);
  }
}

async function main(argv: string[]): Promise<number> {
  const cli = parseCommandLine(argv);
  if (!cli.ok) {
    process.stderr.write(`tandem: ${cli.error}\n${cli.usage}`);
    return 2;
  }
  if (cli.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  if (cli.version) {
    process.stdout.write(`tandem ${ownVersion()}\n`);
    return 0;
  }
  let loaded;
  try {
    loaded = loadConfig(cli.config, cli.sets);
  } catch (err) {
    process.stderr.write(`tandem: ${(err as Error).message}\n`);
    return 1;
  }
  if (cli.check) {
    try {
      // The modules' own parameters are part of the configuration: check them too (their
      // manifests are loaded, nothing is started).
      await checkModuleParams(loaded.config);
    } catch (err) {
      process.stderr.write(`tandem: ${loaded.file}: ${(err as Error).message}\n`);
      return 1;
    }
    process.stdout.write(`tandem: ${loaded.file}: configuration OK\n`);
    return 0;
  }
  const config = loaded.config;
  const logger = createLogger({
    level: config.log.level,
    pretty: usePrettyLogs(config, process.stdout.isTTY),
  });
  // The MI `shutdown` command takes the same path as SIGTERM.
  const stop = new Stopper(logger);
  let app: TandemApp;
  try {
    // Loaded only to run: --help, --version and --check need none of the stack (or fastify).
    const { startTandem } = await import('./app.js');
    app = await startTandem(config, logger, {
      onShutdownRequest: (reason) => {
        stop.request(reason);
      },
    });
  } catch (err) {
    logger.fatal(
      { err, code: err instanceof TandemError ? err.code : undefined },
      'start-up failed',
    );
    process.stderr.write(`tandem: ${(err as Error).message}\n`);
    return 1;
  }
  const mi = app.mi?.address;
  logger.info(
    {
      version: ownVersion(),
      config: loaded.file,
      listen: app.sockets().map((s) => s.id),
      ...(mi ? { mi: `${mi.host.includes(':') ? `[${mi.host}]` : mi.host}:${mi.port}` } : {}),
    },
    'tandem started',
  );
  return stop.run(app);
}

/**
 * The one graceful stop: SIGTERM, SIGINT and the MI `shutdown` command all end here. A second
 * signal a while after the first stops at once.
 */
class Stopper {
  private app: TandemApp | null = null;
  private resolve: ((code: number) => void) | null = null;
  private stopping = 0;
  /** A stop asked for (MI `shutdown`) between the MI listening and run(): honoured in run(). */
  private early: string | null = null;

  constructor(private readonly logger: Logger) {}

  /** Run until asked to stop, then stop gracefully; resolves with the exit code. */
  run(app: TandemApp): Promise<number> {
    this.app = app;
    return new Promise((resolve) => {
      this.resolve = resolve;
      const onSignal = (signal: NodeJS.Signals): void => {
        this.request('signal', signal);
      };
      process.on('SIGTERM', onSignal);
      process.on('SIGINT', onSignal);
      if (this.early !== null) {
        this.request(this.early);
      }
    });
  }

  request(reason: string, signal?: NodeJS.Signals): void {
    const app = this.app;
    const resolve = this.resolve;
    if (app === null || resolve === null) {
      this.early = reason;
      return;
    }
    // One kill can be delivered twice (tsx's preflight re-raises it): only a second signal
    // sent a while after the first means "stop now".
    if (this.stopping > 0 && Date.now() - this.stopping < 1000) {
      return;
    }
    if (this.stopping > 0) {
      if (signal !== undefined) {
        this.logger.warn({ signal }, 'second signal: exiting now');
        resolve(0);
      }
      return;
    }
    this.stopping = Date.now();
    this.logger.info({ reason, signal }, 'stopping: finishing transactions in progress');
    app.stop(undefined, signal ?? reason).then(
      () => {
        this.logger.info('stopped');
        resolve(0);
      },
      (err: unknown) => {
        this.logger.error({ err }, 'error while stopping');
        resolve(1);
      },
    );
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    // Sockets are closed by now; exit explicitly so a stray handle cannot keep a stopped
    // proxy alive.
    process.exit(code);
  },
  (err: unknown) => {
    process.stderr.write(`tandem: ${(err as Error).stack ?? String(err)}\n`);
    process.exit(1);
  },
);
