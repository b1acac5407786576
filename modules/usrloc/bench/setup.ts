/**
 * What usrloc's in-process benchmarks share: the record count from the command line, a forced
 * garbage collection (memory figures are taken after one; run with --expose-gc) and a logger
 * that writes nothing.
 */
import type { Logger } from '../../../src/module/index.js';

export const count = Number(process.argv[2] ?? 1_000_000);

const exposed = (globalThis as { gc?: () => void }).gc;
if (exposed === undefined) {
  throw new Error('run with --expose-gc');
}
export const gc: () => void = exposed;

export const quiet = {
  fatal: () => undefined,
  error: () => undefined,
  warn: () => undefined,
  info: () => undefined,
  debug: () => undefined,
  trace: () => undefined,
} as unknown as Logger;
