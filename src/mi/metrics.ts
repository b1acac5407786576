/**
 * `GET /metrics`: Prometheus text from prom-client, on a registry of this app's own (never the
 * global one: tests run several apps in one process). Every statistic of the stats registry is
 * a counter or gauge named `tandem_<group>_<name>` whose value is read from the registry when
 * scraped, so nothing is counted twice. Beside them: prom-client's default process metrics
 * (CPU, memory, handles, GC, event-loop lag) and two latency histograms fed by the
 * {@link CoreObserver}.
 */
import { collectDefaultMetrics, Counter, Gauge, Registry, type Metric } from 'prom-client';
import type { CoreObserver } from '../core/observer.js';
import type { StatEntry, StatsRegistry } from '../core/stats.js';
import { LeanHistogram } from './histogram.js';

/** Methods that get their own label value; anything else (from the network) is `other`. */
const METHODS = [
  'INVITE',
  'ACK',
  'BYE',
  'CANCEL',
  'OPTIONS',
  'REGISTER',
  'SUBSCRIBE',
  'NOTIFY',
  'PUBLISH',
  'MESSAGE',
  'INFO',
  'PRACK',
  'UPDATE',
  'REFER',
] as const;

/** Request routing: well under a millisecond to a few seconds (DNS, a slow script). */
const REQUEST_BUCKETS = [
  0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1, 5,
];
/** Transactions: a fast 2xx to Timer B/F (32 s) and a ringing INVITE (Timer C, 180 s). */
const TRANSACTION_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 32, 64, 180];

type Observe = (value: number) => void;

export interface MetricsOptions {
  /** prom-client's default process metrics (default true). */
  readonly defaultMetrics?: boolean;
}

export class Metrics {
  readonly registry = new Registry();
  /** Hand this to the proxy core and the transaction layer. */
  readonly observer: CoreObserver;

  constructor(stats: StatsRegistry, options: MetricsOptions = {}) {
    for (const entry of stats.entries()) {
      this.add(entry);
    }
    stats.onRegister((entry) => {
      this.add(entry);
    });
    if (options.defaultMetrics !== false) {
      collectDefaultMetrics({ register: this.registry });
    }
    const requests = new LeanHistogram(
      'tandem_request_processing_seconds',
      'Time from a request arriving to the request route being done with it',
      ['method'],
      REQUEST_BUCKETS,
      this.registry,
    );
    const transactions = new LeanHistogram(
      'tandem_transaction_duration_seconds',
      'How long transactions lived, from creation to leaving the table',
      ['side', 'method'],
      TRANSACTION_BUCKETS,
      this.registry,
    );
    // Series made once: the observer runs per request and per transaction.
    const perMethod = children((m) => requests.child(m));
    const server = children((m) => transactions.child('server', m));
    const client = children((m) => transactions.child('client', m));
    this.observer = {
      requestProcessed(method, ms) {
        if (ms >= 0) {
          (perMethod.get(method) ?? perMethod.get('other')!)(ms / 1000);
        }
      },
      transactionEnded(side, method, ms) {
        if (ms >= 0) {
          const table = side === 'server' ? server : client;
          (table.get(method) ?? table.get('other')!)(ms / 1000);
        }
      },
    };
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  /** The exposition text. */
  text(): Promise<string> {
    return this.registry.metrics();
  }

  private add(entry: StatEntry): void {
    const name = `tandem_${entry.group}_${entry.name}`.replace(/[^a-zA-Z0-9_]/g, '_');
    let metric: Metric;
    if (entry.kind === 'counter') {
      metric = new Counter({
        name,
        help: entry.description,
        registers: [],
        collect() {
          // A counter set from the registry's value: zeroed by reset_statistics, which
          // Prometheus treats as a counter restart.
          this.reset();
          this.inc(Math.max(0, entry.read()));
        },
      });
    } else {
      metric = new Gauge({
        name,
        help: entry.description,
        registers: [],
        collect() {
          this.set(entry.read());
        },
      });
    }
    this.registry.registerMetric(metric);
  }
}

function children(make: (method: string) => Observe): Map<string, Observe> {
  const map = new Map<string, Observe>();
  for (const m of [...METHODS, 'other']) {
    map.set(m, make(m));
  }
  return map;
}
