/** The metrics exporter: statistics as counters and gauges, the observer's histograms. */
import t from 'tap';
import { StatsRegistry } from '../../src/core/stats.js';
import { Metrics } from '../../src/mi/metrics.js';

t.test('statistics registered before and after appear, read at scrape time', async (t) => {
  const stats = new StatsRegistry();
  const core = { rcv_requests: 1 };
  stats.fields('core', core, ['rcv_requests']);
  const metrics = new Metrics(stats, { defaultMetrics: false });
  const gauge = stats.cell('usrloc', 'registered_users', 'gauge', 'AoRs');
  gauge.value = 7;
  core.rcv_requests = 5;
  let text = await metrics.text();
  t.match(text, /^tandem_core_rcv_requests 5$/m);
  t.match(text, /^# TYPE tandem_usrloc_registered_users gauge$/m);
  t.match(text, /^tandem_usrloc_registered_users 7$/m);
  core.rcv_requests = 0;
  text = await metrics.text();
  t.match(text, /^tandem_core_rcv_requests 0$/m, 'a reset counter restarts from zero');
  t.match(metrics.contentType, /^text\/plain/);
});

t.test(
  'the observer fills the histograms; odd methods are "other", bad values ignored',
  async (t) => {
    const metrics = new Metrics(new StatsRegistry(), { defaultMetrics: false });
    const o = metrics.observer;
    o.requestProcessed!('INVITE', 2);
    o.requestProcessed!('XFOO', 0.1);
    o.requestProcessed!('INVITE', -1);
    o.requestProcessed!('INVITE', Number.NaN);
    o.transactionEnded!('server', 'INVITE', 1500);
    o.transactionEnded!('client', 'BOGUS', 20);
    o.transactionEnded!('client', 'BYE', -5);
    const text = await metrics.text();
    t.match(text, /^tandem_request_processing_seconds_count\{method="INVITE"\} 1$/m);
    t.match(text, /^tandem_request_processing_seconds_sum\{method="INVITE"\} 0\.002$/m);
    t.match(text, /^tandem_request_processing_seconds_count\{method="other"\} 1$/m);
    t.match(
      text,
      /^tandem_transaction_duration_seconds_count\{side="server",method="INVITE"\} 1$/m,
    );
    t.match(
      text,
      /^tandem_transaction_duration_seconds_bucket\{le="2\.5",side="server",method="INVITE"\} 1$/m,
    );
    t.match(text, /^tandem_transaction_duration_seconds_count\{side="client",method="other"\} 1$/m);
    t.notMatch(text, /method="BYE"/, 'a series appears only once observed');
  },
);
