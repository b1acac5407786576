/**
 * The `tandem` command: parse the command line, load and validate the configuration, start the
 * proxy, and stop it gracefully on SIGTERM/SIGINT.
 *
 *   node dist/src/main.js [--config FILE] [--set key=value]... [--check]   (built)
 *   node --import tsx src/main.ts [...]                                     (npm start)
 *
 * Exit codes: 0 normal stop (or --check passed), 1 configuration or start-up error, 2 bad
 * command line.
 */
import { existsSync, readFileSync } from 'node:fs';
import { startTandem, type TandemApp } from './app.js';
import { CoreError, TandemError } from './core/errors.js';
import { createLogger, type Logger } from './core/logger.js';
import { loadConfig, parseCommandLine, USAGE, usePrettyLogs } from './config/index.js';

/**
 * The version from Tandem's own package.json, found by walking up from this file: one level
 * from src/main.ts, two from dist/src/main.js.
 */
function ownVersion(): string {
  for (let dir = new URL('./', import.meta.url); ; dir = new URL('../', dir)) {
    const file = new URL('package.json', dir);
    if (existsSync(file)) {
      const pkg = JSON.parse(readFileSync(file, 'utf8')) as { name?: unknown; version?: unknown };
      if (pkg.name === 'tandem' && typeof pkg.version === 'string') {
        return pkg.version;
      }
    }
    if (dir.pathname === '/') {
      throw new CoreError('TANDEM_ERR_INVALID_STATE', `no package.json above ${import.meta.url}`);
    }
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
    process.stdout.write(`tandem: ${loaded.file}: configuration OK\n`);
    return 0;
  }
  const config = loaded.config;
  const logger = createLogger({
    level: config.log.level,
    pretty: usePrettyLogs(config, process.stdout.isTTY),
  });
  let app: TandemApp;
  try {
    app = await startTandem(config, logger);
  } catch (err) {
    logger.fatal(
      { err, code: err instanceof TandemError ? err.code : undefined },
      'start-up failed',
    );
    process.stderr.write(`tandem: ${(err as Error).message}\n`);
    return 1;
  }
  logger.info(
    { version: ownVersion(), config: loaded.file, listen: app.sockets().map((s) => s.id) },
    'tandem started',
  );
  return waitForSignal(app, logger);
}

/** Run until SIGTERM or SIGINT, then stop gracefully; a second signal stops at once. */
function waitForSignal(app: TandemApp, logger: Logger): Promise<number> {
  return new Promise((resolve) => {
    let stopping = 0;
    const onSignal = (signal: NodeJS.Signals): void => {
      // One kill can be delivered twice (tsx's preflight re-raises it): only a second signal
      // sent a while after the first means "stop now".
      if (stopping > 0 && Date.now() - stopping < 1000) {
        return;
      }
      if (stopping > 0) {
        logger.warn({ signal }, 'second signal: exiting now');
        resolve(0);
        return;
      }
      stopping = Date.now();
      logger.info({ signal }, 'stopping: finishing transactions in progress');
      app.stop().then(
        () => {
          logger.info('stopped');
          resolve(0);
        },
        (err: unknown) => {
          logger.error({ err }, 'error while stopping');
          resolve(1);
        },
      );
    };
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
  });
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
