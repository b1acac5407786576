/**
 * What every transaction machine shares with the layer that owns it: the clock, the timer
 * values, the transport, the logger, the statistics and the table it leaves when it ends.
 */
import type { Clock } from '../core/clock.js';
import { CoreError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import type { TransportPort } from '../transport/types.js';
import { DEFAULT_TIMERS, type TimerConfig } from './types.js';

/** RFC 3261 timer values in ms, every optional one resolved. */
export interface ResolvedTimers {
  readonly t1: number;
  readonly t2: number;
  readonly t4: number;
  /** INVITE client transaction timeout (Timer B), 64*T1 unless configured shorter. */
  readonly timerB: number;
  /** Non-INVITE client transaction timeout (Timer F), 64*T1 unless configured shorter. */
  readonly timerF: number;
  /**
   * Timer D on unreliable transports. RFC 3261 §17.1.1.2: "at least 32 seconds for unreliable
   * transports"; it must also outlast the server's 64*T1 of response retransmissions, so
   * max(32 s, 64*T1).
   */
  readonly timerD: number;
  /** 64*T1: Timers H and J (§17.2.1, §17.2.2), L and M (RFC 6026 §7.1, §7.2). */
  readonly t1x64: number;
}

/**
 * RFC 3261 §17.2.1: "the server transaction MUST generate a 100 (Trying) response unless it
 * knows that the TU will generate a provisional or final response within 200 ms".
 */
export const TRYING_DELAY_MS = 200;

/** Fill in and check timer values; a bad value is a programming or configuration error. */
export function resolveTimers(config: Partial<TimerConfig> = {}): ResolvedTimers {
  const t1 = config.t1 ?? DEFAULT_TIMERS.t1;
  const t2 = config.t2 ?? DEFAULT_TIMERS.t2;
  const t4 = config.t4 ?? DEFAULT_TIMERS.t4;
  const t1x64 = 64 * t1;
  const timerB = config.timerB ?? t1x64;
  const timerF = config.timerF ?? t1x64;
  for (const [name, v] of [
    ['t1', t1],
    ['t2', t2],
    ['t4', t4],
    ['timerB', timerB],
    ['timerF', timerF],
  ] as const) {
    if (!Number.isFinite(v) || v <= 0) {
      throw new CoreError('TANDEM_ERR_INVALID_ARGUMENT', `timer ${name} = ${v} (must be > 0 ms)`);
    }
  }
  if (t2 < t1) {
    throw new CoreError('TANDEM_ERR_INVALID_ARGUMENT', `timer t2 = ${t2} is below t1 = ${t1}`);
  }
  return { t1, t2, t4, timerB, timerF, timerD: Math.max(32_000, t1x64), t1x64 };
}

/**
 * Plain counters under the OpenSIPS tm statistic names, so dashboards carry over.
 * - `inuse_transactions`: gauge, transactions in the table (server and client).
 * - `UAS_transactions`: server transactions created.
 * - `UAC_transactions`: client transactions created (OpenSIPS counts only locally originated
 *   requests here; Tandem counts every client transaction, forwarded branches included).
 * - `2xx_transactions` … `6xx_transactions`: server transactions by the class of the first
 *   final response sent through them.
 * - `retransmissions`: every message sent again: requests by Timers A/E, responses by Timer G
 *   or because the request was retransmitted, and ACKs re-sent for a retransmitted final
 *   response.
 */
export interface TransactionStats {
  inuse_transactions: number;
  UAS_transactions: number;
  UAC_transactions: number;
  '2xx_transactions': number;
  '3xx_transactions': number;
  '4xx_transactions': number;
  '5xx_transactions': number;
  '6xx_transactions': number;
  retransmissions: number;
}

export function createStats(): TransactionStats {
  return {
    inuse_transactions: 0,
    UAS_transactions: 0,
    UAC_transactions: 0,
    '2xx_transactions': 0,
    '3xx_transactions': 0,
    '4xx_transactions': 0,
    '5xx_transactions': 0,
    '6xx_transactions': 0,
    retransmissions: 0,
  };
}

/** Count a final response sent by a server transaction under its class. */
export function countFinal(stats: TransactionStats, status: number): void {
  if (status >= 600) {
    stats['6xx_transactions']++;
  } else if (status >= 500) {
    stats['5xx_transactions']++;
  } else if (status >= 400) {
    stats['4xx_transactions']++;
  } else if (status >= 300) {
    stats['3xx_transactions']++;
  } else if (status >= 200) {
    stats['2xx_transactions']++;
  }
}

/** Anything the layer's table holds. */
export interface TableEntry {
  readonly id: string;
}

/** Shared by all transactions of one layer. */
export interface TransactionContext {
  readonly clock: Clock;
  readonly timers: ResolvedTimers;
  readonly transport: TransportPort;
  readonly logger: Logger;
  readonly stats: TransactionStats;
  /** The transaction reached Terminated: drop it from the table. */
  removed(tx: TableEntry): void;
}
