/**
 * The root pino logger and the child-logger convention: one child per layer or module
 * (`{ component: 'transport' }`, `{ module: 'usrloc' }`), bindings serialised once by pino.
 * Credentials are redacted wherever they appear in logged objects; a full SIP message is
 * never logged at info (callers log Call-ID, method, status and addresses instead).
 */
import { pino, type Logger, type LevelWithSilent } from 'pino';

export type { Logger } from 'pino';

export const LOG_LEVELS: readonly LevelWithSilent[] = [
  'fatal',
  'error',
  'warn',
  'info',
  'debug',
  'trace',
  'silent',
];

/** Paths pino replaces with `[redacted]` in any logged object. */
export const REDACT_PATHS = [
  'authorization',
  'proxyAuthorization',
  'password',
  'headers.authorization',
  'headers["proxy-authorization"]',
  '*.password',
  '*.authorization',
];

export interface LoggerOptions {
  level?: LevelWithSilent;
  /** Human-readable lines instead of JSON (used when stdout is a TTY). */
  pretty?: boolean;
  /** Write here instead of stdout (tests pass a sink). */
  destination?: NodeJS.WritableStream;
}

/** The process's root logger. */
export function createLogger(options: LoggerOptions = {}): Logger {
  const base = {
    level: options.level ?? 'info',
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    base: { pid: process.pid },
  };
  if (options.pretty === true) {
    // No pino-pretty dependency: a small synchronous formatter keeps `npm start` readable.
    return pino(base, prettyStream(options.destination ?? process.stdout));
  }
  return options.destination ? pino(base, options.destination) : pino(base);
}

/** A logger that discards everything, for tests and for code built without a logger. */
export const silentLogger: Logger = pino({ level: 'silent' });

const LEVEL_NAMES: Record<number, string> = {
  10: 'TRACE',
  20: 'DEBUG',
  30: 'INFO',
  40: 'WARN',
  50: 'ERROR',
  60: 'FATAL',
};

/** One line per record: time, level, message, then the other fields as key=value. */
function prettyStream(out: NodeJS.WritableStream): { write(line: string): void } {
  return {
    write(line: string): void {
      let rec: Record<string, unknown>;
      try {
        rec = JSON.parse(line) as Record<string, unknown>;
      } catch {
        out.write(line);
        return;
      }
      const { time, level, msg, ...rest } = rec;
      delete rest['pid'];
      delete rest['hostname'];
      const when = typeof time === 'number' ? new Date(time).toISOString().slice(11, 23) : '';
      const lvl = typeof level === 'number' ? (LEVEL_NAMES[level] ?? String(level)) : '';
      const fields = Object.entries(rest)
        .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
        .join(' ');
      out.write(`${when} ${lvl.padEnd(5)} ${typeof msg === 'string' ? msg : ''} ${fields}\n`);
    },
  };
}
