/** The config layer: load and validate cfg/tandem.yaml, `--set` overrides, the command line. */
export { DEFAULT_CONFIG_FILE, USAGE, parseCommandLine, type CliOptions } from './cli.js';
export { ConfigError, type ConfigIssue } from './issues.js';
export { loadConfig, parseConfig, type LoadedConfig } from './loader.js';
export { parseKeyPath } from './overrides.js';
export {
  configSchema,
  timerConfig,
  usePrettyLogs,
  type TandemConfig,
  type TandemConfigInput,
} from './schema.js';
