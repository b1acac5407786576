/**
 * Timings the SIP core reports to whoever measures them (the MI's latency histograms). The core
 * only calls these hooks; it never depends on a metrics library, so a proxy without the MI pays
 * one optional-call check per request and per transaction.
 */
export interface CoreObserver {
  /**
   * The request route is done with a request (forwarded, answered or dropped): its method and
   * the milliseconds from its arrival, on the core's clock.
   */
  requestProcessed?(method: string, ms: number): void;
  /**
   * A transaction left the table: which side, the method of the request that created it and
   * the milliseconds it lived (for an INVITE server transaction that includes Timer G/H/I).
   */
  transactionEnded?(side: 'server' | 'client', method: string, ms: number): void;
}
